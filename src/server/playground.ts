import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem.js';

// The web playground at `/`: the bundle `npm run build` writes to dist/web, served as static files. The page
// talks only to the public API under /v1, so it needs no route of its own beyond its files.

/** dist/web, beside dist/src where this module runs from. */
export const PLAYGROUND_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/**
 * Nothing but this origin: the page loads no font, script or style from elsewhere (it works offline), and an
 * injected script could not send the token anywhere. Images also come as data: URIs and local blob: previews.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function registerPlayground(app: FastifyInstance, publicUrl: () => string, dir = PLAYGROUND_DIR): void {
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/', (_request, reply) =>
      sendProblem(reply, 404, { title: 'Playground not built', detail: `No playground in ${dir}: run \`npm run build\``, status: 404 }),
    );
    return;
  }
  app.addHook('onSend', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) {
      // The API's own origin may differ from the page's (--public-url behind a proxy): its files are allowed too.
      const origin = new URL(publicUrl()).origin;
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY.replace("img-src 'self'", `img-src 'self' ${origin}`).replace("connect-src 'self'", `connect-src 'self' ${origin}`));
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    }
  });
  void app.register(fastifyStatic, {
    root: dir,
    // Only the files built, listed once: a request for anything else is the API's 404.
    wildcard: false,
    index: 'index.html',
    setHeaders: (res, path) => {
      // Assets carry their content hash in their names; the page itself must always be asked for again.
      res.header('cache-control', /[/\\]assets[/\\]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
