import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { weightsSha256, type FoundModel, type GenerationMode, type GenerationRequest } from '../generation/index.js';
import { toPilImages, writeImageFile, type GenerationParameters, type InputFileDigest, type MixRecord } from '../image/index.js';
import { SCHEDULERS, type SchedulerName } from '../pipelines/index.js';
import type { Float32Tensor } from '../tensor/index.js';
import { readComponentConfig } from '../weights/index.js';
import type { GenerateFlags, GeneratePlan } from './generate-options.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunRecord {
  readonly mode: GenerationMode;
  readonly seed: bigint;
  readonly decoder: FoundModel;
  readonly prior?: FoundModel;
  /** The DPT model that estimated --hint-from's depth. */
  readonly depthModel?: FoundModel;
  readonly request: GenerationRequest;
  readonly variant?: string;
}

/** Writes each image with its generation parameters embedded; every file is written whole or not at all. */
export async function saveOutputs(images: Float32Tensor, paths: readonly string[], plan: GeneratePlan, run: RunRecord): Promise<void> {
  const parameters = { ...(await parametersOf(plan, run)), num_outputs: paths.length };
  const pil = toPilImages(images);
  for (const [i, path] of paths.entries()) {
    await writeImageFile(path, pil[i], plan.format, { quality: plan.quality, metadata: { ...parameters, index: i } });
  }
}

async function modelRecord(m: FoundModel, components: readonly string[]): Promise<GenerationParameters['model']> {
  if (m.source.revision) return { id: m.source.id, revision: m.source.revision };
  return { id: m.source.id, weights_sha256: await weightsSha256(m.dir, components) };
}

/** An input file by its absolute path (so that `--from` finds it from anywhere) and the sha256 of its bytes. */
function fileRecord(path: string): InputFileDigest {
  return { file: resolve(path), sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

function inputsOf(plan: GeneratePlan): Record<string, InputFileDigest> | undefined {
  const files: [string, string | undefined][] = [['image', plan.image], ['mask_image', plan.mask], ['hint', plan.hint], ['hint_from', plan.hintFrom], ['image_embeds', plan.imageEmbeds]];
  const given = files.filter((f): f is [string, string] => f[1] !== undefined);
  return given.length > 0 ? Object.fromEntries(given.map(([name, path]) => [name, fileRecord(path)])) : undefined;
}

/** Seeds past 2^53 are kept as their digits, so the JSON holds them exactly. */
function seedValue(seed: bigint): number | string {
  return seed >= -(2n ** 53n) && seed <= 2n ** 53n ? Number(seed) : seed.toString();
}

/** Everything needed to make the same image again, as the hosted model's input names spell it. */
async function parametersOf(plan: GeneratePlan, run: RunRecord): Promise<GenerationParameters> {
  const imageToImage = run.mode === 'img2img' || run.mode === 'controlnet_img2img';
  const own = readComponentConfig(join(run.decoder.dir, 'scheduler'), 'scheduler_config.json')._class_name;
  const scheduler = plan.scheduler ?? (Object.keys(SCHEDULERS) as SchedulerName[]).find((k) => SCHEDULERS[k] === own) ?? String(own);
  return {
    software: `kandinsky ${VERSION}`,
    mode: run.mode,
    prompt: plan.prompt,
    negative_prompt: plan.negativePrompt,
    seed: seedValue(run.seed),
    width: plan.width,
    height: plan.height,
    num_inference_steps: plan.numInferenceSteps,
    num_inference_steps_prior: run.prior ? plan.numInferenceStepsPrior : undefined,
    guidance_scale: plan.guidanceScale,
    prior_guidance_scale: run.prior ? plan.priorGuidanceScale : undefined,
    strength: imageToImage ? plan.strength : undefined,
    scheduler,
    model: await modelRecord(run.decoder, ['unet', 'movq']),
    prior: run.prior ? await modelRecord(run.prior, ['text_encoder', 'image_encoder', 'prior']) : undefined,
    depth_model: run.depthModel ? await modelRecord(run.depthModel, ['.']) : undefined,
    variant: run.variant,
    inputs: inputsOf(plan),
    mix: plan.mix.length > 0 ? plan.mix.map((m): MixRecord => ('text' in m ? { text: m.text, weight: m.weight } : { ...fileRecord(m.imagePath), weight: m.weight })) : undefined,
  };
}

/** The flags that re-run stored parameters (`generate --from`). */
export function storedFlags(p: GenerationParameters): GenerateFlags {
  const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  return {
    negativePrompt: p.negative_prompt ?? undefined,
    width: str(p.width),
    height: str(p.height),
    numInferenceSteps: str(p.num_inference_steps),
    numInferenceStepsPrior: str(p.num_inference_steps_prior),
    numOutputs: str(p.num_outputs),
    seed: str(p.seed),
    guidanceScale: str(p.guidance_scale),
    scheduler: p.scheduler,
    variant: p.variant,
    priorGuidanceScale: str(p.prior_guidance_scale),
    strength: str(p.strength),
    model: p.model?.id,
    prior: p.prior?.id,
    revision: p.model?.revision,
    image: p.inputs?.image?.file,
    mask: p.inputs?.mask_image?.file,
    hint: p.inputs?.hint?.file,
    hintFrom: p.inputs?.hint_from?.file,
    depthModel: p.depth_model?.id,
    imageEmbeds: p.inputs?.image_embeds?.file,
    mix: p.mix?.map((m) => ('text' in m ? `text:${m.text}=${m.weight}` : `image:${m.file}=${m.weight}`)),
  };
}
