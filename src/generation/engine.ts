import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { networkBytes } from '../nets/index.js';
import {
  estimateDepthMap, hintFromImage, KandinskyV22ControlnetImg2ImgPipeline, KandinskyV22ControlnetPipeline, KandinskyV22Img2ImgPipeline, KandinskyV22InpaintPipeline,
  KandinskyV22Pipeline, KandinskyV22PriorPipeline, priorEmbeddings, type DecoderCallOptions, type DecoderOutput,
  type KandinskyV22DecoderBase, type PipelineOptions, type PriorOutput, type RunControl,
} from '../pipelines/index.js';
import { TorchGenerator } from '../random/index.js';
import type { PilImage } from '../image/index.js';
import type { EngineOptions, GenerationRequest, GenerationResult } from './request.js';

export const DEFAULT_MEMORY_BUDGET = 8 * 1024 ** 3;

/**
 * The order in which networks earn a place in the memory budget: the slowest to load again first (the UNet and
 * the prior are prepacked at load), the vision tower last (the zero-image embedding is cached on disk, so it
 * runs only for image inputs).
 */
const KEEP_ORDER: readonly (readonly ['prior' | 'decoder', string])[] = [
  ['decoder', 'unet'], ['prior', 'prior'], ['prior', 'text_encoder'], ['decoder', 'movq'], ['prior', 'image_encoder'],
];

type DecoderClass = new (dir: string, options: PipelineOptions) => KandinskyV22DecoderBase & { call(o: DecoderCallOptions): Promise<DecoderOutput> };

const DECODERS: Record<Exclude<GenerationRequest['mode'], 'prior' | 'fuse'>, DecoderClass> = {
  text2img: KandinskyV22Pipeline,
  img2img: KandinskyV22Img2ImgPipeline,
  inpaint: KandinskyV22InpaintPipeline,
  controlnet: KandinskyV22ControlnetPipeline,
  controlnet_img2img: KandinskyV22ControlnetImg2ImgPipeline,
};

/**
 * Runs generations, holding the pipelines between them. Within the memory budget every network stays loaded
 * (a service's repeated generations); past it each is released once its stage is done, so a generation peaks
 * at about its largest network.
 */
export class Engine {
  private readonly pipelines = new Map<string, object & { release(): Promise<void> }>();
  /** Component folders decided on, with the bytes they keep loaded (0: released after each stage). */
  private readonly decided = new Map<string, number>();
  private readonly kept = new Set<string>();

  constructor(readonly options: EngineOptions = {}) {}

  async generate(given: GenerationRequest, control: RunControl = {}): Promise<GenerationResult> {
    this.budgetFor(given);
    const { request: r, depth } = await this.withEstimatedHint(given);
    const generator = new TorchGenerator().manualSeed(r.seed);
    const n = r.numOutputs ?? 1;
    const embeds = r.imageEmbeds ?? (await this.priorOutput(r, generator, control));
    if (r.mode === 'prior') return { imageEmbeds: embeds.imageEmbeds, negativeImageEmbeds: embeds.negativeImageEmbeds };
    const decoder = this.decoderPipeline(r.mode === 'fuse' ? KandinskyV22Pipeline : DECODERS[r.mode], need(r.decoder, 'decoder'));
    const out = await decoder.call({
      imageEmbeds: embeds.imageEmbeds,
      negativeImageEmbeds: embeds.negativeImageEmbeds,
      // The prior already made one embedding per output; given embeddings of one row are repeated.
      numImagesPerPrompt: r.imageEmbeds ? n : 1,
      height: r.height,
      width: r.width,
      numInferenceSteps: r.numInferenceSteps,
      guidanceScale: r.guidanceScale,
      scheduler: r.scheduler,
      generator,
      signal: control.signal,
      onStep: control.onStep,
      ...(r.image ? { image: r.image, strength: r.strength } : {}),
      ...(r.mask ? { maskImage: r.mask } : {}),
      ...(r.hint ? { hint: r.hint } : {}),
    } as DecoderCallOptions);
    return { images: out.images, imageEmbeds: embeds.imageEmbeds, negativeImageEmbeds: embeds.negativeImageEmbeds, depth };
  }

  /**
   * `hintFrom`: the photo's depth map, estimated as transformers' depth-estimation pipeline does, becomes the
   * hint. The DPT model is released before any Kandinsky network loads.
   */
  private async withEstimatedHint(r: GenerationRequest): Promise<{ request: GenerationRequest; depth?: PilImage }> {
    if (!r.hintFrom) return { request: r };
    const depth = await estimateDepthMap(r.hintFrom.depthModel, r.hintFrom.photo, { device: this.options.device, threads: this.options.threads });
    return { request: { ...r, hintFrom: undefined, hint: hintFromImage(depth, r.width ?? 512, r.height ?? 512) }, depth };
  }

  async release(): Promise<void> {
    for (const p of this.pipelines.values()) await p.release();
    this.pipelines.clear();
  }

  private async priorOutput(r: GenerationRequest, generator: TorchGenerator, control: RunControl): Promise<PriorOutput> {
    const prior = this.priorPipeline(need(r.prior, 'prior'));
    const common = {
      numImagesPerPrompt: r.numOutputs ?? 1,
      numInferenceSteps: r.numInferenceStepsPrior ?? 25,
      guidanceScale: r.priorGuidanceScale ?? 4.0,
      generator,
      signal: control.signal,
      onStep: control.onStep,
    };
    if (r.mode === 'fuse') {
      const mix = r.mix ?? [];
      if (mix.length === 0) throw new InputError('fuse: no --mix entries');
      return prior.interpolate({
        ...common,
        imagesAndPrompts: mix.map((m) => ('text' in m ? m.text : m.image)),
        weights: mix.map((m) => m.weight),
        negativePrompt: r.negativePrompt ?? '',
      });
    }
    return priorEmbeddings(prior, {
      ...common,
      prompt: need(r.prompt, 'prompt'),
      negativePrompt: r.negativePrompt,
      priorNumInferenceSteps: common.numInferenceSteps,
      priorGuidanceScale: common.guidanceScale,
      flow: r.flow,
    });
  }

  private priorPipeline(dir: string): KandinskyV22PriorPipeline {
    return this.pipeline(`prior:${dir}`, () => new KandinskyV22PriorPipeline(dir, this.pipelineOptions(dir, undefined)));
  }

  private decoderPipeline(type: DecoderClass, dir: string): InstanceType<DecoderClass> {
    return this.pipeline(`${type.name}:${dir}`, () => new type(dir, this.pipelineOptions(dir, this.options.variant)));
  }

  private pipeline<T extends object & { release(): Promise<void> }>(key: string, make: () => T): T {
    let p = this.pipelines.get(key);
    if (!p) {
      p = make();
      this.pipelines.set(key, p);
    }
    return p as T;
  }

  /**
   * Which networks stay loaded between stages and generations: within the memory budget, the costliest to
   * load again first (KEEP_ORDER), each decided once, when a request first needs it; the others are released
   * as soon as their stage is done.
   */
  private budgetFor(r: GenerationRequest): void {
    const budget = this.options.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
    const wanted = KEEP_ORDER.flatMap(([repo, component]) => {
      const dir = repo === 'prior' ? (r.imageEmbeds ? undefined : r.prior) : r.mode === 'prior' ? undefined : r.decoder;
      const path = dir && join(dir, component);
      return path && existsSync(path) && !this.decided.has(path) ? [{ path, component }] : [];
    });
    let kept = [...this.decided.values()].reduce((a, b) => a + b, 0);
    for (const { path, component } of wanted) {
      const bytes = networkBytes(path, component === 'unet' ? this.options.variant : undefined);
      const keep = kept + bytes <= budget;
      this.decided.set(path, keep ? bytes : 0);
      if (keep) {
        kept += bytes;
        this.kept.add(path);
      }
    }
  }

  private pipelineOptions(dir: string, variant: string | undefined): PipelineOptions {
    const keepLoaded = new Set(KEEP_ORDER.map(([, c]) => c).filter((c) => this.kept.has(join(dir, c))));
    return { device: this.options.device, threads: this.options.threads, variant, keepLoaded };
  }
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new InputError(`generation: no ${what} given`);
  return value;
}
