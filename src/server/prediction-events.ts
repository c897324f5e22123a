import { randomBytes } from 'node:crypto';
import { predictionJson, type UrlBase } from './prediction-json.js';
import type { PredictionRecord, Store, WebhookEvent } from './types.js';

// Webhook deliveries go into the store's outbox where the prediction changes (the worker, or the API for a
// cancel before start); the API process's dispatcher sends them (replicate-api.md §14).

/** When a request names no filter: the API docs' "new outputs or finished" (§14, §20.8). */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['output', 'completed'];

/** `output` and `logs` deliveries: at most one per this many milliseconds per prediction. */
export const WEBHOOK_THROTTLE_MS = 500;

export function wantsWebhook(p: PredictionRecord, event: WebhookEvent): boolean {
  return p.webhook !== null && (p.webhookEventsFilter ?? DEFAULT_WEBHOOK_EVENTS).includes(event);
}

/** Queues `event` for the prediction's webhook, with its JSON as it is now, when its filter asks for it. */
export async function enqueueWebhook(store: Store, p: PredictionRecord, event: WebhookEvent, base: UrlBase): Promise<void> {
  if (!wantsWebhook(p, event)) return;
  await store.enqueueWebhook({
    id: `msg_${randomBytes(16).toString('base64url')}`,
    predictionId: p.id,
    url: p.webhook!,
    event,
    body: JSON.stringify(predictionJson(p, base)),
    nextAttemptAt: Date.now(),
  });
}

/**
 * What every end of a prediction queues, whoever ends it (its worker, the supervisor of a worker that died, the
 * lease rule): `output` when it succeeded, then `completed`.
 */
export async function enqueueFinished(store: Store, p: PredictionRecord, base: UrlBase): Promise<void> {
  if (p.status === 'succeeded') await enqueueWebhook(store, p, 'output', base);
  await enqueueWebhook(store, p, 'completed', base);
}
