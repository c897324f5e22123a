import type { Device } from '../../onnx/index.js';

// What the API process's supervisor and its worker child say to each other over the fork's IPC channel.

/** How the child is configured: passed in its environment, as JSON. */
export interface WorkerConfig {
  /** `sqlite` (in dataDir) or a `postgres://` URL. */
  readonly store: string;
  readonly dataDir: string;
  readonly modelsDir?: string;
  readonly memoryBudget?: number;
  readonly threads?: number;
  readonly device?: Device;
  /** The API's public origin: the URLs in webhook bodies, and which image URLs are this server's files. */
  readonly publicUrl: string;
  /** The URL of the module whose `createRunner` runs each prediction (see runner.ts); default the pipelines. */
  readonly runner?: string;
}

/** How a worker runs its generations: the flags `serve` and `kandinsky worker` share. */
export interface WorkerOptions {
  readonly memoryBudget?: number;
  readonly threads?: number;
  readonly device?: Device;
  /** Seconds a prediction may run before its worker is killed and it fails. */
  readonly timeoutS?: number;
}

export function workerConfig(store: string, dataDir: string, modelsDir: string | undefined, publicUrl: string, o: WorkerOptions & { runner?: URL }): WorkerConfig {
  return { store, dataDir, modelsDir, publicUrl, memoryBudget: o.memoryBudget, threads: o.threads, device: o.device, runner: o.runner?.href };
}

export const WORKER_CONFIG_ENV = 'KANDINSKY_WORKER_CONFIG';

export type ToWorker =
  /** A prediction was queued: claim now rather than at the next poll. */
  | { readonly type: 'wake' }
  /** Finish the running prediction, then exit. */
  | { readonly type: 'drain' };

export type FromWorker =
  | { readonly type: 'ready'; readonly worker: string }
  | { readonly type: 'claimed'; readonly id: string }
  /** Logs, status or outputs changed: wakes waits and streams in the API process. */
  | { readonly type: 'changed'; readonly id: string }
  | { readonly type: 'finished'; readonly id: string };
