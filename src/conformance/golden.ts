import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
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
  readonly modelsDir: string;
  readonly cases: readonly GoldenCase[];
}

export function readGoldenSet(dir: string): GoldenSet {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new ConfigError(`${dir}: no manifest.json (not a golden set)`);
  // Integers beyond 2^53 (seeds may be any uint64) would lose digits as JSON numbers: keep them as strings.
  const text = readFileSync(path, 'utf8').replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"');
  const manifest = JSON.parse(text) as { format?: string; models_dir?: string; cases?: GoldenCase[] };
  if (manifest.format !== 'kandinsky-golden/1') {
    throw new ConfigError(`${path}: format ${JSON.stringify(manifest.format)}, expected "kandinsky-golden/1"`);
  }
  const modelsDir = manifest.models_dir ?? '../models';
  return {
    dir: resolve(dir),
    modelsDir: isAbsolute(modelsDir) ? modelsDir : resolve(dir, modelsDir),
    cases: manifest.cases ?? [],
  };
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
    if (!info) throw new ConfigError(`case ${this.c.name}: tensor "${key}" not in ${this.c.tensors}`);
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

/** The golden comparison rule: same shape; floats within max_abs (no NaN); integers and JSON exactly equal. */
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
        const a = act.data;
        for (let i = 0; i < exp.data.length; i++) {
          if (BigInt(a[i] as number | bigint) !== exp.data[i]) {
            return { ok: false, maxAbs, detail: `${name}[${i}] = ${a[i]}, expected ${exp.data[i]}` };
          }
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
