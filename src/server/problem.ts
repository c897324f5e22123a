import type { FastifyReply } from 'fastify';

// Every refusal the API makes is an RFC 7807 body (replicate-api.md §5): the clients read `detail` and `status`.

export interface Problem {
  readonly title?: string;
  readonly detail: string;
  readonly status?: number;
  readonly [key: string]: unknown;
}

export const UNAUTHENTICATED: Problem = { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 };
export const NOT_FOUND: Problem = { detail: 'Not found.', status: 404 };
export const FILE_NOT_FOUND: Problem = { detail: 'File not found' };
export const FILE_TOO_LARGE: Problem = { detail: 'Files must be less than 100MB in size' };
export const INVALID_JSON: Problem = { title: 'Bad request', detail: 'Invalid JSON', status: 400 };
export const INTERNAL_ERROR: Problem = { detail: 'Internal server error' };
export const INVALID_VERSION: Problem = {
  title: 'Invalid version or not permitted',
  detail: "The specified version does not exist (or perhaps you don't have permission to use it?)",
  status: 422,
};
export const QUEUE_FULL: Problem = { detail: 'Request was throttled. The prediction queue is full; retry later.', status: 429 };

export function sendProblem(reply: FastifyReply, status: number, problem: Problem): FastifyReply {
  return reply.code(status).type('application/problem+json').send(JSON.stringify(problem));
}

/** A refusal thrown from deep inside a handler; the app's error handler answers it. */
export class HttpProblem extends Error {
  constructor(readonly statusCode: number, readonly problem: Problem) {
    super(problem.detail);
  }
}
