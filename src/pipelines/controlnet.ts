import { InputError } from '../errors.js';
import { convert, resize, type PilImage } from '../image/index.js';
import { concat, repeatInterleave, tensor, type Float32Tensor } from '../tensor/index.js';
import { asBatch, repeatToBatch } from './batch.js';
import { KandinskyV22DecoderBase, type DecoderCallOptions, type DecoderOutput, type DecoderRun, type ImageToImageOptions } from './decoder.js';

export interface ControlnetCallOptions extends DecoderCallOptions {
  /** [B, 3, H, W] in [0, 1] at the output resolution: a depth map over three channels (a list is concatenated). */
  readonly hint: Float32Tensor | readonly Float32Tensor[];
}

export type ControlnetImg2ImgCallOptions = ControlnetCallOptions & ImageToImageOptions;

/** `KandinskyV22ControlnetPipeline`: text-to-image guided by a depth hint (doc §4.7). */
export class KandinskyV22ControlnetPipeline extends KandinskyV22DecoderBase {
  async call(o: ControlnetCallOptions): Promise<DecoderOutput> {
    const run = await this.prepare(o, 'hint');
    const hint = hintBatch(o.hint, run);
    const latents = this.initialLatents(run, (await this.movq.get()).config.latentChannels, o.latents);
    return this.decode(await this.denoise(run, latents, run.scheduler.timesteps, o, { hint }), o.outputType);
  }
}

/** `KandinskyV22ControlnetImg2ImgPipeline`: image-to-image (doc §4.5) with the depth hint of §4.7. */
export class KandinskyV22ControlnetImg2ImgPipeline extends KandinskyV22DecoderBase {
  async call(o: ControlnetImg2ImgCallOptions): Promise<DecoderOutput> {
    const run = await this.prepare(o, 'hint');
    const hint = hintBatch(o.hint, run);
    const { latents, timesteps } = await this.imageLatents(run, o);
    return this.decode(await this.denoise(run, latents, timesteps, o, { hint }), o.outputType);
  }
}

/** The hint per image row, doubled under guidance; it must be at the output resolution (8h x 8w). */
function hintBatch(given: Float32Tensor | readonly Float32Tensor[], run: DecoderRun): Float32Tensor {
  const hint = asBatch('hint', given);
  const [, c, height, width] = hint.shape;
  if (hint.shape.length !== 4 || c !== 3) throw new InputError(`hint: shape [${hint.shape.join(', ')}], expected [B, 3, H, W]`);
  const expected = [run.h * run.scale, run.w * run.scale];
  if (height !== expected[0] || width !== expected[1]) {
    throw new InputError(`hint: ${width}x${height} pixels, expected the output size ${expected[1]}x${expected[0]}`);
  }
  // One hint for embeddings that already hold several rows (the combined flow) serves each of them.
  const repeated = repeatToBatch(repeatInterleave(hint, run.numImagesPerPrompt), run.batch, 'hint');
  return run.cfg ? concat([repeated, repeated]) : repeated;
}

/**
 * A depth map image as the ControlNet hint (what diffusers' example does with a depth estimate): made
 * grey, resized to the output size (Pillow bicubic), `/ 255`, the one channel repeated over three. [1, 3, height, width].
 */
export function hintFromImage(depth: PilImage, width: number, height: number): Float32Tensor {
  const grey = resize(convert(depth, 'L'), width, height, { filter: 'bicubic' });
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    const v = Math.fround(grey.data[p] / 255);
    out[p] = v;
    out[plane + p] = v;
    out[2 * plane + p] = v;
  }
  return tensor(out, [1, 3, height, width]);
}
