import type { RenderedOutput } from '../models/index.js';
import type { PredictionRecord, Store } from '../types.js';
import type { WorkerConfig } from './messages.js';

/** What a runner gets besides the prediction: the cancel signal and where its log lines go. */
export interface RunnerControl {
  /** Aborted on cancel (or a lost lease): reject with AbortedError at the next chance. */
  readonly signal: AbortSignal;
  /** Appends to the prediction's logs (batched by the caller). */
  log(text: string): void;
}

/**
 * The step of a worker that turns a claimed prediction into its output files; claiming, leases, logs,
 * cancel, storing and webhooks stay the worker's. The pipelines by default; `kandinsky bench api` puts an
 * instant stand-in here, so that it measures the service and not the model.
 */
export interface PredictionRunner {
  run(p: PredictionRecord, control: RunnerControl): Promise<readonly RenderedOutput[]>;
  close(): Promise<void>;
}

/**
 * A worker child process loads its runner from a module (ServeOptions.runner) that exports `createRunner` of
 * this type: a function cannot cross into the child, a module URL can.
 */
export type CreateRunner = (config: WorkerConfig, store: Store) => PredictionRunner;

/** The runner module of the pipelines. */
export const PIPELINE_RUNNER = new URL('./pipeline-runner.js', import.meta.url);
