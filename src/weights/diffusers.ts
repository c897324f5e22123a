import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJsonObject } from '../config/index.js';
import { ConfigError, WeightsError } from '../errors.js';
import { readPytorchCheckpoint } from './pytorch-checkpoint.js';
import { readSafetensors } from './safetensors.js';
import type { Checkpoint, TensorInfo } from './tensor-info.js';

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
  if (files.has(single)) return [join(dir, single)];
  for (const index of [`${base}.${ext}.index${v}.json`, `${base}${v}.${ext}.index.json`]) {
    if (files.has(index)) return shardsOf(join(dir, index));
  }
  return undefined;
}

function shardsOf(indexPath: string): string[] {
  const index = readJsonObject(indexPath, 'sharded checkpoint index');
  const map = index.weight_map;
  if (!map || typeof map !== 'object') throw new WeightsError(`${indexPath}: sharded index has no "weight_map"`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>).map(String))];
  const dir = dirname(indexPath);
  for (const shard of shards) {
    if (!existsSync(join(dir, shard))) throw new WeightsError(`${indexPath}: shard "${shard}" is listed but missing`);
  }
  return shards.map((s) => join(dir, s));
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
  return readJsonObject(join(componentDir, file), `${file} of component "${componentDir}"`);
}
