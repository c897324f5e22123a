import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Account, Accounts } from './accounts.js';
import { unauthenticatedBody } from './models/index.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    account?: Account;
  }
  interface FastifyContextConfig {
    /** Reached without a token: unguessable URLs instead (output files, streams; replicate-api.md §3). */
    readonly public?: boolean | ((request: FastifyRequest) => boolean);
  }
}

/** `Bearer <token>` (current clients) or `Token <token>` (older ones), the scheme in any case (§3). */
export function tokenOf(header: string | undefined): string | undefined {
  const m = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** onRequest hook: a known token, or the exact 401 of §3. */
export function authenticate(accounts: Accounts) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const open = request.routeOptions.config.public;
    if (open === true || (typeof open === 'function' && open(request))) return;
    const token = tokenOf(request.headers.authorization);
    const account = token === undefined ? undefined : accounts.byToken(token);
    if (!account) {
      await sendProblem(reply, 401, unauthenticatedBody());
      return;
    }
    request.account = account;
  };
}

/** The caller's account name (the auth hook ran). */
export function accountOf(request: FastifyRequest): string {
  return request.account!.username;
}
