import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks signatures, as the official clients' validateWebhook check them (replicate-api.md §14).

export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** `whsec_` + standard base64 of 24 random bytes: base64 has no `_`, which the Python client splits on. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** v1 signature over `<id>.<timestamp>.<body>` with the key the secret encodes. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): WebhookHeaders {
  const key = Buffer.from(secret.slice(secret.indexOf('_') + 1), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}
