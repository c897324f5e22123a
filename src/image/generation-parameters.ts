import { InputError } from '../errors.js';

/** Where a model's weights came from: a hub repo at a commit, or a local folder identified by its weights. */
export interface ModelSource {
  /** Hub repo id (`kandinsky-community/kandinsky-2-2-decoder`) or the local folder as given. */
  readonly id: string;
  /** The hub commit the weights were read from. */
  readonly revision?: string;
  /** A local folder has no revision: sha256 over its weight files instead. */
  readonly weights_sha256?: string;
}

/** An input image as it was read: its file name and the sha256 of its bytes. */
export interface InputFileDigest {
  readonly file: string;
  readonly sha256: string;
}

/** One fuse entry: a text, or an input image by file and digest, with its weight. */
export type MixRecord = { readonly text: string; readonly weight: number } | (InputFileDigest & { readonly weight: number });

/**
 * What made an image, embedded in every output. A plain JSON object whose keys are the hosted
 * model's input names (replicate-api.md) where it has one; every field is optional so that each
 * mode records only what it used.
 */
export interface GenerationParameters {
  /** text2img, img2img, inpaint, controlnet, ...: the pipeline that ran. */
  readonly mode?: string;
  readonly prompt?: string;
  readonly negative_prompt?: string;
  /** A number, or its decimal digits when beyond 2^53 (torch seeds reach 2^64). */
  readonly seed?: number | string;
  readonly width?: number;
  readonly height?: number;
  readonly num_inference_steps?: number;
  readonly num_inference_steps_prior?: number;
  readonly guidance_scale?: number;
  readonly prior_guidance_scale?: number;
  readonly strength?: number;
  /** The decoder's scheduler class, e.g. `DDPMScheduler`. */
  readonly scheduler?: string;
  readonly model?: ModelSource;
  readonly prior?: ModelSource;
  /** The depth model that made the ControlNet hint from a photo (`hint_from`). */
  readonly depth_model?: ModelSource;
  /** The UNet's weight variant (`fp16`), when one was asked for. */
  readonly variant?: string;
  /** Fuse: the texts and images mixed, in order, with their weights. */
  readonly mix?: readonly MixRecord[];
  /** Input images by the pipeline argument they filled (`image`, `mask_image`, `hint`). */
  readonly inputs?: Readonly<Record<string, InputFileDigest>>;
  readonly num_outputs?: number;
  /** This image's place among the `num_outputs` of one run, from 0. */
  readonly index?: number;
  /** `kandinsky 0.1.0`. */
  readonly software?: string;
}

type FieldKind = 'string' | 'number' | 'integer' | 'seed' | 'model' | 'inputs' | 'mix';

const FIELDS: Record<keyof GenerationParameters, FieldKind> = {
  mode: 'string',
  prompt: 'string',
  negative_prompt: 'string',
  seed: 'seed',
  width: 'integer',
  height: 'integer',
  num_inference_steps: 'integer',
  num_inference_steps_prior: 'integer',
  guidance_scale: 'number',
  prior_guidance_scale: 'number',
  strength: 'number',
  scheduler: 'string',
  model: 'model',
  prior: 'model',
  depth_model: 'model',
  variant: 'string',
  mix: 'mix',
  inputs: 'inputs',
  num_outputs: 'integer',
  index: 'integer',
  software: 'string',
};

/**
 * The one-paragraph form AUTOMATIC1111 writes (modules/processing.py `create_infotext`): the prompt,
 * a `Negative prompt:` line when there is one, then `Key: value` pairs joined by ", " with values
 * quoted as JSON strings when they hold ',', ':' or a newline. A1111's PNG Info and Civitai parse it.
 */
export function infotext(p: GenerationParameters): string {
  const pairs: [string, unknown][] = [
    ['Steps', p.num_inference_steps],
    ['Sampler', p.scheduler],
    ['CFG scale', p.guidance_scale],
    ['Seed', p.seed],
    ['Size', p.width !== undefined && p.height !== undefined ? `${p.width}x${p.height}` : undefined],
    ['Model hash', shortHash(p.model?.weights_sha256)],
    ['Model', p.model?.id],
    ['Model revision', p.model?.revision],
    ['Denoising strength', p.strength],
    ['Batch size', (p.num_outputs ?? 1) > 1 ? p.num_outputs : undefined],
    ['Batch pos', (p.num_outputs ?? 1) > 1 ? p.index : undefined],
    ['Prior steps', p.num_inference_steps_prior],
    ['Prior CFG scale', p.prior_guidance_scale],
    ['Prior hash', shortHash(p.prior?.weights_sha256)],
    ['Prior', p.prior?.id],
    ['Prior revision', p.prior?.revision],
    ['Mode', p.mode],
    ...Object.entries(p.inputs ?? {}).map(([name, input]): [string, unknown] => [`${inputLabel(name)} hash`, shortHash(input.sha256)]),
    ['Version', p.software],
  ];
  const line = pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${quote(String(v))}`).join(', ');
  const negative = p.negative_prompt ? `\nNegative prompt: ${p.negative_prompt}` : '';
  return `${p.prompt ?? ''}${negative}\n${line}`.trim();
}

/** Parses and checks the JSON form; `source` names the file (and chunk / tag) in errors. */
export function parseGenerationParameters(json: string, source: string): GenerationParameters {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new InputError(`${source}: generation parameters are not JSON (${(err as Error).message})`);
  }
  if (!isObject(value)) throw new InputError(`${source}: generation parameters must be a JSON object, got ${kindOf(value)}`);
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(FIELDS)) {
    const field = value[key];
    if (field === undefined) continue;
    if (!fits(field, kind)) throw new InputError(`${source}: generation parameter ${key} must be ${describe(kind)}, got ${kindOf(field)}`);
    out[key] = field;
  }
  return out as GenerationParameters;
}

// A1111's infotext_utils.quote.
function quote(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

// A1111 prints the first 10 hex digits of a sha256 ("shorthash").
function shortHash(sha256: string | undefined): string | undefined {
  return sha256?.slice(0, 10);
}

function inputLabel(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function fits(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isSafeInteger(value);
    case 'seed':
      return Number.isSafeInteger(value) || (typeof value === 'string' && /^-?\d{1,20}$/.test(value));
    case 'model':
      return isObject(value) && typeof value.id === 'string' && optionalString(value.revision) && optionalString(value.weights_sha256);
    case 'inputs':
      return isObject(value) && Object.values(value).every(isFileDigest);
    case 'mix':
      return Array.isArray(value) && value.every((m) => isObject(m) && typeof m.weight === 'number' && Number.isFinite(m.weight) && (typeof m.text === 'string' || isFileDigest(m)));
  }
}

function isFileDigest(v: unknown): boolean {
  return isObject(v) && typeof v.file === 'string' && typeof v.sha256 === 'string';
}

function describe(kind: FieldKind): string {
  return {
    string: 'a string',
    number: 'a finite number',
    integer: 'an integer',
    seed: 'an integer or its decimal digits',
    mix: 'a list of {text, weight} or {file, sha256, weight}',
    model: 'an object {id, revision?, weights_sha256?} of strings',
    inputs: 'an object of {file, sha256} strings',
  }[kind];
}

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
