import type { FastifyReply } from 'fastify';
import type { ErrorBody } from './models/index.js';

// Every refusal the API makes is an RFC 7807 body (replicate-api.md §5), built by the catalogue's error-bodies.

export function sendProblem(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).type('application/problem+json').send(JSON.stringify(body));
}

/** A refusal thrown from deep inside a handler; the app's error handler answers it. */
export class HttpProblem extends Error {
  constructor(readonly statusCode: number, readonly body: ErrorBody) {
    super(body.detail);
  }
}
