import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { notFoundBody } from '../models/index.js';
import { sendProblem } from '../problem.js';

/**
 * Output files, fetched without a token (the JS client's FileOutput sends none, §3): the prediction's secret in
 * the path is the permission. 200 with the bytes, never a redirect (the Python client follows none, §12).
 */
export function registerOutputRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Params: { id: string; secret: string; name: string } }>(
    '/outputs/:id/:secret/:name',
    { config: { public: true } },
    async (request, reply) => {
      const { id, secret, name } = request.params;
      const p = await ctx.store.getPrediction(id);
      const file = p && sameSecret(p.secret, secret) ? p.output?.find((f) => f.name === name) : undefined;
      const bytes = file ? await ctx.store.readOutput(id, name) : undefined;
      if (!file || !bytes) return sendProblem(reply, 404, notFoundBody());
      return reply.type(file.contentType).header('content-length', bytes.length).header('cache-control', 'private, max-age=3600').send(Buffer.from(bytes));
    },
  );
}

/** Compared in constant time: the secret is the only thing guarding these URLs. */
export function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
