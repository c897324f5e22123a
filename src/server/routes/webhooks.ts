import type { FastifyInstance } from 'fastify';
import { accountOf } from '../auth.js';
import type { ServerContext } from '../context.js';

/** `GET /v1/webhooks/default/secret` (replicate-api.md §14): the key the account's deliveries are signed with. */
export function registerWebhookRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/webhooks/default/secret', async (request) => ({ key: ctx.accounts.webhookSecret(accountOf(request)) }));
}
