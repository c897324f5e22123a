import type { CaseData } from './golden.js';

/** Per-run state shared by the cases: loaded sessions/tokenizers keyed by what they were built from. */
export interface RunContext {
  readonly threads?: number;
  readonly cache: Map<string, Promise<{ release?: () => Promise<void> }>>;
}

/** Runs one case's inputs through the implementation; returns the outputs by their expected names. */
export type KindHandler = (data: CaseData, ctx: RunContext) => Promise<Record<string, unknown>>;

export const KIND_HANDLERS: Record<string, KindHandler> = {};
