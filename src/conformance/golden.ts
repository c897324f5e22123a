import { isAbsolute, join, resolve } from 'node:path';
import { readJsonObject, showJson } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { formatShape, tensor, type Float32Tensor, type Int64Tensor, type Tensor } from '../tensor/index.js';
import { isFloatDType, readFloat32, readInt64, readSafetensors, type TensorInfo } from '../weights/index.js';

// A golden set in format kandinsky-golden/1 (fixtures/golden/README.md): a manifest of cases, each with
// inputs and expected outputs stored as plain JSON, tensors in a per-case safetensors file, or PNG paths.

export interface GoldenCase {
  readonly name: string;
  readonly kind: string;
  readonly model?: string;
  readonly component?: string;
  readonly tensors?: string;
  readonly inputs: Record<string, unknown>;
  readonly expected: Record<string, unknown>;
  readonly tolerance: { readonly max_abs: number };
  readonly [field: string]: unknown;
}

export interface GoldenSet {
  readonly dir: string;
  /** The manifest.json, for messages. */
  readonly manifest: string;
  readonly modelsDir: string;
  readonly cases: readonly GoldenCase[];
}

// Case fields that name something to load: a path, or a variant of the weights.
const STRING_FIELDS = ['model', 'component', 'tensors', 'variant', 'prior_model'] as const;

/** The set in `dir`, its manifest checked whole before any case runs. */
export function readGoldenSet(dir: string): GoldenSet {
  const path = join(dir, 'manifest.json');
  // Seeds may be any uint64: integers beyond 2^53 would lose digits as JSON numbers.
  const manifest = readJsonObject(path, 'golden manifest', { largeIntegersAsStrings: true });
  if (manifest.format !== 'kandinsky-golden/1') {
    throw new ConfigError(`${path}: field "format" is ${showJson(manifest.format)}, expected "kandinsky-golden/1"`);
  }
  const modelsDir = manifest.models_dir ?? '../models';
  if (typeof modelsDir !== 'string') throw new ConfigError(`${path}: field "models_dir" is ${showJson(modelsDir)}, expected a folder path`);
  if (!Array.isArray(manifest.cases)) throw new ConfigError(`${path}: field "cases" is ${showJson(manifest.cases)}, expected an array of case objects`);
  const names = new Set<string>();
  const cases = manifest.cases.map((value, index) => {
    const c = checkCase(value, path, index);
    if (names.has(c.name)) throw new ConfigError(`${path}: case "${c.name}" (#${index}): the name is taken by an earlier case; names must be unique`);
    names.add(c.name);
    return c;
  });
  return {
    dir: resolve(dir),
    manifest: resolve(path),
    modelsDir: isAbsolute(modelsDir) ? modelsDir : resolve(dir, modelsDir),
    cases,
  };
}

/** One case of the manifest, refused unless the fields the runner reads have their documented types. */
function checkCase(value: unknown, path: string, index: number): GoldenCase {
  if (!isObject(value)) throw new ConfigError(`${path}: case #${index} is ${showJson(value)}, expected an object`);
  if (typeof value.name !== 'string' || value.name === '') {
    throw new ConfigError(`${path}: case #${index}: field "name" is ${showJson(value.name)}, expected a non-empty string`);
  }
  const refuse = (field: string, got: unknown, expected: string) =>
    new ConfigError(`${path}: case "${value.name}": field "${field}" is ${showJson(got)}, expected ${expected}`);
  if (typeof value.kind !== 'string') throw refuse('kind', value.kind, 'a string');
  for (const field of STRING_FIELDS) {
    if (value[field] !== undefined && typeof value[field] !== 'string') throw refuse(field, value[field], 'a string');
  }
  for (const field of ['inputs', 'expected']) {
    if (!isObject(value[field])) throw refuse(field, value[field], 'an object of named values');
  }
  const tolerance = value.tolerance;
  if (!isObject(tolerance)) throw refuse('tolerance', tolerance, '{"max_abs": a non-negative number}');
  if (typeof tolerance.max_abs !== 'number' || !(tolerance.max_abs >= 0 && Number.isFinite(tolerance.max_abs))) {
    throw refuse('tolerance.max_abs', tolerance.max_abs, 'a non-negative number');
  }
  return value as GoldenCase;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A case with its values decoded: tensors loaded, image paths made absolute. */
export class CaseData {
  private readonly stored: Map<string, TensorInfo>;

  constructor(readonly set: GoldenSet, readonly c: GoldenCase) {
    this.stored = c.tensors ? new Map(readSafetensors(join(set.dir, c.tensors)).tensors.map((t) => [t.name, t])) : new Map();
  }

  /** Repo folder of the case's model (or of another field naming a repo, e.g. prior_model). */
  modelDir(field: 'model' | 'prior_model' = 'model'): string {
    const rel = this.c[field];
    if (typeof rel !== 'string') throw new ConfigError(`case ${this.c.name}: no "${field}"`);
    return join(this.set.modelsDir, rel);
  }

  componentDir(): string {
    if (!this.c.component) throw new ConfigError(`case ${this.c.name}: no "component"`);
    return join(this.modelDir(), this.c.component);
  }

  input(name: string): unknown {
    if (!(name in this.c.inputs)) throw new ConfigError(`case ${this.c.name}: missing input "${name}"`);
    return this.c.inputs[name];
  }

  /** A `{"tensor": key}` value as a tensor: float tensors as float32, integer/bool tensors as int64. */
  tensor(value: unknown): Tensor {
    const key = (value as { tensor?: string } | null)?.tensor;
    if (typeof key !== 'string') throw new ConfigError(`case ${this.c.name}: expected {"tensor": ...}, got ${JSON.stringify(value)}`);
    const info = this.stored.get(key);
    if (!info) throw new ConfigError(`case ${this.c.name}: tensor "${key}" not in ${this.c.tensors ?? 'its tensors file (the case names none)'}`);
    return isFloatDType(info.dtype) ? tensor(readFloat32(info), info.shape) : tensor(readInt64(info), info.shape);
  }

  floatInput(name: string): Float32Tensor {
    return this.tensor(this.input(name)) as Float32Tensor;
  }

  intInput(name: string): Int64Tensor {
    return this.tensor(this.input(name)) as Int64Tensor;
  }

  isTensor(value: unknown): boolean {
    return typeof (value as { tensor?: unknown } | null)?.tensor === 'string';
  }

  /** Absolute path of an `{"image": path}` value. */
  imagePath(value: unknown): string {
    const rel = (value as { image?: string } | null)?.image;
    if (typeof rel !== 'string') throw new ConfigError(`case ${this.c.name}: expected {"image": ...}, got ${JSON.stringify(value)}`);
    return join(this.set.dir, rel);
  }

  expected(name: string): unknown {
    return this.c.expected[name];
  }
}

export interface Comparison {
  readonly ok: boolean;
  /** Largest |actual - expected| over the float outputs (0 for exact kinds). */
  readonly maxAbs: number;
  readonly detail?: string;
}

/**
 * The golden comparison rule: same shape; floats within max_abs (no NaN); integers within max_abs too, which is
 * exact for every tolerance below 1; JSON exactly equal.
 */
export function compareOutputs(data: CaseData, actual: Record<string, unknown>): Comparison {
  let maxAbs = 0;
  const tol = data.c.tolerance.max_abs;
  for (const [name, want] of Object.entries(data.c.expected)) {
    const got = actual[name];
    if (got === undefined) return { ok: false, maxAbs, detail: `output "${name}" missing` };
    if (data.isTensor(want)) {
      const exp = data.tensor(want);
      const act = got as Tensor;
      if (!act?.shape || act.shape.length !== exp.shape.length || act.shape.some((d, i) => d !== exp.shape[i])) {
        return { ok: false, maxAbs, detail: `${name}: shape ${formatShape(act?.shape ?? [])}, expected ${formatShape(exp.shape)}` };
      }
      if (exp.data instanceof BigInt64Array) {
        // Exact unless the tolerance allows whole steps (uint8 levels of a depth map, golden-depth README).
        const a = act.data;
        for (let i = 0; i < exp.data.length; i++) {
          const d = BigInt(a[i] as number | bigint) - exp.data[i];
          const abs = Number(d < 0n ? -d : d);
          if (abs > tol) return { ok: false, maxAbs, detail: `${name}[${i}] = ${a[i]}, expected ${exp.data[i]}` };
          if (abs > maxAbs) maxAbs = abs;
        }
        continue;
      }
      const a = act.data as Float32Array;
      const e = exp.data as Float32Array;
      for (let i = 0; i < e.length; i++) {
        const d = Math.abs(a[i] - e[i]);
        if (Number.isNaN(d)) return { ok: false, maxAbs: NaN, detail: `${name}[${i}] is NaN` };
        if (d > maxAbs) maxAbs = d;
      }
    } else if (JSON.stringify(got) !== JSON.stringify(want)) {
      return { ok: false, maxAbs, detail: `${name}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}` };
    }
  }
  return maxAbs <= tol ? { ok: true, maxAbs } : { ok: false, maxAbs, detail: `max abs error ${maxAbs} > ${tol}` };
}
