import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { authenticate } from './auth.js';
import type { ServerContext } from './context.js';
import { InputError } from '../errors.js';
import { fileTooLargeBody, malformedJsonBody, notFoundBody, serverErrorBody } from './models/index.js';
import { registerPlayground } from './playground.js';
import { HttpProblem, sendProblem } from './problem.js';
import { registerAccountRoutes } from './routes/account.js';
import { registerFileRoutes, MAX_UPLOAD_BYTES } from './routes/files.js';
import { registerModelRoutes } from './routes/models.js';
import { registerOutputRoutes } from './routes/outputs.js';
import { registerPredictionRoutes } from './routes/predictions.js';
import { registerWebhookRoutes } from './routes/webhooks.js';

/** JSON request bodies: room for a few image inputs as data URLs. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

export interface AppOptions {
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
}

/**
 * The API of replicate-api.md under `/v1`, and again under `/v1/v1` (the Python 2 client's base URL includes
 * `/v1`, the Python 1 client adds it: one setting works for both, §1); the web playground at `/`.
 */
export function buildApp(ctx: ServerContext, options: AppOptions = {}): FastifyInstance {
  const app = Fastify({ bodyLimit: MAX_JSON_BYTES, ...(options.https ? { https: options.https } : {}) }) as unknown as FastifyInstance;
  acceptJsonBodies(app);
  app.setErrorHandler(answerError);
  app.setNotFoundHandler((_request, reply) => sendProblem(reply, 404, notFoundBody()));
  void app.register(multipart, { limits: { fileSize: MAX_UPLOAD_BYTES, files: 2, fields: 8 } });
  for (const prefix of ['/v1', '/v1/v1']) {
    void app.register(
      async (v1) => {
        v1.addHook('onRequest', authenticate(ctx.accounts));
        registerPredictionRoutes(v1, ctx);
        registerModelRoutes(v1, ctx);
        registerFileRoutes(v1, ctx);
        registerOutputRoutes(v1, ctx);
        registerAccountRoutes(v1, ctx);
        registerWebhookRoutes(v1, ctx);
      },
      { prefix },
    );
  }
  registerPlayground(app, () => ctx.publicUrl);
  return app;
}

/**
 * JSON bodies parsed by us: an empty body is no body (the JS client sends a JSON content type on every request,
 * body-less cancels included, §4), and malformed JSON gets the 400 body of §5.2.
 */
function acceptJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpProblem(400, malformedJsonBody()), undefined);
    }
  });
}

/** Every refusal as problem+json; a fault of ours says no more than §5.2's 500 body. */
function answerError(err: FastifyError | HttpProblem | InputError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof HttpProblem) return sendProblem(reply, err.statusCode, err.body);
  // A query value the store refuses (a cursor or date it cannot read).
  if (err instanceof InputError) return sendProblem(reply, 400, { title: 'Bad request', detail: err.message, status: 400 });
  if (err.code === 'FST_REQ_FILE_TOO_LARGE') return sendProblem(reply, 413, fileTooLargeBody());
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return sendProblem(reply, 413, { title: 'Request body too large', detail: `The request body is larger than ${MAX_JSON_BYTES} bytes`, status: 413 });
  }
  if (err.validation) {
    const where = err.validationContext === 'querystring' ? 'query parameter' : err.validationContext === 'params' ? 'path' : 'request';
    return sendProblem(reply, 400, { title: 'Bad request', detail: `Invalid ${where}: ${err.message}`, status: 400 });
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return sendProblem(reply, status, { title: 'Bad request', detail: err.message, status });
  request.log.error(err);
  return sendProblem(reply, 500, serverErrorBody());
}
