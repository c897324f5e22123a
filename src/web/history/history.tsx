import type { Api, Model, Prediction } from '../api.js';

// STUB (replaced by the history helper).

export interface HistoryProps {
  readonly api: Api;
  readonly models: readonly Model[];
  /** Show a prediction with its inputs in the form. */
  onOpen(p: Prediction): void;
  /** Run a prediction's model again with these inputs (its own, or with another seed). */
  onRun(p: Prediction, input: Record<string, unknown>): void;
}

export function History(_props: HistoryProps) {
  return <section aria-label="History">History</section>;
}
