import type { Accounts } from './accounts.js';
import type { Store, WebhookDelivery } from './types.js';
import { signWebhook } from './webhook-signature.js';

// Sends the outbox's deliveries from the API process, so that a slow receiver never holds a worker
// (replicate-api.md §14: only `completed` is retried, with backoff, the last try about a minute after).

const POLL_MS = 200;
const BATCH = 32;
const TIMEOUT_MS = 10_000;
/** Seconds before retry n of a `completed` delivery: the sixth comes about a minute after the first try. */
const BACKOFF_S = [1, 2, 4, 8, 16, 30];

export class WebhookDispatcher {
  private readonly inFlight = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly store: Store, private readonly accounts: Accounts) {}

  start(): void {
    this.schedule();
  }

  /** Stops taking deliveries and waits for the ones being sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private schedule(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), POLL_MS);
  }

  private async tick(): Promise<void> {
    try {
      const due = await this.store.dueWebhooks(Date.now(), BATCH);
      for (const d of due) if (!this.inFlight.has(d.id)) void this.deliver(d);
    } catch {
      // The store is closing or briefly busy: the next tick tries again.
    }
    this.schedule();
  }

  private async deliver(d: WebhookDelivery): Promise<void> {
    this.inFlight.add(d.id);
    try {
      const ok = await this.send(d);
      if (ok) await this.store.webhookDelivered(d.id);
      else {
        const retry = d.event === 'completed' && d.attempts < BACKOFF_S.length ? Date.now() + BACKOFF_S[d.attempts] * 1000 : null;
        await this.store.webhookFailed(d.id, retry);
      }
    } catch {
      // The store closed under us; the delivery stays due and is sent after a restart.
    } finally {
      this.inFlight.delete(d.id);
    }
  }

  /** One attempt: a fresh timestamp and signature, the same id and body; 2xx within the timeout counts. */
  private async send(d: WebhookDelivery): Promise<boolean> {
    const p = await this.store.getPrediction(d.predictionId);
    if (!p) return false;
    const headers = signWebhook(this.accounts.webhookSecret(p.account), d.id, Math.floor(Date.now() / 1000), d.body);
    try {
      const response = await fetch(d.url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'kandinsky-webhooks' },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }
}
