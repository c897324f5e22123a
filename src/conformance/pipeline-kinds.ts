import { readPng, type PilImage } from '../image/index.js';
import {
  DepthEstimationPipeline, generateCombined, KandinskyV22ControlnetPipeline, KandinskyV22Img2ImgPipeline, KandinskyV22InpaintPipeline,
  KandinskyV22Pipeline, KandinskyV22PriorEmb2EmbPipeline, KandinskyV22PriorPipeline, type DecoderCallOptions,
  type InterpolationCondition, type PipelineOptions,
} from '../pipelines/index.js';
import { TorchGenerator } from '../random/index.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import type { CaseData } from './golden.js';
import { cached, type KindHandler, type RunContext } from './context.js';

// The pipeline kinds of the golden set: each case is one diffusers pipeline call with `generator =
// torch.Generator("cpu").manual_seed(seed)` and output_type "np" (golden README, "Kinds").

type Constructor<T> = new (dir: string, options: PipelineOptions) => T;

/** One pipeline per repo and run; every network stays loaded for the run's other cases. */
function pipeline<T extends object>(ctx: RunContext, data: CaseData, type: Constructor<T>, field: 'model' | 'prior_model' = 'model'): Promise<T> {
  const dir = data.modelDir(field);
  return cached(ctx, `${type.name}:${dir}`, () => new type(dir, { threads: ctx.threads, device: ctx.device, keepLoaded: true }));
}

function generator(data: CaseData): TorchGenerator {
  return new TorchGenerator().manualSeed(BigInt(data.input('seed') as number | string));
}

function image(data: CaseData, value: unknown): PilImage {
  return readPng(data.imagePath(value));
}

/** Optional plain inputs: absent from the manifest means the pipeline's default. */
function optional<T>(data: CaseData, name: string): T | undefined {
  return name in data.c.inputs ? (data.c.inputs[name] as T) : undefined;
}

function decoderInputs(data: CaseData): DecoderCallOptions {
  return {
    imageEmbeds: data.floatInput('image_embeds'),
    negativeImageEmbeds: data.floatInput('negative_image_embeds'),
    height: optional(data, 'height'),
    width: optional(data, 'width'),
    numInferenceSteps: optional(data, 'num_inference_steps'),
    guidanceScale: optional(data, 'guidance_scale'),
    numImagesPerPrompt: optional(data, 'num_images_per_prompt'),
    generator: generator(data),
  };
}

function priorInputs(data: CaseData) {
  return {
    prompt: data.input('prompt') as string | string[],
    negativePrompt: optional<string | null>(data, 'negative_prompt'),
    numImagesPerPrompt: optional<number>(data, 'num_images_per_prompt'),
    guidanceScale: optional<number>(data, 'guidance_scale'),
    numInferenceSteps: optional<number>(data, 'num_inference_steps'),
    generator: generator(data),
  };
}

async function prior(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const pipe = await pipeline(ctx, data, KandinskyV22PriorPipeline);
  const out = await pipe.call(priorInputs(data));
  return { image_embeds: out.imageEmbeds, negative_image_embeds: out.negativeImageEmbeds };
}

async function priorInterpolate(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const pipe = await pipeline(ctx, data, KandinskyV22PriorPipeline);
  const conditions = (data.input('images_and_prompts') as unknown[]).map((c): InterpolationCondition => (typeof c === 'string' ? c : image(data, c)));
  const out = await pipe.interpolate({
    imagesAndPrompts: conditions,
    weights: data.input('weights') as number[],
    numImagesPerPrompt: optional(data, 'num_images_per_prompt'),
    guidanceScale: optional(data, 'guidance_scale'),
    numInferenceSteps: optional(data, 'num_inference_steps'),
    negativePriorPrompt: optional(data, 'negative_prior_prompt'),
    negativePrompt: optional(data, 'negative_prompt'),
    generator: generator(data),
  });
  return { image_embeds: out.imageEmbeds, negative_image_embeds: out.negativeImageEmbeds };
}

async function priorEmb2Emb(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const pipe = await pipeline(ctx, data, KandinskyV22PriorEmb2EmbPipeline);
  const given = data.input('image');
  const out = await pipe.call({
    ...priorInputs(data),
    image: data.isTensor(given) ? (data.tensor(given) as Float32Tensor) : image(data, given),
    strength: optional(data, 'strength'),
  });
  return { image_embeds: out.imageEmbeds, negative_image_embeds: out.negativeImageEmbeds };
}

async function text2image(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const out = await (await pipeline(ctx, data, KandinskyV22Pipeline)).call(decoderInputs(data));
  return { images: out.images };
}

async function img2img(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const pipe = await pipeline(ctx, data, KandinskyV22Img2ImgPipeline);
  const out = await pipe.call({ ...decoderInputs(data), image: image(data, data.input('image')), strength: optional(data, 'strength') });
  return { images: out.images };
}

async function inpaint(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const pipe = await pipeline(ctx, data, KandinskyV22InpaintPipeline);
  const out = await pipe.call({ ...decoderInputs(data), image: image(data, data.input('image')), maskImage: image(data, data.input('mask_image')) });
  return { images: out.images };
}

async function controlnet(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const pipe = await pipeline(ctx, data, KandinskyV22ControlnetPipeline);
  const out = await pipe.call({ ...decoderInputs(data), hint: data.floatInput('hint') });
  return { images: out.images };
}

async function combined(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const priorPipe = await pipeline(ctx, data, KandinskyV22PriorPipeline, 'prior_model');
  const decoder = await pipeline(ctx, data, KandinskyV22Pipeline);
  const out = await generateCombined(priorPipe, decoder, {
    prompt: data.input('prompt') as string | string[],
    negativePrompt: optional(data, 'negative_prompt'),
    numImagesPerPrompt: optional(data, 'num_images_per_prompt'),
    priorGuidanceScale: optional(data, 'prior_guidance_scale'),
    priorNumInferenceSteps: optional(data, 'prior_num_inference_steps'),
    generator: generator(data),
  }, {
    height: optional(data, 'height'),
    width: optional(data, 'width'),
    numInferenceSteps: optional(data, 'num_inference_steps'),
    guidanceScale: optional(data, 'guidance_scale'),
  });
  return { images: out.images };
}

async function depthEstimation(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const pipe = await pipeline(ctx, data, DepthEstimationPipeline);
  const { depth } = await pipe.call(image(data, data.input('image')));
  return { depth: tensor(depth.data, [depth.height, depth.width]) };
}

const DECODER_INPUTS = ['image_embeds', 'negative_image_embeds', 'height', 'width', 'num_inference_steps', 'guidance_scale', 'num_images_per_prompt', 'seed'];
const PRIOR_INPUTS = ['prompt', 'negative_prompt', 'num_images_per_prompt', 'guidance_scale', 'num_inference_steps', 'seed'];

export const PIPELINE_KIND_HANDLERS: Record<string, KindHandler> = {
  prior: { inputs: PRIOR_INPUTS, run: prior },
  prior_interpolate: {
    inputs: ['images_and_prompts', 'weights', 'num_images_per_prompt', 'guidance_scale', 'num_inference_steps', 'negative_prior_prompt', 'negative_prompt', 'seed'],
    run: priorInterpolate,
  },
  prior_emb2emb: { inputs: [...PRIOR_INPUTS, 'image', 'strength'], run: priorEmb2Emb },
  text2image: { inputs: DECODER_INPUTS, run: text2image },
  img2img: { inputs: [...DECODER_INPUTS, 'image', 'strength'], run: img2img },
  inpaint: { inputs: [...DECODER_INPUTS, 'image', 'mask_image'], run: inpaint },
  controlnet: { inputs: [...DECODER_INPUTS, 'hint'], run: controlnet },
  depth_estimation: { inputs: ['image'], run: depthEstimation },
  combined: {
    inputs: ['prompt', 'negative_prompt', 'height', 'width', 'num_inference_steps', 'guidance_scale', 'num_images_per_prompt', 'prior_guidance_scale', 'prior_num_inference_steps', 'seed'],
    run: combined,
  },
};
