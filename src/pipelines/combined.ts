import type { Float32Tensor } from '../tensor/index.js';
import type { DecoderCallOptions, DecoderOutput } from './decoder.js';
import type { KandinskyV22PriorPipeline, PriorOutput } from './prior.js';
import type { RunControl } from './progress.js';
import type { Generators } from './random.js';

/**
 * The negative text the hosted `ai-forever/kandinsky-2.2` appends to the user's negative prompt (or uses alone)
 * and runs through the prior for the negative embedding (replicate-api.md §17).
 */
export const HOSTED_NEGATIVE_SUFFIX =
  'lowres, text, error, cropped, worst quality, low quality, jpeg artifacts, ugly, duplicate, morbid, mutilated, ' +
  'out of frame, extra fingers, mutated hands, poorly drawn hands, poorly drawn face, mutation, deformed, blurry, ' +
  'dehydrated, bad anatomy, bad proportions, extra limbs, cloned face, disfigured, gross proportions, malformed limbs, ' +
  'missing arms, missing legs, extra arms, extra legs, fused fingers, too many fingers, long neck, username, watermark, signature';

export interface CombinedCallOptions extends RunControl {
  readonly prompt: string | readonly string[];
  readonly negativePrompt?: string | readonly string[] | null;
  readonly numImagesPerPrompt?: number;
  readonly priorGuidanceScale?: number;
  readonly priorNumInferenceSteps?: number;
  readonly generator?: Generators;
  /** Initial prior latents (diffusers passes `latents` to the prior, never to the decoder). */
  readonly latents?: Float32Tensor | null;
  /**
   * 'diffusers' (default): `KandinskyV22CombinedPipeline`, the negative prompt conditions the prior and the
   * zero-image embedding stands in when there is none. 'hosted': the prior runs a second time on the negative
   * text plus HOSTED_NEGATIVE_SUFFIX and that embedding is the decoder's negative.
   */
  readonly flow?: 'diffusers' | 'hosted';
}

/** Anything that turns image embeddings into images: text-to-image, img2img, inpainting, ControlNet. */
export interface EmbeddingDecoder<O extends DecoderCallOptions> {
  call(options: O): Promise<DecoderOutput>;
}

/**
 * The combined flow (doc §4.8): the prior on the prompt, then a decoder on its embeddings, one generator
 * throughout. `decoderOptions` are the decoder's own (size, steps, guidance, image, mask, hint...);
 * `num_images_per_prompt` goes to the prior only, so the decoder makes one image per embedding.
 */
export async function generateCombined<O extends DecoderCallOptions>(
  prior: KandinskyV22PriorPipeline,
  decoder: EmbeddingDecoder<O>,
  o: CombinedCallOptions,
  decoderOptions: Omit<O, 'imageEmbeds' | 'negativeImageEmbeds' | 'numImagesPerPrompt' | 'generator' | 'signal' | 'onStep'>,
): Promise<DecoderOutput> {
  const embeds = await priorEmbeddings(prior, o);
  return decoder.call({
    ...decoderOptions,
    imageEmbeds: embeds.imageEmbeds,
    negativeImageEmbeds: embeds.negativeImageEmbeds,
    generator: o.generator,
    signal: o.signal,
    onStep: o.onStep,
  } as unknown as O);
}

/** The prior half of the combined flow, in either form. */
export async function priorEmbeddings(prior: KandinskyV22PriorPipeline, o: CombinedCallOptions): Promise<PriorOutput> {
  const common = {
    numImagesPerPrompt: o.numImagesPerPrompt,
    numInferenceSteps: o.priorNumInferenceSteps ?? 25,
    guidanceScale: o.priorGuidanceScale ?? 4.0,
    generator: o.generator,
    latents: o.latents,
    signal: o.signal,
    onStep: o.onStep,
  };
  if ((o.flow ?? 'diffusers') === 'diffusers') return prior.call({ ...common, prompt: o.prompt, negativePrompt: o.negativePrompt });
  const prompts = typeof o.prompt === 'string' ? [o.prompt] : [...o.prompt];
  const given = o.negativePrompt ?? null;
  const negatives = prompts.map((_, i) => {
    const own = given === null ? '' : typeof given === 'string' ? given : given[i] ?? '';
    return own + HOSTED_NEGATIVE_SUFFIX;
  });
  return prior.pinned(async () => {
    const positive = await prior.call({ ...common, prompt: prompts });
    const negative = await prior.call({ ...common, prompt: negatives, stage: 'negative_prior' });
    return { imageEmbeds: positive.imageEmbeds, negativeImageEmbeds: negative.imageEmbeds };
  });
}
