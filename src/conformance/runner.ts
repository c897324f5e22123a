import { showJson } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { Device } from '../onnx/index.js';
import { CaseData, compareOutputs, readGoldenSet, type GoldenCase, type GoldenSet } from './golden.js';
import type { KindHandler, RunContext } from './context.js';
import { KIND_HANDLERS } from './kinds.js';

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

/**
 * Runs every case of a golden set (or those of the kinds named) and compares by the golden rule.
 * A run in which no case ran proves nothing and is refused.
 */
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
  if (results.length === 0) throw noCaseRan(set, options);
  const passed = results.filter((r) => r.ok).length;
  return { results, leftOut, passed, failed: results.length - passed };
}

function noCaseRan(set: GoldenSet, { kinds, filter }: ConformanceOptions): ConfigError {
  const selection = [kinds && `is of kind ${kinds.join(', ') || '(none given)'}`, filter && `has a name matching ${filter}`].filter(Boolean).join(' and ');
  const why = set.cases.length === 0 ? 'it has no cases' : `none of its ${set.cases.length} cases ${selection}`;
  return new ConfigError(`${set.manifest}: no case ran: ${why}`);
}

async function runCase(set: GoldenSet, c: GoldenCase, ctx: RunContext): Promise<CaseResult> {
  const started = performance.now();
  const base = { name: c.name, kind: c.kind, tolerance: c.tolerance.max_abs };
  const handler = KIND_HANDLERS[c.kind];
  const refused = handler === undefined ? `unknown kind "${c.kind}"` : refusal(c, handler);
  if (refused !== undefined) return { ...base, ok: false, maxAbs: NaN, seconds: 0, detail: refused };
  try {
    const data = new CaseData(set, c);
    const actual = await handler.run(data, ctx);
    const cmp = compareOutputs(data, actual);
    return { ...base, ok: cmp.ok, maxAbs: cmp.maxAbs, seconds: (performance.now() - started) / 1000, detail: cmp.detail };
  } catch (err) {
    return { ...base, ok: false, maxAbs: NaN, seconds: (performance.now() - started) / 1000, detail: `could not run: ${(err as Error).message}` };
  }
}

/** Why a case cannot pass whatever the implementation computes: nothing to compare, or an input the kind ignores. */
function refusal(c: GoldenCase, handler: KindHandler): string | undefined {
  if (Object.keys(c.expected).length === 0) return 'no expected output ("expected" is empty), so nothing would be checked';
  for (const [name, value] of Object.entries(c.inputs)) {
    if (handler.nullInputs?.includes(name)) {
      if (value !== null) return `input "${name}" is ${showJson(value)}, expected null: kind ${c.kind} does not use it`;
    } else if (!handler.inputs.includes(name)) {
      return `input "${name}" is not read by kind ${c.kind} (its inputs: ${handler.inputs.join(', ')})`;
    }
  }
  return undefined;
}

export function formatResult(r: CaseResult): string {
  const err = Number.isNaN(r.maxAbs) ? '-' : r.maxAbs.toExponential(2);
  const line = `${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(40)} ${r.kind.padEnd(22)} max_abs ${err.padStart(9)}  tol ${r.tolerance.toExponential(0).padStart(6)}  ${r.seconds.toFixed(2)}s`;
  return r.detail && !r.ok ? `${line}\n      ${r.detail}` : line;
}
