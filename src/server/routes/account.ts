import type { FastifyInstance } from 'fastify';
import { accountOf } from '../auth.js';
import type { ServerContext } from '../context.js';

/** `GET /v1/account` (replicate-api.md §16): the Python client needs `name` to be a string. */
export function registerAccountRoutes(app: FastifyInstance, _ctx: ServerContext): void {
  app.get('/account', async (request) => {
    const username = accountOf(request);
    return { type: 'user', username, name: username, github_url: null };
  });
}
