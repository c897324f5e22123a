import type { Api, Prediction } from '../api.js';

// STUB (replaced by the run helper).

export interface RunPanelProps {
  readonly api: Api;
  /** The prediction shown (the last run, or one opened from the history); null before the first. */
  readonly prediction: Prediction | null;
  /** The prediction as polled (or after a cancel), until it ends. */
  onChange(p: Prediction): void;
}

export function RunPanel({ prediction }: RunPanelProps) {
  return <section class="panel" aria-label="Result">{prediction ? prediction.status : 'Nothing run yet'}</section>;
}
