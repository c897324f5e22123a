import { InputError } from '../errors.js';
import type { PilImage } from '../image/index.js';
import { chunk, repeatInterleave, type Float32Tensor } from '../tensor/index.js';
import { timestepsForStrength } from '../schedulers/index.js';
import { asList, repeatToBatch } from './batch.js';
import { KandinskyV22PriorBase, type PriorOutput, type PriorTextOptions } from './prior.js';
import type { RunControl } from './progress.js';
import { noiseSource, type Generators } from './random.js';

export interface PriorEmb2EmbCallOptions extends RunControl, PriorTextOptions {
  /** Images (embedded by the image encoder) or ready CLIP image embeddings [k, E]. */
  readonly image: PilImage | readonly PilImage[] | Float32Tensor;
  readonly strength?: number;
  readonly generator?: Generators;
}

/** `KandinskyV22PriorEmb2EmbPipeline`: a CLIP image embedding moved toward a text (doc §4.3). */
export class KandinskyV22PriorEmb2EmbPipeline extends KandinskyV22PriorBase {
  async call(o: PriorEmb2EmbCallOptions): Promise<PriorOutput> {
    const { n, steps, guidanceScale, batch, negatives, embeddings } = await this.prepareText(o);
    const imageEmbeds = repeatInterleave(await this.imageEmbeddings(o.image), n);
    const scheduler = this.scheduler();
    scheduler.setTimesteps(steps);
    const timesteps = timestepsForStrength(scheduler.timesteps, steps, o.strength ?? 0.3);
    const noise = noiseSource(o.generator);
    const init = repeatToBatch(imageEmbeds, batch, 'image');
    const latents = scheduler.addNoise(init, noise.randn(init.shape), timesteps[0]);
    const out = await this.denoise(latents, timesteps, scheduler, embeddings, guidanceScale, noise, o);
    if (negatives === undefined) return { imageEmbeds: out, negativeImageEmbeds: await this.zeroImageEmbeds(out.shape[0]) };
    const [positive, negative] = chunk(out, 2);
    return { imageEmbeds: positive, negativeImageEmbeds: negative };
  }

  /** `_encode_image`: a [k, E] tensor is taken as embeddings; images go through the processor and image encoder. */
  private async imageEmbeddings(image: PilImage | readonly PilImage[] | Float32Tensor): Promise<Float32Tensor> {
    if ('shape' in image) {
      if (image.shape.length !== 2) throw new InputError(`image: a tensor of shape [${image.shape.join(', ')}]; embeddings are [k, E]`);
      return image;
    }
    return this.encodeImages(asList(image as PilImage | readonly PilImage[]));
  }
}
