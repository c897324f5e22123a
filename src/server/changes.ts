import { EventEmitter } from 'node:events';
import { TERMINAL_STATUSES, type PredictionRecord, type Store } from './types.js';

// Wake-ups for waits and streams in the API process. The store announces the changes it sees; a worker child
// announces its own over IPC (notify); and a slow poll covers a store whose changes come from elsewhere
// (another process writing the same database).

const POLL_MS = 250;

export class ChangeFeed {
  private readonly emitter = new EventEmitter();
  private readonly unsubscribe: () => void;

  constructor(private readonly store: Store) {
    this.emitter.setMaxListeners(0);
    this.unsubscribe = store.onChange((id) => this.notify(id));
  }

  notify(predictionId: string): void {
    this.emitter.emit(predictionId);
  }

  /**
   * Calls `onRecord` with the prediction now and after every change until it returns true, `signal` aborts, or
   * the prediction is gone; resolves with the last record seen.
   */
  async follow(id: string, onRecord: (p: PredictionRecord) => boolean | Promise<boolean>, signal?: AbortSignal): Promise<PredictionRecord | undefined> {
    let wake: () => void = () => {};
    const listener = () => wake();
    this.emitter.on(id, listener);
    signal?.addEventListener('abort', listener);
    try {
      for (;;) {
        const changed = new Promise<void>((resolve) => {
          wake = resolve;
        });
        const p = await this.store.getPrediction(id);
        if (!p || (await onRecord(p)) || signal?.aborted) return p;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, POLL_MS)))]);
        clearTimeout(timer);
      }
    } finally {
      this.emitter.off(id, listener);
      signal?.removeEventListener('abort', listener);
    }
  }

  /** The prediction once terminal, or as it is when `ms` have passed. */
  async untilTerminal(id: string, ms: number): Promise<PredictionRecord | undefined> {
    return this.follow(id, (p) => TERMINAL_STATUSES.includes(p.status), AbortSignal.timeout(ms));
  }

  close(): void {
    this.unsubscribe();
    this.emitter.removeAllListeners();
  }
}
