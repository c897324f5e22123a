import { join } from 'node:path';
import { InputError } from '../errors.js';
import { convert, resize, type PilImage } from '../image/index.js';
import { UNet2DConditionModel, VQModel, type UNet2DConditionModelConfig } from '../nets/index.js';
import { DDPMScheduler, loadScheduler, timestepsForStrength, type Scheduler } from '../schedulers/index.js';
import { concat, guide, leadingChannels, repeatInterleave, tensor, type Float32Tensor } from '../tensor/index.js';
import { Held, keeps, type PipelineOptions } from './components.js';
import { denoisingLoop, type RunControl } from './progress.js';
import { asBatch, asList, checkCount, checkLatents, repeatToBatch, scaled } from './batch.js';
import { noiseSource, type Generators, type NoiseSource } from './random.js';

/** The schedulers a decoder can run, by their short names (doc §5.2-5.4). */
export const SCHEDULERS = { ddpm: 'DDPMScheduler', ddim: 'DDIMScheduler', dpmpp: 'DPMSolverMultistepScheduler' } as const;
export type SchedulerName = keyof typeof SCHEDULERS;

/** What every decoder call takes (doc §4.4). */
export interface DecoderCallOptions extends RunControl {
  /** [B, E] (a list is concatenated), the prior's `image_embeds`. */
  readonly imageEmbeds: Float32Tensor | readonly Float32Tensor[];
  readonly negativeImageEmbeds: Float32Tensor | readonly Float32Tensor[];
  readonly height?: number;
  readonly width?: number;
  readonly numInferenceSteps?: number;
  readonly guidanceScale?: number;
  readonly numImagesPerPrompt?: number;
  readonly generator?: Generators;
  /** Initial latents [B * n, 4, h, w] instead of a draw (text-to-image, ControlNet, inpainting). */
  readonly latents?: Float32Tensor | null;
  /** Another scheduler built from the repo's scheduler config (default: the repo's own). */
  readonly scheduler?: SchedulerName;
  /** 'np' (default): images [B, H, W, 3] in [0, 1]; 'latent': the final latents, not decoded. */
  readonly outputType?: 'np' | 'latent';
}

export interface DecoderOutput {
  /** [B, H, W, 3] float32 in [0, 1] (or the latents with outputType 'latent'). */
  readonly images: Float32Tensor;
}

/** The init image of image-to-image and how far to noise it. */
export interface ImageToImageOptions {
  readonly image: PilImage | readonly PilImage[];
  /** How much of the schedule is run from the noised image: 0..1, default 0.3. */
  readonly strength?: number;
  readonly width?: number;
  readonly height?: number;
}

/** The conditioning of one decoder run, with the batch laid out [uncond ; cond] under guidance. */
export interface DecoderRun {
  readonly cfg: boolean;
  readonly guidanceScale: number;
  /** Rows of the final image batch: `image_embeds` rows x n. */
  readonly batch: number;
  readonly numImagesPerPrompt: number;
  readonly imageEmbeds: Float32Tensor;
  readonly noise: NoiseSource;
  readonly scheduler: Scheduler;
  readonly steps: number;
  /** Latent height and width, and the MoVQ's factor from latents to pixels. */
  readonly h: number;
  readonly w: number;
  readonly scale: number;
}

/** Per-step extras of a mode: channels appended to the UNet's input, a hint, and work after each scheduler step. */
export interface DenoiseHooks {
  readonly extraChannels?: Float32Tensor;
  readonly hint?: Float32Tensor;
  readonly afterStep?: (latents: Float32Tensor, i: number) => Float32Tensor;
}

/** The decoder repos' shared parts: UNet, MoVQ and scheduler, and the steps of doc §4.4 every mode uses. */
export class KandinskyV22DecoderBase {
  readonly unet: Held<UNet2DConditionModel>;
  readonly movq: Held<VQModel>;

  constructor(
    readonly dir: string,
    readonly options: PipelineOptions = {},
  ) {
    this.unet = new Held(() => UNet2DConditionModel.load(join(dir, 'unet'), options), keeps(options, 'unet'));
    this.movq = new Held(() => VQModel.load(join(dir, 'movq'), { ...options, variant: undefined }), keeps(options, 'movq'));
  }

  /** diffusers' `from_pretrained`: a repo folder in the published layout; networks load on first use. */
  static async fromPretrained<T>(this: new (dir: string, options: PipelineOptions) => T, dir: string, options: PipelineOptions = {}): Promise<T> {
    return new this(dir, options);
  }

  async release(): Promise<void> {
    await Promise.all([this.unet.release(), this.movq.release()]);
  }

  /**
   * Embeddings, batch, scheduler and latent size (doc §4.4 steps 1-4), after checking that the repo's UNet is
   * the form this pipeline drives: a plain decoder, an inpainting one (9 input channels) or a ControlNet one.
   */
  async prepare(o: DecoderCallOptions, form: UNetForm): Promise<DecoderRun> {
    checkForm(UNet2DConditionModel.readConfig(join(this.dir, 'unet')), (await this.movq.get()).config.latentChannels, form, this.dir);
    const n = checkCount('numImagesPerPrompt', o.numImagesPerPrompt ?? 1);
    const steps = checkCount('numInferenceSteps', o.numInferenceSteps ?? 100);
    const guidanceScale = o.guidanceScale ?? 4.0;
    if (!Number.isFinite(guidanceScale)) throw new InputError(`guidanceScale must be a finite number, got ${guidanceScale}`);
    const positive = asBatch('imageEmbeds', o.imageEmbeds);
    const negative = asBatch('negativeImageEmbeds', o.negativeImageEmbeds);
    if (positive.shape.length !== 2 || negative.shape.length !== 2 || positive.shape[1] !== negative.shape[1] || positive.shape[0] !== negative.shape[0]) {
      throw new InputError(`imageEmbeds [${positive.shape.join(', ')}] and negativeImageEmbeds [${negative.shape.join(', ')}] must both be [B, E]`);
    }
    const cfg = guidanceScale > 1;
    // diffusers repeats the embeddings per image only under guidance (and fails without it for n > 1); here
    // they are repeated in both cases, which is the same for every call diffusers completes.
    const cond = repeatInterleave(positive, n);
    const imageEmbeds = cfg ? concat([repeatInterleave(negative, n), cond]) : cond;
    const scheduler = loadScheduler(join(this.dir, 'scheduler'), o.scheduler && SCHEDULERS[o.scheduler]);
    scheduler.setTimesteps(steps);
    const scale = (await this.movq.get()).scaleFactor;
    const { h, w } = latentSize(o.height ?? 512, o.width ?? 512, scale);
    return { cfg, guidanceScale, batch: positive.shape[0] * n, numImagesPerPrompt: n, imageEmbeds, noise: noiseSource(o.generator), scheduler, steps, h, w, scale };
  }

  /** `prepare_latents` of text-to-image: drawn (or given) [B, C, h, w], times init_noise_sigma. */
  initialLatents(run: DecoderRun, channels: number, given: Float32Tensor | null | undefined): Float32Tensor {
    const shape = [run.batch, channels, run.h, run.w];
    return scaled(given ? checkLatents(given, shape) : run.noise.randn(shape), run.scheduler.initNoiseSigma);
  }

  /** The denoising loop (doc §4.4 step 6): UNet, guidance, variance channels dropped, scheduler step. */
  async denoise(run: DecoderRun, latents: Float32Tensor, timesteps: readonly number[], control: RunControl, hooks: DenoiseHooks = {}): Promise<Float32Tensor> {
    const channels = latents.shape[1];
    return this.unet.use(async (unet) => {
      await denoisingLoop('decoder', timesteps.length, control, async (i) => {
        const t = timesteps[i];
        let sample = run.cfg ? concat([latents, latents]) : latents;
        if (hooks.extraChannels) sample = concat([sample, hooks.extraChannels], 1);
        let out = await unet.forward({ sample, timestep: t, imageEmbeds: run.imageEmbeds, hint: hooks.hint });
        if (run.cfg) out = guide(out, run.guidanceScale, channels);
        if (!learnsVariance(run.scheduler)) out = leadingChannels(out, channels);
        latents = run.scheduler.step(out, t, latents, { generator: run.noise });
        if (hooks.afterStep) latents = hooks.afterStep(latents, i);
      });
      return latents;
    });
  }

  /** `movq.decode(latents, force_not_quantize=True)`, then `* 0.5 + 0.5`, clamp to [0, 1], NHWC (doc §4.4 step 7). */
  async decode(latents: Float32Tensor, outputType: 'np' | 'latent' = 'np'): Promise<DecoderOutput> {
    if (outputType === 'latent') return { images: latents };
    const sample = await this.movq.use((movq) => movq.decode(latents));
    return { images: toImages(sample) };
  }

  /**
   * The starting point of image-to-image (doc §4.5 steps 2-5): the images encoded, one per output row, noised
   * at the first timestep the strength leaves.
   */
  async imageLatents(run: DecoderRun, o: ImageToImageOptions): Promise<{ latents: Float32Tensor; timesteps: number[] }> {
    const images = asList(o.image);
    const encoded = await this.encode(preprocessImages(images, o.width ?? 512, o.height ?? 512));
    const timesteps = timestepsForStrength(run.scheduler.timesteps, run.steps, o.strength ?? 0.3);
    return { latents: noisedLatents(run, repeatInterleave(encoded, run.numImagesPerPrompt), timesteps[0]), timesteps };
  }

  /** `movq.encode(image).latents` of images preprocessed to [-1, 1]. */
  async encode(images: Float32Tensor): Promise<Float32Tensor> {
    const movq = await this.movq.get();
    try {
      return await movq.encode(images);
    } finally {
      await movq.releaseEncoder();
    }
  }
}

/** The three UNets of Kandinsky 2.2: text-to-image/img2img, inpainting, ControlNet-depth. */
export type UNetForm = 'image' | 'inpaint' | 'hint';

const FORM_NAMES: Record<UNetForm, string> = { image: 'a plain decoder (kandinsky-2-2-decoder)', inpaint: 'an inpainting decoder (kandinsky-2-2-decoder-inpaint)', hint: 'a ControlNet decoder (kandinsky-2-2-controlnet-depth)' };

function checkForm(unet: UNet2DConditionModelConfig, latentChannels: number, want: UNetForm, dir: string): void {
  const { inChannels, additionEmbedType } = unet;
  const form: UNetForm | undefined = additionEmbedType === 'image_hint' ? 'hint' : inChannels === 2 * latentChannels + 1 ? 'inpaint' : inChannels === latentChannels ? 'image' : undefined;
  if (form !== want) {
    const is = form ? FORM_NAMES[form] : `a UNet of ${inChannels} input channels, which no Kandinsky 2.2 pipeline drives`;
    throw new InputError(`${dir}: this pipeline needs ${FORM_NAMES[want]}; its UNet is ${is}`);
  }
}

/** Only a DDPM scheduler with a learned variance takes the UNet's variance channels (doc §4.4 step 6). */
function learnsVariance(scheduler: Scheduler): boolean {
  return scheduler instanceof DDPMScheduler && scheduler.config.varianceType.startsWith('learned');
}

/**
 * `downscale_height_and_width`: the latent size is ceil(size / scale²) * scale, so the image comes out with
 * its sides rounded up to multiples of scale² (64 for MoVQ).
 */
export function latentSize(height: number, width: number, scale: number): { h: number; w: number } {
  checkCount('height', height);
  checkCount('width', width);
  const side = (x: number) => Math.ceil(x / (scale * scale)) * scale;
  return { h: side(height), w: side(width) };
}

/** `image * 0.5 + 0.5`, clamped to [0, 1], NCHW -> NHWC (diffusers' "np" output). */
export function toImages(sample: Float32Tensor): Float32Tensor {
  const [b, c, h, w] = sample.shape;
  const out = new Float32Array(sample.data.length);
  const plane = h * w;
  for (let n = 0; n < b; n++) {
    for (let ch = 0; ch < c; ch++) {
      const src = (n * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const v = Math.fround(Math.fround(sample.data[src + p] * 0.5) + 0.5);
        out[(n * plane + p) * c + ch] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return tensor(out, [b, h, w, c]);
}

/**
 * The img2img / inpainting preprocessing of diffusers 0.31 (doc §4.5 step 2): Pillow's bicubic resize to
 * (width, height) with reducing_gap 1, RGB, `pixel / 127.5 - 1` in float32, stacked NCHW.
 */
export function preprocessImages(images: readonly PilImage[], width: number, height: number): Float32Tensor {
  if (images.length === 0) throw new InputError('image: no image given');
  const plane = width * height;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((image, n) => {
    const rgb = convert(resize(image, width, height, { filter: 'bicubic', reducingGap: 1 }), 'RGB');
    for (let p = 0; p < plane; p++) {
      for (let ch = 0; ch < 3; ch++) out[(n * 3 + ch) * plane + p] = Math.fround(Math.fround(rgb.data[p * 3 + ch]) / 127.5) - 1;
    }
  });
  return tensor(out, [images.length, 3, height, width]);
}

/** `add_noise` at the first remaining timestep of init latents repeated to the batch (img2img `prepare_latents`). */
export function noisedLatents(run: DecoderRun, init: Float32Tensor, t0: number): Float32Tensor {
  const latents = repeatToBatch(init, run.batch, 'image');
  const noise = run.noise.randn(latents.shape);
  return run.scheduler.addNoise(latents, noise, t0);
}
