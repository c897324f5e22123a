import type { Device } from '../onnx/index.js';
import type { CaseData } from './golden.js';

/** Per-run state shared by the cases: loaded sessions/tokenizers keyed by what they were built from. */
export interface RunContext {
  readonly threads?: number;
  readonly device?: Device;
  readonly cache: Map<string, Promise<{ release?: () => Promise<void> }>>;
}

/** Runs one case's inputs through the implementation; returns the outputs by their expected names. */
export type RunCase = (data: CaseData, ctx: RunContext) => Promise<Record<string, unknown>>;

/** A kind of case: the inputs its `run` reads (the runner fails a case with any other input) and the run. */
export interface KindHandler {
  readonly inputs: readonly string[];
  /** Inputs the reference is given but this implementation has no use for: a case must pass them as null. */
  readonly nullInputs?: readonly string[];
  readonly run: RunCase;
}

/** Loads something once per run (sessions are expensive), keyed by what it was loaded from. */
export function cached<T extends object>(ctx: RunContext, key: string, load: () => Promise<T> | T): Promise<T> {
  let entry = ctx.cache.get(key);
  if (!entry) {
    entry = Promise.resolve().then(load);
    ctx.cache.set(key, entry);
  }
  return entry as Promise<T>;
}
