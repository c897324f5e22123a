import { join } from 'node:path';
import { ConfigFields, readJsonObject } from '../config/index.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import { convert } from './convert.js';
import type { PilImage } from './image.js';
import { MAX_IMAGE_SIDE, PIL_RESAMPLE_EXPECTED, pilResample, squareSize } from './image-processor-config.js';
import { pixelValues, type RescaleNormalize } from './pixel-values.js';
import { resize } from './resize.js';
import type { ResampleFilter } from './resample-filters.js';

/** `preprocessor_config.json` of a DPTImageProcessor, with transformers' defaults filled in. */
export interface DPTImageProcessorConfig extends RescaleNormalize {
  readonly doResize: boolean;
  readonly size: { readonly height: number; readonly width: number };
  readonly resample: ResampleFilter;
  /** Scale both sides by the factor closer to 1 instead of to `size` exactly. */
  readonly keepAspectRatio: boolean;
  readonly ensureMultipleOf: number;
  /** Zero-pad each side after normalising, to a multiple of `sizeDivisor`, split evenly (the extra pixel after). */
  readonly doPad: boolean;
  readonly sizeDivisor: number | undefined;
}

/** IMAGENET_STANDARD_MEAN / IMAGENET_STANDARD_STD of transformers. */
const STANDARD_MEAN = [0.5, 0.5, 0.5];
const STANDARD_STD = [0.5, 0.5, 0.5];

export function parseDPTImageProcessorConfig(json: Record<string, unknown>, source: string): DPTImageProcessorConfig {
  const f = new ConfigFields(json, source);
  const doPad = f.bool('do_pad', false);
  return {
    doResize: f.bool('do_resize', true),
    size: f.parsed('size', { height: 384, width: 384 }, squareSize, `a side of 1 to ${MAX_IMAGE_SIDE} or {"height": h, "width": w}`),
    resample: f.parsed('resample', 'bicubic', pilResample, PIL_RESAMPLE_EXPECTED),
    keepAspectRatio: f.bool('keep_aspect_ratio', false),
    ensureMultipleOf: f.int('ensure_multiple_of', 1, { max: MAX_IMAGE_SIDE }),
    doRescale: f.bool('do_rescale', true),
    rescaleFactor: f.number('rescale_factor', 1 / 255),
    doNormalize: f.bool('do_normalize', true),
    imageMean: f.numbers('image_mean', 3, STANDARD_MEAN),
    imageStd: f.numbers('image_std', 3, STANDARD_STD),
    doPad,
    sizeDivisor: doPad ? f.int('size_divisor', undefined, { max: MAX_IMAGE_SIDE }) : undefined,
  };
}

/**
 * transformers' `DPTImageProcessor` on one PIL image, after the depth-estimation pipeline's
 * `load_image` (`convert("RGB")`): Pillow resize of the uint8 image, rescale and normalize in float32 as
 * numpy does them, then the optional padding.
 */
export class DPTImageProcessor {
  constructor(readonly config: DPTImageProcessorConfig) {}

  static fromPretrained(dir: string): DPTImageProcessor {
    const path = join(dir, 'preprocessor_config.json');
    return new DPTImageProcessor(parseDPTImageProcessorConfig(readJsonObject(path, 'image processor config'), path));
  }

  /** `pixel_values` [1, 3, H, W]. */
  preprocess(image: PilImage): Float32Tensor {
    let img = image.mode === 'RGB' ? image : convert(image, 'RGB');
    if (this.config.doResize) {
      const [height, width] = this.resizeOutputSize(img.height, img.width);
      img = resize(img, width, height, { filter: this.config.resample });
    }
    const values = pixelValues([img], this.config);
    return this.config.sizeDivisor === undefined ? values : padTo(values, this.config.sizeDivisor);
  }

  /** get_resize_output_image_size of image_processing_dpt.py: [height, width]. */
  private resizeOutputSize(height: number, width: number): [number, number] {
    const { size, keepAspectRatio, ensureMultipleOf } = this.config;
    let scaleHeight = size.height / height;
    let scaleWidth = size.width / width;
    if (keepAspectRatio) {
      // Scale as little as possible.
      if (Math.abs(1 - scaleWidth) < Math.abs(1 - scaleHeight)) scaleHeight = scaleWidth;
      else scaleWidth = scaleHeight;
    }
    return [constrainToMultipleOf(scaleHeight * height, ensureMultipleOf), constrainToMultipleOf(scaleWidth * width, ensureMultipleOf)];
  }
}

/** `round(val / multiple) * multiple` (Python's round: half to even), at least one multiple. */
function constrainToMultipleOf(val: number, multiple: number): number {
  const x = roundHalfEven(val / multiple) * multiple;
  return x < multiple ? Math.ceil(val / multiple) * multiple : x;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Zero padding of [1, 3, H, W] to multiples of `divisor`: `pad // 2` before, the rest after. */
function padTo(x: Float32Tensor, divisor: number): Float32Tensor {
  const [n, c, h, w] = x.shape;
  const split = (size: number) => {
    const pad = Math.ceil(size / divisor) * divisor - size;
    return [Math.floor(pad / 2), Math.ceil(size / divisor) * divisor] as const;
  };
  const [top, height] = split(h);
  const [left, width] = split(w);
  const out = new Float32Array(n * c * height * width);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) out.set(x.data.subarray((p * h + y) * w, (p * h + y + 1) * w), (p * height + y + top) * width + left);
  }
  return tensor(out, [n, c, height, width]);
}
