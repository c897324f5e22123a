import { enqueueWebhook, WEBHOOK_THROTTLE_MS } from '../prediction-events.js';
import type { UrlBase } from '../prediction-json.js';
import type { Store } from '../types.js';

/** Logs reach the store in batches (a step can take milliseconds on tiny models): at most this often. */
const FLUSH_MS = 250;

/**
 * A running prediction's logs: appended in batches, each batch announced to the API process, and a `logs`
 * webhook at most every 500 ms (replicate-api.md §14).
 */
export class LogWriter {
  private pending = '';
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private lastWebhook = 0;

  constructor(
    private readonly store: Store,
    private readonly predictionId: string,
    private readonly worker: string,
    private readonly base: UrlBase,
    private readonly onChanged: () => void,
  ) {}

  append(text: string): void {
    this.pending += text;
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is pending; resolves once every earlier write is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.pending;
    this.pending = '';
    this.flushing = this.flushing.then(async () => {
      if (text === '') return;
      await this.store.appendLogs(this.predictionId, this.worker, text);
      this.onChanged();
      if (Date.now() - this.lastWebhook >= WEBHOOK_THROTTLE_MS) {
        this.lastWebhook = Date.now();
        const p = await this.store.getPrediction(this.predictionId);
        if (p) await enqueueWebhook(this.store, p, 'logs', this.base);
      }
    }).catch(() => {
      // The lease was lost (the prediction was recovered elsewhere): the run is being stopped.
    });
    return this.flushing;
  }
}
