import { Worker } from 'node:worker_threads';
import { ConfigError, InputError, KandinskyError, WeightsError } from '../errors.js';
import { AbortedError, type RunControl } from '../pipelines/index.js';
import type { FromWorker, ToWorker, WorkerData } from './messages.js';
import type { EngineOptions, GenerationRequest, GenerationResult } from './request.js';

/** Errors rebuilt on this side with their class, so callers can tell bad input from a cancelled run. */
const ERRORS: Record<string, new (message: string) => Error> = { InputError, ConfigError, WeightsError, KandinskyError };

function rebuild(e: { name: string; message: string; stack?: string }): Error {
  if (e.name === 'AbortedError') return new AbortedError();
  const type = ERRORS[e.name];
  if (type) return new type(e.message);
  const err = new Error(`generation worker: ${e.message}`);
  err.stack = e.stack;
  return err;
}

interface Pending {
  readonly control: RunControl;
  readonly resolve: (r: GenerationResult) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Generation in a worker thread that owns the sessions (onnxruntime-node runs a forward pass synchronously
 * on the calling thread, and crashes with sessions in several workers at once: one worker per process).
 * Progress arrives as messages; an AbortSignal reaches the pipeline between steps.
 */
export class GenerationWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited?: Error;

  constructor(options: EngineOptions = {}) {
    const data: WorkerData = { engine: options };
    this.worker = new Worker(new URL('./worker-main.js', import.meta.url), { workerData: data });
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new KandinskyError(`generation worker exited (code ${code})`)));
  }

  generate(request: GenerationRequest, control: RunControl = {}): Promise<GenerationResult> {
    if (this.exited) return Promise.reject(this.exited);
    if (control.signal?.aborted) return Promise.reject(new AbortedError());
    const id = this.nextId++;
    const onAbort = () => this.post({ type: 'abort', id });
    control.signal?.addEventListener('abort', onAbort, { once: true });
    return new Promise<GenerationResult>((resolve, reject) => {
      this.pending.set(id, { control, resolve, reject });
      this.post({ type: 'generate', id, request });
    }).finally(() => control.signal?.removeEventListener('abort', onAbort));
  }

  /** Ends the worker (and every session it holds). */
  async close(): Promise<void> {
    if (this.exited) return;
    this.exited = new KandinskyError('generation worker closed');
    await this.worker.terminate();
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'released') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'step') {
      p.control.onStep?.(m.event);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'done') p.resolve(m.result);
    else p.reject(rebuild(m.error));
  }

  private fail(err: Error): void {
    this.exited ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
