import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { readJsonObject } from '../config/index.js';
import { ConfigError, type KandinskyError, WeightsError } from '../errors.js';
import { fileKind } from './file-read.js';
import { snapshotBlobsDir } from './hf-cache.js';
import { readPytorchCheckpoint } from './pytorch-checkpoint.js';
import { quoted } from './safetensors-header.js';
import { readSafetensors } from './safetensors.js';
import { MAX_TENSORS, type Checkpoint, type TensorInfo } from './tensor-info.js';

// The published layout: <repo>/model_index.json names the components; each component folder holds
// config.json and one weight file (or shards + an index), named by diffusers or transformers conventions.
const WEIGHT_BASENAMES = ['diffusion_pytorch_model', 'model', 'pytorch_model'];

type Reader = (path: string) => TensorInfo[];

const readers: Record<'safetensors' | 'bin', Reader> = {
  safetensors: (path) => readSafetensors(path).tensors,
  bin: readPytorchCheckpoint,
};

export interface ModelIndex {
  readonly className: string;
  /** component name -> [library, class], e.g. unet -> ["diffusers", "UNet2DConditionModel"]. */
  readonly components: ReadonlyMap<string, readonly [string, string]>;
}

export function readModelIndex(repoDir: string): ModelIndex {
  const path = join(repoDir, 'model_index.json');
  const json = readJsonObject(path, 'model_index.json (is this a diffusers model folder?)');
  const components = new Map<string, readonly [string, string]>();
  for (const [key, value] of Object.entries(json)) {
    if (key.startsWith('_')) continue;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string' || v === null)) {
      components.set(key, [String(value[0]), String(value[1])]);
    }
  }
  return { className: String(json._class_name ?? ''), components };
}

export interface ComponentOptions {
  /** Load `<name>.<variant>.<ext>` files, e.g. "fp16". */
  variant?: string;
}

/** Finds and indexes the weights of one component folder: safetensors preferred, `.bin` otherwise. */
export function loadCheckpoint(componentDir: string, options: ComponentOptions = {}): Checkpoint {
  if (!existsSync(componentDir) || !statSync(componentDir).isDirectory()) {
    throw new ConfigError(`${componentDir}: component folder not found`);
  }
  const files = new Set(readdirSync(componentDir));
  for (const ext of ['safetensors', 'bin'] as const) {
    for (const base of WEIGHT_BASENAMES) {
      const found = findWeights(componentDir, files, base, ext, options.variant);
      if (found) return indexTensors(componentDir, found, readers[ext]);
    }
  }
  const wanted = options.variant ? ` for variant "${options.variant}"` : '';
  const weightFiles = [...files].filter((f) => /\.(safetensors|bin|json)$/.test(f) && f !== 'config.json');
  throw new WeightsError(
    `${componentDir}: no weight file${wanted} (looked for ${WEIGHT_BASENAMES.map((b) => `${b}${options.variant ? `.${options.variant}` : ''}.safetensors`).join(', ')}, their .bin and sharded index forms); found: ${weightFiles.join(', ') || 'nothing'}`,
  );
}

function findWeights(dir: string, files: Set<string>, base: string, ext: string, variant?: string): string[] | undefined {
  const v = variant ? `.${variant}` : '';
  const single = `${base}${v}.${ext}`;
  if (files.has(single)) return [componentFile(dir, single, join(dir, single), WeightsError)];
  for (const index of [`${base}.${ext}.index${v}.json`, `${base}${v}.${ext}.index.json`]) {
    if (files.has(index)) return shardsOf(dir, componentFile(dir, index, join(dir, index), WeightsError));
  }
  return undefined;
}

/** The shard files a sharded checkpoint's index (`weight_map`: tensor name -> shard file name) names. */
function shardsOf(dir: string, indexPath: string): string[] {
  const map = readJsonObject(indexPath, 'sharded checkpoint index').weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new WeightsError(`${indexPath}: sharded index has no "weight_map" object of tensor name -> shard file`);
  }
  const entries = Object.entries(map);
  if (entries.length > MAX_TENSORS) throw new WeightsError(`${indexPath}: weight_map lists ${entries.length} tensors, more than the ${MAX_TENSORS} a checkpoint may hold`);
  const shards = new Map<string, string>();
  for (const [tensor, shard] of entries) {
    const where = `${indexPath}: weight_map entry ${quoted(tensor)}`;
    if (typeof shard !== 'string') throw new WeightsError(`${where} must name a shard file, found ${kindOf(shard)}`);
    if (shards.has(shard)) continue;
    const subject = `${where}: shard ${quoted(shard)}`;
    if (isPlainName(shard) && !lstatSync(join(dir, shard), { throwIfNoEntry: false })) throw new WeightsError(`${subject} is listed but missing`);
    shards.set(shard, componentFile(dir, shard, subject, WeightsError));
  }
  return [...shards.values()];
}

/**
 * `name` in the component folder `dir`, refused (naming `subject`) unless it is a plain file name whose real path
 * is a regular file inside `dir` — or, in a Hugging Face cache snapshot, whose files are links into
 * `models--{org}--{name}/blobs/`, inside that blobs folder. So neither an index naming "../../x" or "/x" nor a
 * link leading elsewhere (as an unpacked archive may hold) makes us read a file outside the model, whose bytes
 * an error message could then show. A missing file is left to the reader to report.
 */
function componentFile(dir: string, name: string, subject: string, Refusal: new (message: string) => KandinskyError): string {
  if (!isPlainName(name)) throw new Refusal(`${subject} is not a file name inside the component folder ${dir}`);
  const path = join(dir, name);
  if (!lstatSync(path, { throwIfNoEntry: false })) return path;
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new Refusal(`${subject} cannot be resolved (${(err as Error).message})`);
  }
  const realDir = realpathSync(dir);
  const blobs = snapshotBlobsDir(realDir);
  if (!isInside(realDir, real) && !(blobs !== undefined && isInside(blobs, real))) {
    throw new Refusal(`${subject} is a link leading outside the component folder (to ${real}); only a Hugging Face cache snapshot's links into its blobs/ folder are followed`);
  }
  const stats = statSync(real);
  if (!stats.isFile()) throw new Refusal(`${subject} is ${fileKind(stats)}, not a regular file`);
  return path;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[\\/\0]/.test(name);
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel);
}

function indexTensors(source: string, paths: string[], read: Reader): Checkpoint {
  const tensors = new Map<string, TensorInfo>();
  for (const path of paths) {
    for (const t of read(path)) {
      if (tensors.has(t.name)) throw new WeightsError(`${path}: tensor "${t.name}" also appears in ${tensors.get(t.name)!.file}`);
      tensors.set(t.name, t);
    }
  }
  return { source, tensors };
}

/** A component's config.json. */
export function readComponentConfig(componentDir: string, file = 'config.json'): Record<string, unknown> {
  const path = componentFile(componentDir, file, join(componentDir, file), ConfigError);
  return readJsonObject(path, `${file} of component "${componentDir}"`);
}
