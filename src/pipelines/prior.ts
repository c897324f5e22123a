import { join } from 'node:path';
import { InputError } from '../errors.js';
import { CLIPImageProcessor, type PilImage } from '../image/index.js';
import { CLIPTextModelWithProjection, CLIPVisionModelWithProjection, PriorTransformer } from '../nets/index.js';
import { TorchGenerator } from '../random/index.js';
import { loadScheduler, type Scheduler } from '../schedulers/index.js';
import { chunk, concat, guide, repeatInterleave, tensor, tile, type Float32Tensor, type Tensor } from '../tensor/index.js';
import { CLIPTokenizer } from '../tokenizer/index.js';
import { Held, keeps, type PipelineOptions } from './components.js';
import { asList, checkCount, checkLatents, scale, scaled } from './batch.js';
import { denoisingLoop, type RunControl, type Stage } from './progress.js';
import { noiseSource, type Generators, type NoiseSource } from './random.js';
import { zeroImageEmbed } from './zero-image-embeds.js';

export interface PriorOutput {
  /** [B * n, clip_embed_dim] */
  readonly imageEmbeds: Float32Tensor;
  readonly negativeImageEmbeds: Float32Tensor;
}

export interface PriorCallOptions extends RunControl, PriorTextOptions {
  readonly generator?: Generators;
  /** The initial latents [B * n, embedding_dim] instead of a draw. */
  readonly latents?: Float32Tensor | null;
  /** Which progress stage this run reports as (the hosted flow's second run is 'negative_prior'). */
  readonly stage?: Stage;
}

/** An element of `interpolate`'s list: a text (run through the prior) or an image (through the image encoder). */
export type InterpolationCondition = string | PilImage;

export interface PriorInterpolateOptions extends RunControl {
  readonly imagesAndPrompts: readonly InterpolationCondition[];
  readonly weights: readonly number[];
  readonly numImagesPerPrompt?: number;
  readonly numInferenceSteps?: number;
  readonly generator?: Generators;
  readonly latents?: Float32Tensor | null;
  readonly negativePriorPrompt?: string | null;
  readonly negativePrompt?: string;
  readonly guidanceScale?: number;
}

/** What a prior call says about its text. */
export interface PriorTextOptions {
  readonly prompt: string | readonly string[];
  readonly negativePrompt?: string | readonly string[] | null;
  readonly numImagesPerPrompt?: number;
  readonly numInferenceSteps?: number;
  readonly guidanceScale?: number;
}

/** A prior call's checked arguments and encoded text. */
export interface PriorText {
  readonly n: number;
  readonly steps: number;
  readonly guidanceScale: number;
  /** Rows of latents: prompts (and negatives) x n. */
  readonly batch: number;
  /** The negative prompts as run (doubled), when given. */
  readonly negatives: readonly string[] | undefined;
  readonly embeddings: PromptEmbeddings;
}

/** The text conditioning of one prior batch, laid out [uncond ; cond] under guidance (doc §4.1 step 4). */
interface PromptEmbeddings {
  readonly promptEmbeds: Float32Tensor;
  readonly textEncoderHiddenStates: Float32Tensor;
  readonly textMask: Tensor<Uint8Array>;
}

/**
 * The prior repo's components (tokenizer, text_encoder, image_encoder, prior, scheduler, image_processor) and
 * the steps its pipelines share: prompt encoding, the denoising loop, the zero-image embedding.
 */
export class KandinskyV22PriorBase {
  readonly tokenizer: CLIPTokenizer;
  readonly textEncoder: Held<CLIPTextModelWithProjection>;
  readonly imageEncoder: Held<CLIPVisionModelWithProjection>;
  readonly prior: Held<PriorTransformer>;
  private imageProcessorValue?: CLIPImageProcessor;
  private zeroEmbed?: Promise<Float32Tensor>;

  constructor(
    readonly dir: string,
    readonly options: PipelineOptions = {},
  ) {
    this.tokenizer = CLIPTokenizer.fromPretrained(join(dir, 'tokenizer'));
    this.textEncoder = new Held(() => CLIPTextModelWithProjection.load(join(dir, 'text_encoder'), options), keeps(options, 'text_encoder'));
    this.imageEncoder = new Held(() => CLIPVisionModelWithProjection.load(join(dir, 'image_encoder'), options), keeps(options, 'image_encoder'));
    this.prior = new Held(() => PriorTransformer.load(join(dir, 'prior'), options), keeps(options, 'prior'));
  }

  get imageProcessor(): CLIPImageProcessor {
    this.imageProcessorValue ??= CLIPImageProcessor.fromPretrained(join(this.dir, 'image_processor'));
    return this.imageProcessorValue;
  }

  /** A fresh scheduler from the repo's scheduler_config.json (a scheduler keeps per-run state). */
  scheduler(): Scheduler {
    return loadScheduler(join(this.dir, 'scheduler'));
  }

  /** diffusers' `from_pretrained`: a repo folder in the published layout; networks load on first use. */
  static async fromPretrained<T>(this: new (dir: string, options: PipelineOptions) => T, dir: string, options: PipelineOptions = {}): Promise<T> {
    return new this(dir, options);
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.imageEncoder.release(), this.prior.release()]);
  }

  /** Keeps the text encoder and the prior loaded across several prior runs (interpolation, the hosted flow). */
  pinned<R>(run: () => Promise<R>): Promise<R> {
    return this.prior.pinned(() => this.textEncoder.pinned(run));
  }

  /** The steps every prior call begins with (doc §4.1 steps 1-4): arguments checked, the negative doubling, the text encoded. */
  async prepareText(o: PriorTextOptions): Promise<PriorText> {
    const n = checkCount('numImagesPerPrompt', o.numImagesPerPrompt ?? 1);
    const steps = checkCount('numInferenceSteps', o.numInferenceSteps ?? 25);
    const guidanceScale = o.guidanceScale ?? 4.0;
    if (!Number.isFinite(guidanceScale)) throw new InputError(`guidanceScale must be a finite number, got ${guidanceScale}`);
    const { prompts, negatives } = withNegatives(o.prompt, o.negativePrompt);
    const embeddings = await this.encodePrompt(prompts, n, guidanceScale > 1, negatives);
    return { n, steps, guidanceScale, batch: prompts.length * n, negatives, embeddings };
  }

  /** `_encode_prompt` (doc §4.1 step 4): rows repeated per image, [uncond ; cond] under guidance. */
  async encodePrompt(prompts: readonly string[], n: number, cfg: boolean, negatives: readonly string[] | undefined): Promise<PromptEmbeddings> {
    return this.textEncoder.use(async (encoder) => {
      const encode = async (texts: readonly string[]): Promise<PromptEmbeddings> => {
        const { inputIds, attentionMask } = this.tokenizer.encode([...texts], { padding: 'max_length', truncation: true });
        const { textEmbeds, lastHiddenState } = await encoder.forward(inputIds);
        const mask = tensor(Uint8Array.from(attentionMask.data, (v) => (v ? 1 : 0)), attentionMask.shape);
        return { promptEmbeds: repeatInterleave(textEmbeds, n), textEncoderHiddenStates: repeatInterleave(lastHiddenState, n), textMask: repeatInterleave(mask, n) };
      };
      const cond = await encode(prompts);
      if (!cfg) return cond;
      const uncond = await encode(negatives ?? prompts.map(() => ''));
      return {
        promptEmbeds: concat([uncond.promptEmbeds, cond.promptEmbeds]),
        textEncoderHiddenStates: concat([uncond.textEncoderHiddenStates, cond.textEncoderHiddenStates]),
        textMask: concat([uncond.textMask, cond.textMask]),
      };
    });
  }

  /** CLIP image embeddings of images (`_encode_image` / interpolate's image branch), one row per image. */
  async encodeImages(images: readonly PilImage[]): Promise<Float32Tensor> {
    const pixels = this.imageProcessor.preprocess(images);
    return this.imageEncoder.use((encoder) => encoder.forward(pixels));
  }

  /** The denoising loop (doc §4.1 step 7) and `post_process_latents`. */
  async denoise(
    latents: Float32Tensor, timesteps: readonly number[], scheduler: Scheduler, e: PromptEmbeddings,
    guidanceScale: number, noise: NoiseSource, control: RunControl & { stage?: Stage },
  ): Promise<Float32Tensor> {
    const cfg = guidanceScale > 1;
    return this.prior.use(async (prior) => {
      await denoisingLoop(control.stage ?? 'prior', timesteps.length, control, async (i) => {
        const t = timesteps[i];
        const predicted = await prior.forward({
          hiddenStates: cfg ? concat([latents, latents]) : latents,
          timestep: t,
          projEmbedding: e.promptEmbeds,
          encoderHiddenStates: e.textEncoderHiddenStates,
          attentionMask: e.textMask,
        });
        const prevTimestep = i + 1 < timesteps.length ? timesteps[i + 1] : undefined;
        latents = scheduler.step(cfg ? guide(predicted, guidanceScale) : predicted, t, latents, { generator: noise, prevTimestep });
      });
      return prior.postProcessLatents(latents);
    });
  }

  /** `get_zero_embed(batch)`, from the disk cache when it has it. */
  async zeroImageEmbeds(batch: number): Promise<Float32Tensor> {
    // Kept once read: finding the disk cache costs a read of the image encoder's headers.
    this.zeroEmbed ??= zeroImageEmbed(join(this.dir, 'image_encoder'), this.options.variant, this.imageEncoder).catch((err: unknown) => {
      this.zeroEmbed = undefined;
      throw err;
    });
    return tile(await this.zeroEmbed, batch);
  }
}

/** `KandinskyV22PriorPipeline`: text -> CLIP image embedding (doc §4.1), and interpolation (§4.2). */
export class KandinskyV22PriorPipeline extends KandinskyV22PriorBase {
  /** `__call__` (doc §4.1). */
  async call(o: PriorCallOptions): Promise<PriorOutput> {
    const { steps, guidanceScale, batch, negatives, embeddings } = await this.prepareText(o);
    const scheduler = this.scheduler();
    scheduler.setTimesteps(steps);
    const noise = noiseSource(o.generator);
    const embeddingDim = (await this.prior.get()).config.embeddingDim;
    const latents = o.latents
      ? checkLatents(o.latents, [batch, embeddingDim])
      : noise.randn([batch, embeddingDim]);
    const imageEmbeds = await this.denoise(scaled(latents, scheduler.initNoiseSigma), scheduler.timesteps, scheduler, embeddings, guidanceScale, noise, o);
    if (negatives === undefined) {
      return { imageEmbeds, negativeImageEmbeds: await this.zeroImageEmbeds(imageEmbeds.shape[0]) };
    }
    const [positive, negative] = chunk(imageEmbeds, 2);
    return { imageEmbeds: positive, negativeImageEmbeds: negative };
  }

  /** `interpolate` (doc §4.2): a weighted sum of prior outputs for texts and CLIP embeddings of images. */
  async interpolate(o: PriorInterpolateOptions): Promise<PriorOutput> {
    const n = checkCount('numImagesPerPrompt', o.numImagesPerPrompt ?? 1);
    if (o.imagesAndPrompts.length === 0) throw new InputError('interpolate: imagesAndPrompts is empty');
    if (o.weights.length !== o.imagesAndPrompts.length) {
      throw new InputError(`interpolate: ${o.imagesAndPrompts.length} images and prompts but ${o.weights.length} weights (one each)`);
    }
    o.weights.forEach((w, i) => {
      if (!Number.isFinite(w)) throw new InputError(`interpolate: weight ${i} is ${w}, expected a finite number`);
    });
    const negativePrompt = o.negativePrompt ?? '';
    const generator = o.generator ?? new TorchGenerator();
    const run = (prompt: string) => this.call({
      prompt,
      numInferenceSteps: o.numInferenceSteps,
      numImagesPerPrompt: n,
      generator,
      latents: o.latents,
      negativePrompt: o.negativePriorPrompt ?? null,
      guidanceScale: o.guidanceScale,
      signal: o.signal,
      onStep: o.onStep,
    });
    return this.pinned(async () => {
      const weighted: Float32Tensor[] = [];
      for (const [i, cond] of o.imagesAndPrompts.entries()) {
        const emb = typeof cond === 'string'
          ? (await run(cond)).imageEmbeds
          : tile(await this.encodeImages([cond]), n);
        weighted.push(scale(emb, o.weights[i]));
      }
      const imageEmbeds = sumOf(weighted);
      const zero = await run(negativePrompt);
      return { imageEmbeds, negativeImageEmbeds: negativePrompt === '' ? zero.negativeImageEmbeds : zero.imageEmbeds };
    });
  }
}

/** A negative prompt is run as a second conditional half, with itself as the unconditional text (doc §4.1 step 2). */
export function withNegatives(prompt: string | readonly string[], negativePrompt: string | readonly string[] | null | undefined) {
  const prompts = asList(prompt);
  if (prompts.length === 0) throw new InputError('prompt: no prompt given');
  if (negativePrompt === undefined || negativePrompt === null) return { prompts, negatives: undefined };
  const negatives = asList(negativePrompt);
  if (negatives.length !== prompts.length) {
    throw new InputError(`negativePrompt: ${negatives.length} negative prompts for ${prompts.length} prompts (one each)`);
  }
  return { prompts: [...prompts, ...negatives], negatives: [...negatives, ...negatives] };
}

/** `torch.cat(list).sum(dim=0)`: accumulated in order, rounded to float32 at each addition. */
function sumOf(parts: readonly Float32Tensor[]): Float32Tensor {
  const out = new Float32Array(parts[0].data);
  for (const p of parts.slice(1)) {
    if (p.data.length !== out.length) throw new InputError(`interpolate: embeddings of shapes [${parts[0].shape.join(', ')}] and [${p.shape.join(', ')}] cannot be summed`);
    for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] + p.data[i]);
  }
  return tensor(out, parts[0].shape);
}
