import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { modelJson, notFoundBody, versionJson } from '../models/index.js';
import { sendProblem } from '../problem.js';

// Models and their versions (replicate-api.md §11), and `GET /v1/models`: the models this server offers.

const PAGE_SIZE = 100;

const pageQuery = { type: 'object', properties: { cursor: { type: 'string', pattern: '^[0-9]{1,9}$' } } } as const;

export function registerModelRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Querystring: { cursor?: string } }>('/models', { schema: { querystring: pageQuery } }, async (request) => {
    const all = ctx.catalogue.models;
    const start = Number(request.query.cursor ?? 0);
    const link = (at: number) => `${ctx.publicUrl}/v1/models?cursor=${at}`;
    return {
      next: start + PAGE_SIZE < all.length ? link(start + PAGE_SIZE) : null,
      previous: start > 0 ? link(Math.max(0, start - PAGE_SIZE)) : null,
      results: all.slice(start, start + PAGE_SIZE).map((m) => modelJson(m, ctx.publicUrl)),
    };
  });

  app.get<{ Params: { owner: string; name: string } }>('/models/:owner/:name', async (request, reply) => {
    const model = ctx.catalogue.model(request.params.owner, request.params.name);
    if (!model) return sendProblem(reply, 404, notFoundBody());
    return modelJson(model, ctx.publicUrl);
  });

  app.get<{ Params: { owner: string; name: string } }>('/models/:owner/:name/versions', async (request, reply) => {
    const model = ctx.catalogue.model(request.params.owner, request.params.name);
    if (!model) return sendProblem(reply, 404, notFoundBody());
    return { next: null, previous: null, results: model.definition.versions.map(versionJson) };
  });

  app.get<{ Params: { owner: string; name: string; id: string } }>('/models/:owner/:name/versions/:id', async (request, reply) => {
    const model = ctx.catalogue.model(request.params.owner, request.params.name);
    const version = model && ctx.catalogue.version(model, request.params.id);
    if (!version) return sendProblem(reply, 404, notFoundBody());
    return versionJson(version);
  });
}
