import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readComponentConfig } from '../weights/index.js';
import { InputError } from '../errors.js';
import {
  findModel, findPrior, type FoundModel, type GenerationMode, type GenerationRequest, type MixEntry,
} from '../generation/index.js';
import { readImage, readGenerationParameters, type PilImage } from '../image/index.js';
import { DEFAULT_DEPTH_MODEL, hintFromImage } from '../pipelines/index.js';
import { checkDevice } from '../onnx/index.js';
import { readSafetensors, readFloat32, createPullProgress } from '../weights/index.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import { cancellable } from './cancellation.js';
import { runInWorker } from './generation-progress.js';
import {
  DEFAULT_CONTROLNET_DECODER, DEFAULT_DECODER, DEFAULT_INPAINT_DECODER, outputPaths, planGeneration, type GenerateFlags, type GeneratePlan,
} from './generate-options.js';
import { saveOutputs, storedFlags } from './save-outputs.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('make images from a prompt (text-to-image), or from an image (--image), with a mask (--mask), a depth map (--hint), or a fuse of texts and images (--mix)')
    .argument('[prompt]', 'what to draw')
    .option('--negative-prompt <text>', 'what to steer away from')
    .option('--width <px>', 'multiple of 64 from 384 to 2048 (default 512)')
    .option('--height <px>', 'multiple of 64 from 384 to 2048 (default 512)')
    .option('--num-inference-steps <n>', 'decoder steps (default 75, as hosted; diffusers uses 100)')
    .option('--steps <n>', 'alias of --num-inference-steps')
    .option('--num-inference-steps-prior <n>', 'prior steps (default 25)')
    .option('--prior-steps <n>', 'alias of --num-inference-steps-prior')
    .option('--num-outputs <n>', 'images to make (default 1)')
    .option('--seed <n>', 'random seed (drawn and printed when absent); the same seed and parameters give the same image')
    .option('--guidance-scale <x>', 'decoder guidance (default 4)')
    .option('--prior-guidance-scale <x>', 'prior guidance (default 4)')
    .option('--scheduler <name>', "ddpm, ddim or dpmpp (default: the model's own)")
    .option('--output-format <f>', "png, jpeg or webp (default: from --out's extension, else webp)")
    .option('--quality <n>', 'JPEG/WebP quality 1-100 (defaults as Pillow: JPEG 75, WebP 80)')
    .option('--out <path>', 'output file; several outputs get -0, -1, ... before the extension (default out-{i}.{format})')
    .option('--model <decoder>', `decoder: a folder, a Hugging Face cache entry or a hub repo id (default ${DEFAULT_DECODER})`)
    .option('--prior <prior>', "prior repo (default: the one the decoder's card names)")
    .option('--revision <rev>', 'hub revision of --model')
    .option('--variant <name>', 'weight variant of the UNet, e.g. fp16')
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu, ...')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--memory-budget <size>', 'weights that may stay loaded at once, e.g. 8GiB (default); above it each network is released after its stage')
    .option('--image <path>', 'image-to-image: the starting picture (PNG, JPEG or WebP)')
    .option('--strength <x>', 'image-to-image: how far to move from --image, 0..1 (default 0.3)')
    .option('--mask <path>', `inpainting: white = repaint, black = keep (default model ${DEFAULT_INPAINT_DECODER})`)
    .option('--hint <path>', `ControlNet-depth: a depth map image, near = white (default model ${DEFAULT_CONTROLNET_DECODER})`)
    .option('--hint-from <photo>', 'ControlNet-depth from a photo: its depth map is estimated first (see `kandinsky depth`), then used as --hint')
    .option('--depth-model <repo>', `with --hint-from: the DPT depth model, a folder, a Hugging Face cache entry or a hub repo id (default ${DEFAULT_DEPTH_MODEL})`)
    .option('--mix <entry>', 'fuse: text:PROMPT=WEIGHT or image:PATH=WEIGHT, repeated, in order', (v: string, prev: string[] = []) => [...prev, v])
    .option('--image-embeds <file>', 'decoder only: image_embeds and negative_image_embeds from `kandinsky prior --out FILE.safetensors`')
    .option('--from <image>', 'run again with the parameters stored in an image this tool made (flags given override them)')
    .action(async (prompt: string | undefined, flags: GenerateFlags) => {
      await generate(prompt, flags);
    });
}

async function generate(promptArg: string | undefined, given: GenerateFlags): Promise<void> {
  const { prompt, flags } = given.from ? await withStoredParameters(promptArg, given) : { prompt: promptArg, flags: given };
  const plan = planGeneration(prompt, flags);
  const device = flags.device === undefined ? undefined : checkDevice(flags.device);
  const mode = modeOf(plan);
  await cancellable(async (signal) => {
    const pullView = createPullProgress();
    try {
      // Every input is read and checked before a model is looked for or a seed drawn.
      const inputs = await readInputs(plan);
      const decoderSpec = flags.model ?? (plan.mask ? DEFAULT_INPAINT_DECODER : isControlnet(plan) ? DEFAULT_CONTROLNET_DECODER : DEFAULT_DECODER);
      const find = { revision: flags.revision, variant: flags.variant, onPullProgress: pullView.onProgress, signal };
      const decoder = await findModel(decoderSpec, { ...find, what: '--model' });
      checkDecoderFits(decoder, plan);
      const prior = plan.imageEmbeds ? undefined : await findPrior(decoder.dir, flags.prior, { ...find, revision: undefined, what: '--prior' });
      const depthModel = plan.hintFrom ? await findModel(plan.depthModel ?? DEFAULT_DEPTH_MODEL, { ...find, revision: undefined, what: '--depth-model' }) : undefined;
      pullView.stop();
      const seed = plan.seed ?? BigInt(randomInt(2 ** 32));
      console.error(`Using seed: ${seed}`);
      const request = buildRequest(plan, inputs, mode, decoder, prior, depthModel, seed);
      const result = await runInWorker(request, { device, threads: plan.threads, variant: flags.variant, memoryBudget: plan.memoryBudget }, signal);
      const paths = outputPaths(plan, result.images!.shape[0], existsSync);
      await saveOutputs(result.images!, paths, plan, { mode, seed, decoder, prior, depthModel, request, variant: flags.variant });
      for (const p of paths) console.log(p);
    } finally {
      pullView.stop();
    }
  });
}

function modeOf(plan: GeneratePlan): GenerationMode {
  if (plan.mix.length > 0) return 'fuse';
  if (plan.mask) return 'inpaint';
  if (isControlnet(plan)) return plan.image ? 'controlnet_img2img' : 'controlnet';
  return plan.image ? 'img2img' : 'text2img';
}

function isControlnet(plan: GeneratePlan): boolean {
  return plan.hint !== undefined || plan.hintFrom !== undefined;
}

/** A mask needs an inpainting UNet (9 input channels), a hint a ControlNet one (`image_hint`), and the reverse. */
function checkDecoderFits(decoder: FoundModel, plan: GeneratePlan): void {
  const unetDir = join(decoder.dir, 'unet');
  const config = readComponentConfig(unetDir);
  const inpainting = config.in_channels === 9;
  const controlnet = config.addition_embed_type === 'image_hint';
  const name = decoder.source.id;
  if (plan.mask && !inpainting) throw new InputError(`--mask needs an inpainting decoder; ${name} is not one (its UNet takes ${String(config.in_channels)} channels, not 9)`);
  if (!plan.mask && inpainting) throw new InputError(`${name} is an inpainting decoder: give --image and --mask`);
  if (isControlnet(plan) && !controlnet) throw new InputError(`--${plan.hint ? 'hint' : 'hint-from'} needs a ControlNet decoder; ${name} has no "image_hint" UNet`);
  if (!isControlnet(plan) && controlnet) throw new InputError(`${name} is a ControlNet-depth decoder: give --hint (a depth map) or --hint-from (a photo)`);
}

interface Inputs {
  readonly image?: PilImage;
  readonly mask?: PilImage;
  readonly hint?: PilImage;
  /** --hint-from's photo, whose depth map the worker estimates. */
  readonly hintPhoto?: PilImage;
  readonly mix?: MixEntry[];
  readonly imageEmbeds?: { imageEmbeds: Float32Tensor; negativeImageEmbeds: Float32Tensor };
}

async function readInputs(plan: GeneratePlan): Promise<Inputs> {
  const mix: MixEntry[] = [];
  for (const m of plan.mix) mix.push('text' in m ? m : { image: await readImage(m.imagePath), weight: m.weight });
  return {
    image: plan.image ? await readImage(plan.image) : undefined,
    mask: plan.mask ? await readImage(plan.mask) : undefined,
    hint: plan.hint ? await readImage(plan.hint) : undefined,
    hintPhoto: plan.hintFrom ? await readImage(plan.hintFrom) : undefined,
    mix: mix.length > 0 ? mix : undefined,
    imageEmbeds: plan.imageEmbeds ? readEmbeds(plan.imageEmbeds) : undefined,
  };
}

function buildRequest(
  plan: GeneratePlan, inputs: Inputs, mode: GenerationMode, decoder: FoundModel, prior: FoundModel | undefined, depthModel: FoundModel | undefined, seed: bigint,
): GenerationRequest {
  return {
    mode,
    prior: prior?.dir,
    decoder: decoder.dir,
    prompt: plan.prompt,
    negativePrompt: plan.negativePrompt ?? null,
    width: plan.width,
    height: plan.height,
    numInferenceSteps: plan.numInferenceSteps,
    numInferenceStepsPrior: plan.numInferenceStepsPrior,
    numOutputs: plan.numOutputs,
    seed,
    guidanceScale: plan.guidanceScale,
    priorGuidanceScale: plan.priorGuidanceScale,
    scheduler: plan.scheduler,
    strength: plan.strength,
    image: inputs.image,
    mask: inputs.mask,
    hint: inputs.hint ? hintFromImage(inputs.hint, plan.width, plan.height) : undefined,
    // The worker estimates the photo's depth first, and releases the DPT model before the Kandinsky networks load.
    hintFrom: inputs.hintPhoto && depthModel ? { photo: inputs.hintPhoto, depthModel: depthModel.dir } : undefined,
    mix: inputs.mix,
    imageEmbeds: inputs.imageEmbeds,
  };
}

/** `image_embeds` and `negative_image_embeds` from a file `kandinsky prior` wrote. */
function readEmbeds(path: string): { imageEmbeds: Float32Tensor; negativeImageEmbeds: Float32Tensor } {
  const tensors = new Map(readSafetensors(path).tensors.map((t) => [t.name, t]));
  const read = (name: string) => {
    const t = tensors.get(name);
    if (!t || t.shape.length !== 2) throw new InputError(`--image-embeds ${path}: needs a 2-D tensor "${name}" [n, E]`);
    return tensor(readFloat32(t), t.shape);
  };
  return { imageEmbeds: read('image_embeds'), negativeImageEmbeds: read('negative_image_embeds') };
}

/** `--from IMAGE`: the stored parameters become the flags' defaults. */
async function withStoredParameters(prompt: string | undefined, flags: GenerateFlags): Promise<{ prompt?: string; flags: GenerateFlags }> {
  const stored = readGenerationParameters(flags.from!);
  if (!stored) throw new InputError(`--from ${flags.from}: the image carries no generation parameters`);
  return { prompt: prompt ?? stored.prompt, flags: { ...storedFlags(stored), ...definedOnly(flags) } };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

