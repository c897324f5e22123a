import type { Device } from '../onnx/index.js';
import { CaseData, compareOutputs, readGoldenSet, type GoldenCase } from './golden.js';
import { KIND_HANDLERS, type KindHandler, type RunContext } from './kinds.js';
import { PIPELINE_KIND_HANDLERS } from './pipeline-kinds.js';

export interface CaseResult {
  readonly name: string;
  readonly kind: string;
  readonly ok: boolean;
  readonly maxAbs: number;
  readonly tolerance: number;
  readonly seconds: number;
  readonly detail?: string;
}

export interface ConformanceOptions {
  /** Run only cases of these kinds; the others are counted as left out. */
  kinds?: readonly string[];
  /** Run only cases whose name matches. */
  filter?: RegExp;
  threads?: number;
  device?: Device;
  onResult?: (r: CaseResult) => void;
}

export interface ConformanceReport {
  readonly results: readonly CaseResult[];
  /** kind -> number of cases not run because of `kinds`. */
  readonly leftOut: ReadonlyMap<string, number>;
  readonly passed: number;
  readonly failed: number;
}

/** Runs every case of a golden set (or those of the kinds named) and compares by the golden rule. */
export async function runConformance(dir: string, options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const set = readGoldenSet(dir);
  const ctx: RunContext = { threads: options.threads, device: options.device, cache: new Map() };
  const results: CaseResult[] = [];
  const leftOut = new Map<string, number>();
  try {
    for (const c of set.cases) {
      if (options.filter && !options.filter.test(c.name)) continue;
      if (options.kinds && !options.kinds.includes(c.kind)) {
        leftOut.set(c.kind, (leftOut.get(c.kind) ?? 0) + 1);
        continue;
      }
      const result = await runCase(set, c, ctx);
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    // A load that failed was already reported by its case; only what loaded is released.
    for (const loaded of ctx.cache.values()) await (await loaded.catch(() => undefined))?.release?.();
  }
  const passed = results.filter((r) => r.ok).length;
  return { results, leftOut, passed, failed: results.length - passed };
}

async function runCase(set: ReturnType<typeof readGoldenSet>, c: GoldenCase, ctx: RunContext): Promise<CaseResult> {
  const started = performance.now();
  const base = { name: c.name, kind: c.kind, tolerance: c.tolerance?.max_abs ?? 0 };
  const handler: KindHandler | undefined = KIND_HANDLERS[c.kind] ?? (PIPELINE_KIND_HANDLERS as Record<string, KindHandler>)[c.kind];
  if (!handler) return { ...base, ok: false, maxAbs: NaN, seconds: 0, detail: `unknown kind "${c.kind}"` };
  try {
    const data = new CaseData(set, c);
    const actual = await handler(data, ctx);
    const cmp = compareOutputs(data, actual);
    return { ...base, ok: cmp.ok, maxAbs: cmp.maxAbs, seconds: (performance.now() - started) / 1000, detail: cmp.detail };
  } catch (err) {
    return { ...base, ok: false, maxAbs: NaN, seconds: (performance.now() - started) / 1000, detail: `could not run: ${(err as Error).message}` };
  }
}

export function formatResult(r: CaseResult): string {
  const err = Number.isNaN(r.maxAbs) ? '-' : r.maxAbs.toExponential(2);
  const line = `${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(40)} ${r.kind.padEnd(22)} max_abs ${err.padStart(9)}  tol ${r.tolerance.toExponential(0).padStart(6)}  ${r.seconds.toFixed(2)}s`;
  return r.detail && !r.ok ? `${line}\n      ${r.detail}` : line;
}
