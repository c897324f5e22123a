import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { accountOf } from '../auth.js';
import type { ServerContext } from '../context.js';
import { enqueueWebhook } from '../prediction-events.js';
import { predictionJson, predictionJsonWith } from '../prediction-json.js';
import { parsePreferWait } from '../prefer-wait.js';
import { imageResolver } from '../image-inputs.js';
import {
  checkInput, InputValidationError, InvalidVersionError, invalidVersionBody, notFoundBody, throttledBody, validateCreateBody, validationErrorBody,
  type ServedModel,
} from '../models/index.js';
import { HttpProblem, sendProblem } from '../problem.js';
import { newPredictionId, newSecret } from '../store/ids.js';
import { timestampNow } from '../store/timestamps.js';
import { TERMINAL_STATUSES, type PredictionRecord, type WebhookEvent } from '../types.js';

// Predictions (replicate-api.md §7-§10): create by version or by model, get, cancel, list.

/** How long a cancel of a running prediction waits for its worker to stop before answering. */
const CANCEL_WAIT_MS = 2000;

interface CreateBody {
  readonly version?: string;
  readonly input: Record<string, unknown>;
  readonly webhook?: string;
  readonly webhook_events_filter?: WebhookEvent[];
  readonly webhook_completed?: string;
  readonly stream?: boolean;
}

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id'],
} as const;

const listQuery = {
  type: 'object',
  properties: {
    cursor: { type: 'string', maxLength: 1024 },
    created_after: { type: 'string', maxLength: 64 },
    created_before: { type: 'string', maxLength: 64 },
  },
} as const;

export function registerPredictionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/predictions', async (request, reply) => {
    const body = checkedBody(request.body, 'predictions');
    const found = ctx.catalogue.resolveVersion(body.version!);
    if (!found) throw new HttpProblem(422, invalidVersionBody());
    return create(ctx, request, reply, found.model, found.version.id, body);
  });

  app.post<{ Params: { owner: string; name: string } }>('/models/:owner/:name/predictions', async (request, reply) => {
    const model = ctx.catalogue.model(request.params.owner, request.params.name);
    if (!model) return sendProblem(reply, 404, notFoundBody());
    const body = checkedBody(request.body, 'model_predictions');
    return create(ctx, request, reply, model, model.definition.versions[0].id, body);
  });

  app.get<{ Params: { id: string } }>('/predictions/:id', { schema: { params: idParams } }, async (request, reply) => {
    const p = await ownPrediction(ctx, request, request.params.id);
    if (!p) return sendProblem(reply, 404, notFoundBody());
    return predictionJsonWith(p, ctx, ctx.outputForm, ctx.store);
  });

  app.post<{ Params: { id: string } }>('/predictions/:id/cancel', { schema: { params: idParams } }, async (request, reply) => {
    const before = await ownPrediction(ctx, request, request.params.id);
    if (!before) return sendProblem(reply, 404, notFoundBody());
    let p = (await ctx.store.cancelPrediction(before.id)) ?? before;
    if (before.status === 'starting' && p.status === 'canceled') await enqueueWebhook(ctx.store, p, 'completed', ctx);
    // A running one stops between two steps: give its worker a moment, so that the answer is usually final.
    if (!TERMINAL_STATUSES.includes(p.status)) p = (await ctx.changes.untilTerminal(p.id, CANCEL_WAIT_MS)) ?? p;
    return predictionJsonWith(p, ctx, ctx.outputForm, ctx.store);
  });

  app.get<{ Querystring: { cursor?: string; created_after?: string; created_before?: string } }>(
    '/predictions',
    { schema: { querystring: listQuery } },
    async (request) => {
      const { cursor, created_after: createdAfter, created_before: createdBefore } = request.query;
      const page = await ctx.store.listPredictions(accountOf(request), { cursor, createdAfter, createdBefore });
      const link = (c: string | null) => (c === null ? null : listUrl(ctx.publicUrl, { cursor: c, created_after: createdAfter, created_before: createdBefore }));
      // File URLs, not data URIs: a page of 100 predictions stays small (§12).
      return { next: link(page.next), previous: link(page.previous), results: page.results.map((p) => predictionJson(p, ctx)) };
    },
  );
}

/** The top-level body, checked by the catalogue's request schema (the 422 of §5.1; extra keys refused). */
function checkedBody(body: unknown, route: 'predictions' | 'model_predictions'): CreateBody {
  const invalid = validateCreateBody(body ?? null, route);
  if (invalid.length > 0) throw new HttpProblem(422, validationErrorBody(invalid));
  return body as CreateBody;
}

/**
 * Every check the worker's plan makes (schema, image inputs decoded, rules between inputs), so that a bad input
 * is refused here with nothing stored; the plan itself (the seed, the request) is the worker's.
 */
async function refuseBadInput(ctx: ServerContext, model: ServedModel, versionId: string, input: Record<string, unknown>, account: string): Promise<void> {
  try {
    await checkInput(model, versionId, input, imageResolver(ctx.store, ctx.publicUrl, account));
  } catch (err) {
    if (err instanceof InputValidationError) throw new HttpProblem(422, validationErrorBody(err.fields));
    if (err instanceof InvalidVersionError) throw new HttpProblem(422, invalidVersionBody());
    throw err;
  }
}

async function create(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, model: ServedModel, versionId: string, body: CreateBody) {
  await refuseBadInput(ctx, model, versionId, body.input, accountOf(request));
  const webhook = body.webhook || body.webhook_completed || null;
  const filter = body.webhook_events_filter ?? (body.webhook ? null : body.webhook_completed ? ['completed' as const] : null);
  const record: PredictionRecord = {
    id: newPredictionId(),
    account: accountOf(request),
    model: `${model.definition.owner}/${model.definition.name}`,
    version: versionId,
    input: body.input,
    status: 'starting',
    logs: '',
    output: null,
    error: null,
    createdAt: timestampNow(),
    startedAt: null,
    completedAt: null,
    webhook,
    webhookEventsFilter: webhook ? filter : null,
    stream: body.stream === true,
    secret: newSecret(),
    cancelRequested: false,
    dataRemoved: false,
  };
  if (!(await ctx.store.createPrediction(record, ctx.maxQueue))) return sendProblem(reply.header('retry-after', '1'), 429, throttledBody(1));
  ctx.onQueued();
  const wait = parsePreferWait(request.headers.prefer);
  let p = record;
  if (wait) {
    p = (await ctx.changes.untilTerminal(record.id, wait.seconds * 1000 - 250)) ?? record;
    // Both clients poll only a `starting` answer: a running one must not look finished with no output (§8).
    if (!TERMINAL_STATUSES.includes(p.status)) p = { ...p, status: 'starting', output: null, startedAt: null };
    reply.header('preference-applied', wait.applied);
  }
  const json = await predictionJsonWith(p, ctx, ctx.outputForm, ctx.store);
  return reply.code(201).header('location', (json.urls as Record<string, string>).get).send(json);
}

async function ownPrediction(ctx: ServerContext, request: FastifyRequest, id: string): Promise<PredictionRecord | undefined> {
  const p = await ctx.store.getPrediction(id);
  return p && p.account === accountOf(request) ? p : undefined;
}

function listUrl(publicUrl: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
  return `${publicUrl}/v1/predictions?${params}`;
}
