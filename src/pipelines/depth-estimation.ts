import { DPTImageProcessor, type PilImage } from '../image/index.js';
import { DPTForDepthEstimation } from '../nets/index.js';
import type { Float32Tensor } from '../tensor/index.js';
import { Held, keeps, type PipelineOptions } from './components.js';
import { interpolateBicubic } from './interpolate-bicubic.js';

/** The model transformers' `pipeline("depth-estimation")` takes by default (DPT, ViT-L/16 at 384x384). */
export const DEFAULT_DEPTH_MODEL = 'Intel/dpt-large';

export interface DepthEstimationOutput {
  /** The network's output [1, H, W] at the processor's size. */
  readonly predictedDepth: Float32Tensor;
  /** An 8-bit grey image at the input image's size: near is bright. */
  readonly depth: PilImage;
}

/**
 * transformers' `DepthEstimationPipeline` (4.45) on a DPT model folder (config.json, weights,
 * preprocessor_config.json): DPTImageProcessor, DPTForDepthEstimation, PyTorch's bicubic resize to the
 * image's size, then `(d * 255 / max(d)).astype(uint8)`. The golden-depth README spells out each step.
 */
export class DepthEstimationPipeline {
  readonly model: Held<DPTForDepthEstimation>;
  private processorValue?: DPTImageProcessor;

  constructor(
    readonly dir: string,
    readonly options: PipelineOptions = {},
  ) {
    this.model = new Held(() => DPTForDepthEstimation.load(dir, options), keeps(options, '.'));
  }

  static async fromPretrained(dir: string, options: PipelineOptions = {}): Promise<DepthEstimationPipeline> {
    return new DepthEstimationPipeline(dir, options);
  }

  get imageProcessor(): DPTImageProcessor {
    this.processorValue ??= DPTImageProcessor.fromPretrained(this.dir);
    return this.processorValue;
  }

  async call(image: PilImage): Promise<DepthEstimationOutput> {
    const pixelValues = this.imageProcessor.preprocess(image);
    const predictedDepth = await this.model.use((model) => model.forward(pixelValues));
    return { predictedDepth, depth: depthImage(predictedDepth, image.width, image.height) };
  }

  release(): Promise<void> {
    return this.model.release();
  }
}

/** One photo's depth map with a DPT model folder, the model loaded for it and released after (one-off use). */
export async function estimateDepthMap(dir: string, photo: PilImage, options: PipelineOptions = {}): Promise<PilImage> {
  const pipe = new DepthEstimationPipeline(dir, options);
  try {
    return (await pipe.call(photo)).depth;
  } finally {
    await pipe.release();
  }
}

/** The pipeline's postprocess: bicubic to width x height, then float32 `d * 255 / max(d)` truncated to uint8. */
function depthImage(predictedDepth: Float32Tensor, width: number, height: number): PilImage {
  const [, h, w] = predictedDepth.shape;
  const resized = interpolateBicubic(predictedDepth.data.subarray(0, h * w), h, w, height, width);
  let max = -Infinity;
  for (const v of resized) if (v > max || Number.isNaN(v)) max = v;
  const data = new Uint8Array(resized.length);
  for (let i = 0; i < resized.length; i++) data[i] = toUint8(Math.fround(Math.fround(resized[i] * 255) / max));
  return { width, height, mode: 'L', data };
}

/**
 * numpy's `astype(uint8)` on x86: truncation toward zero through a 32-bit integer, keeping the low byte (a
 * bicubic undershoot below 0 wraps, as in the reference), NaN (an all-zero depth map) becomes 0.
 */
function toUint8(v: number): number {
  if (Number.isNaN(v)) return 0;
  return ((Math.trunc(v) % 256) + 256) % 256;
}
