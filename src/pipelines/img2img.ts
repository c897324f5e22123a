import { KandinskyV22DecoderBase, type DecoderCallOptions, type DecoderOutput, type ImageToImageOptions } from './decoder.js';

export type Img2ImgCallOptions = DecoderCallOptions & ImageToImageOptions;

/** `KandinskyV22Img2ImgPipeline` as diffusers 0.31 runs it (doc §4.5). */
export class KandinskyV22Img2ImgPipeline extends KandinskyV22DecoderBase {
  async call(o: Img2ImgCallOptions): Promise<DecoderOutput> {
    const run = await this.prepare(o, 'image');
    const { latents, timesteps } = await this.imageLatents(run, o);
    return this.decode(await this.denoise(run, latents, timesteps, o), o.outputType);
  }
}
