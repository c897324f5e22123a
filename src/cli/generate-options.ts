import { extname } from 'node:path';
import { InputError } from '../errors.js';
import { SCHEDULERS, type SchedulerName } from '../pipelines/index.js';

// `kandinsky generate`'s flags, checked before any work: every refusal names the flag and what it expects.

export type OutputFormat = 'png' | 'jpeg' | 'webp';

/** The flags as commander hands them over (strings; repeated flags as lists). */
export interface GenerateFlags {
  negativePrompt?: string;
  width?: string;
  height?: string;
  numInferenceSteps?: string;
  steps?: string;
  numInferenceStepsPrior?: string;
  priorSteps?: string;
  numOutputs?: string;
  seed?: string;
  guidanceScale?: string;
  priorGuidanceScale?: string;
  scheduler?: string;
  outputFormat?: string;
  quality?: string;
  out?: string;
  model?: string;
  prior?: string;
  revision?: string;
  variant?: string;
  device?: string;
  threads?: string;
  memoryBudget?: string;
  image?: string;
  strength?: string;
  mask?: string;
  hint?: string;
  hintFrom?: string;
  depthModel?: string;
  mix?: string[];
  imageEmbeds?: string;
  from?: string;
}

export type MixSpec = { readonly text: string; readonly weight: number } | { readonly imagePath: string; readonly weight: number };

/** What the flags ask for, checked and with the defaults filled in. */
export interface GeneratePlan {
  readonly prompt?: string;
  readonly negativePrompt?: string;
  readonly width: number;
  readonly height: number;
  readonly numInferenceSteps: number;
  readonly numInferenceStepsPrior: number;
  readonly numOutputs: number;
  readonly seed?: bigint;
  readonly guidanceScale: number;
  readonly priorGuidanceScale: number;
  readonly scheduler?: SchedulerName;
  readonly format: OutputFormat;
  readonly quality?: number;
  readonly out?: string;
  readonly image?: string;
  readonly strength: number;
  readonly mask?: string;
  readonly hint?: string;
  /** A photo whose estimated depth map is the hint. */
  readonly hintFrom?: string;
  readonly depthModel?: string;
  readonly mix: readonly MixSpec[];
  readonly imageEmbeds?: string;
  readonly threads?: number;
  readonly memoryBudget?: number;
}

export const DEFAULT_DECODER = 'kandinsky-community/kandinsky-2-2-decoder';
export const DEFAULT_INPAINT_DECODER = 'kandinsky-community/kandinsky-2-2-decoder-inpaint';
export const DEFAULT_CONTROLNET_DECODER = 'kandinsky-community/kandinsky-2-2-controlnet-depth';

const EXTENSIONS: Record<string, OutputFormat> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp' };

function number(flag: string, value: string | undefined, fallback: number, check: (n: number) => boolean, expected: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InputError(`${flag} must be ${expected}, got "${value}"`);
  return n;
}

const integerIn = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max;

/** A side of the image: a multiple of 64 from 384 to 2048, as the published models are used. */
function side(flag: string, value: string | undefined): number {
  return number(flag, value, 512, (n) => integerIn(384, 2048)(n) && n % 64 === 0, 'a multiple of 64 from 384 to 2048');
}

/** `text:PROMPT=WEIGHT` or `image:PATH=WEIGHT`; the weight follows the last `=`. */
export function parseMix(entry: string): MixSpec {
  const m = /^(text|image):(.*)=([^=]*)$/s.exec(entry);
  if (!m) throw new InputError(`--mix "${entry}": expected text:PROMPT=WEIGHT or image:PATH=WEIGHT`);
  const weight = Number(m[3]);
  if (m[3].trim() === '' || !Number.isFinite(weight)) throw new InputError(`--mix "${entry}": the weight "${m[3]}" is not a number`);
  if (m[2] === '') throw new InputError(`--mix "${entry}": the ${m[1] === 'text' ? 'prompt' : 'image path'} is empty`);
  return m[1] === 'text' ? { text: m[2], weight } : { imagePath: m[2], weight };
}

/** Bytes from `8GiB`, `512MiB`, `8G` or a plain number of bytes. */
export function parseBytes(flag: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(value);
  if (!m) throw new InputError(`${flag} must be a size such as 8GiB or 512MiB, got "${value}"`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const scale = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit as 'b'] ?? 1;
  return Math.floor(Number(m[1]) * scale);
}

function outputFormat(flags: GenerateFlags): OutputFormat {
  const fromExt = flags.out ? EXTENSIONS[extname(flags.out).toLowerCase()] : undefined;
  if (flags.outputFormat !== undefined) {
    const f = flags.outputFormat.toLowerCase() === 'jpg' ? 'jpeg' : flags.outputFormat.toLowerCase();
    if (f !== 'png' && f !== 'jpeg' && f !== 'webp') throw new InputError(`--output-format must be png, jpeg or webp, got "${flags.outputFormat}"`);
    if (fromExt && fromExt !== f) throw new InputError(`--out ${flags.out} is a ${fromExt} name but --output-format is ${f}`);
    return f;
  }
  if (flags.out && extname(flags.out) && !fromExt) {
    throw new InputError(`--out ${flags.out}: unknown image extension "${extname(flags.out)}" (use .png, .jpg, .jpeg or .webp, or --output-format)`);
  }
  return fromExt ?? 'webp';
}

/** Checks every flag and fills the defaults; `prompt` may be absent only for --mix. */
export function planGeneration(prompt: string | undefined, flags: GenerateFlags): GeneratePlan {
  const steps = flags.numInferenceSteps ?? flags.steps;
  const priorSteps = flags.numInferenceStepsPrior ?? flags.priorSteps;
  const plan: GeneratePlan = {
    prompt,
    negativePrompt: flags.negativePrompt,
    width: side('--width', flags.width),
    height: side('--height', flags.height),
    numInferenceSteps: number('--num-inference-steps', steps, 75, integerIn(1, 1000), 'an integer from 1 to 1000'),
    numInferenceStepsPrior: number('--num-inference-steps-prior', priorSteps, 25, integerIn(2, 1000), 'an integer from 2 to 1000 (the prior schedule needs two steps)'),
    numOutputs: number('--num-outputs', flags.numOutputs, 1, integerIn(1, 16), 'an integer from 1 to 16'),
    seed: flags.seed === undefined ? undefined : seed(flags.seed),
    guidanceScale: number('--guidance-scale', flags.guidanceScale, 4, (n) => n >= 0 && n <= 100, 'a number from 0 to 100'),
    priorGuidanceScale: number('--prior-guidance-scale', flags.priorGuidanceScale, 4, (n) => n >= 0 && n <= 100, 'a number from 0 to 100'),
    scheduler: scheduler(flags.scheduler),
    format: outputFormat(flags),
    quality: flags.quality === undefined ? undefined : number('--quality', flags.quality, 0, integerIn(1, 100), 'an integer from 1 to 100'),
    out: flags.out,
    image: flags.image,
    strength: number('--strength', flags.strength, 0.3, (n) => n > 0 && n <= 1, 'a number above 0 and at most 1'),
    mask: flags.mask,
    hint: flags.hint,
    hintFrom: flags.hintFrom,
    depthModel: flags.depthModel,
    mix: (flags.mix ?? []).map(parseMix),
    imageEmbeds: flags.imageEmbeds,
    threads: flags.threads === undefined ? undefined : number('--threads', flags.threads, 0, integerIn(1, 1024), 'a positive integer'),
    memoryBudget: flags.memoryBudget === undefined ? undefined : parseBytes('--memory-budget', flags.memoryBudget),
  };
  checkModes(plan);
  return plan;
}

function seed(value: string): bigint {
  if (!/^-?\d+$/.test(value.trim())) throw new InputError(`--seed must be an integer, got "${value}"`);
  const s = BigInt(value.trim());
  if (s < -(2n ** 63n) || s >= 2n ** 64n) throw new InputError(`--seed must be in [-2^63, 2^64), got ${value}`);
  return s;
}

function scheduler(value: string | undefined): SchedulerName | undefined {
  if (value === undefined) return undefined;
  if (!(value in SCHEDULERS)) throw new InputError(`--scheduler must be one of ${Object.keys(SCHEDULERS).join(', ')}, got "${value}"`);
  return value as SchedulerName;
}

const FLAG_NAMES: Record<string, string> = { imageEmbeds: 'image-embeds', hintFrom: 'hint-from' };

/** Which inputs go together: img2img (+ControlNet), inpainting, ControlNet, fuse, given embeddings. */
function checkModes(p: GeneratePlan): void {
  if (p.mask && !p.image) throw new InputError('--mask needs --image (the picture to inpaint)');
  if (p.hint && p.hintFrom) throw new InputError('--hint and --hint-from cannot be combined (a depth map, or a photo to estimate one from)');
  if (p.depthModel && !p.hintFrom) throw new InputError('--depth-model needs --hint-from (the photo whose depth it estimates)');
  if (p.mask && (p.hint || p.hintFrom)) {
    throw new InputError(`--mask and --${p.hint ? 'hint' : 'hint-from'} cannot be combined (inpainting and ControlNet are different decoders)`);
  }
  if (p.mix.length > 0) {
    const other = ['image', 'mask', 'hint', 'hintFrom', 'imageEmbeds'].find((k) => p[k as keyof GeneratePlan] !== undefined);
    if (other) throw new InputError(`--mix cannot be combined with --${FLAG_NAMES[other] ?? other}`);
    if (p.prompt !== undefined) throw new InputError('with --mix, give the texts as --mix text:PROMPT=WEIGHT entries, not as the prompt');
  } else if (p.prompt === undefined && p.imageEmbeds === undefined) {
    throw new InputError('a prompt is required (or --mix entries, or --image-embeds)');
  }
  if (p.imageEmbeds !== undefined && p.prompt !== undefined) throw new InputError('--image-embeds replaces the prompt: give one or the other');
  if (p.image) {
    const init = Math.min(Math.trunc(p.numInferenceSteps * p.strength), p.numInferenceSteps);
    if (init < 1 && !p.mask) throw new InputError(`--strength ${p.strength} with ${p.numInferenceSteps} steps leaves no denoising step (int(steps x strength) = 0)`);
  }
}

/** The paths of `count` outputs: `--out` for one image, `NAME-i.EXT` for several; by default `out-{i}.{format}`. */
export function outputPaths(plan: GeneratePlan, count: number, exists: (path: string) => boolean): string[] {
  const ext = plan.format === 'jpeg' ? 'jpg' : plan.format;
  if (plan.out) {
    if (count === 1) return [plan.out];
    const e = extname(plan.out);
    const base = e ? plan.out.slice(0, -e.length) : plan.out;
    return Array.from({ length: count }, (_, i) => `${base}-${i}${e || `.${ext}`}`);
  }
  // Default names never overwrite an earlier run's images: the first free run of indices is taken.
  for (let start = 0; ; start++) {
    const paths = Array.from({ length: count }, (_, i) => `out-${start + i}.${ext}`);
    if (!paths.some(exists)) return paths;
  }
}
