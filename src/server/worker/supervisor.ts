import { fork, type ChildProcess } from 'node:child_process';
import { enqueueFinished } from '../prediction-events.js';
import type { UrlBase } from '../prediction-json.js';
import type { Store } from '../types.js';
import { WORKER_CONFIG_ENV, type FromWorker, type ToWorker, type WorkerConfig } from './messages.js';

/** A child that dies this soon after its start waits longer before the next one (a broken install, say). */
const RESTART_DELAYS_MS = [500, 2000, 10_000];

export interface SupervisorOptions {
  readonly store: Store;
  readonly config: WorkerConfig;
  /** Seconds a prediction may run before its worker is killed and it fails; none by default (CPU runs are long). */
  readonly timeoutS?: number;
  readonly onChanged: (id: string) => void;
  /** The child claimed a prediction (`worker` names the child as its leases do). */
  readonly onClaimed?: (id: string, worker: string) => void;
  /** Lines worth the operator's eye (a worker died, a prediction timed out). */
  readonly log: (line: string) => void;
}

/**
 * Keeps one worker child running in the API process: forks it, relays its change notices, restarts it when it
 * dies, and enforces --timeout by killing it. A prediction its dead child held is failed at once (the lease
 * rule would fail it too, a lease later).
 */
export class WorkerSupervisor {
  private child?: ChildProcess;
  private worker?: string;
  private running?: { id: string; timer?: NodeJS.Timeout };
  /** Why the child is being killed, when we kill it. */
  private failing?: string;
  private stopping = false;
  private quickDeaths = 0;
  private exited?: Promise<void>;

  constructor(private readonly o: SupervisorOptions) {}

  start(): void {
    const started = Date.now();
    const child = fork(new URL('./worker-main.js', import.meta.url), [], {
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(this.o.config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    child.on('message', (m: FromWorker) => this.onMessage(m));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        void this.onExit(code, signal, Date.now() - started).finally(resolve);
      });
    });
  }

  wake(): void {
    this.post({ type: 'wake' });
  }

  /** Graceful: the running prediction finishes, then the child exits. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.post({ type: 'drain' });
    await this.exited;
  }

  private post(m: ToWorker): void {
    if (this.child?.connected) this.child.send(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready') this.worker = m.worker;
    else if (m.type === 'changed') this.o.onChanged(m.id);
    else if (m.type === 'claimed') {
      this.o.onClaimed?.(m.id, this.worker ?? 'worker');
      const timeoutS = this.o.timeoutS;
      this.running = { id: m.id, timer: timeoutS ? setTimeout(() => this.timeOut(m.id, timeoutS), timeoutS * 1000) : undefined };
    } else if (m.type === 'finished') {
      clearTimeout(this.running?.timer);
      this.running = undefined;
      this.quickDeaths = 0;
    }
  }

  private timeOut(id: string, seconds: number): void {
    this.o.log(`prediction ${id} ran past --timeout ${seconds}s: stopping its worker`);
    this.running = { id, timer: undefined };
    this.failing = `Prediction timed out after ${seconds} seconds`;
    this.child?.kill('SIGKILL');
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null, livedMs: number): Promise<void> {
    const running = this.running;
    clearTimeout(running?.timer);
    this.running = undefined;
    if (running && this.worker) {
      const error = this.failing ?? `The worker process died (${signal ? `signal ${signal}` : `exit code ${code}`}) while running this prediction`;
      await this.fail(running.id, this.worker, error);
    }
    this.failing = undefined;
    if (this.stopping) return;
    if (running === undefined && livedMs < 5000) this.quickDeaths++;
    const delay = RESTART_DELAYS_MS[Math.min(this.quickDeaths, RESTART_DELAYS_MS.length - 1)];
    this.o.log(`worker exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
    setTimeout(() => {
      if (!this.stopping) this.start();
    }, delay).unref();
  }

  private async fail(id: string, worker: string, error: string): Promise<void> {
    try {
      await this.o.store.finishPrediction(id, worker, { status: 'failed', error });
      this.o.onChanged(id);
      const p = await this.o.store.getPrediction(id);
      if (p) await enqueueFinished(this.o.store, p, this.base);
    } catch {
      // Finished or recovered meanwhile: nothing left to do.
    }
  }

  private get base(): UrlBase {
    return { publicUrl: this.o.config.publicUrl };
  }
}
