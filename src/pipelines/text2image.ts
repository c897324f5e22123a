import type { Float32Tensor } from '../tensor/index.js';
import { KandinskyV22DecoderBase, type DecoderCallOptions, type DecoderOutput } from './decoder.js';

/** `KandinskyV22Pipeline`: image embeddings -> images (doc §4.4). */
export class KandinskyV22Pipeline extends KandinskyV22DecoderBase {
  async call(o: DecoderCallOptions): Promise<DecoderOutput> {
    const run = await this.prepare(o, 'image');
    const latents: Float32Tensor = this.initialLatents(run, (await this.movq.get()).config.latentChannels, o.latents);
    return this.decode(await this.denoise(run, latents, run.scheduler.timesteps, o), o.outputType);
  }
}
