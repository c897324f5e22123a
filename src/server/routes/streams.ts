import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { predictionJsonWith } from '../prediction-json.js';
import { notFoundBody } from '../models/index.js';
import { sendProblem } from '../problem.js';
import { TERMINAL_STATUSES, type PredictionRecord } from '../types.js';
import { sameSecret } from './outputs.js';

// Server-sent events on urls.stream (replicate-api.md §13): logs line by line, one `output` event per file,
// `error` on failure, `done` last; every event has an id and data; a late subscriber gets everything from
// the start. The URL's secret is the permission (the JS client sends no token).

export function wantsEventStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/event-stream');
}

export async function serveStream(ctx: ServerContext, streamId: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const dot = streamId.indexOf('.');
  const p = dot > 0 ? await ctx.store.getPrediction(streamId.slice(0, dot)) : undefined;
  if (!p || !sameSecret(p.secret, streamId.slice(dot + 1))) {
    await sendProblem(reply, 404, notFoundBody());
    return;
  }
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const closed = new AbortController();
  out.on('close', () => closed.abort());
  const events = new EventWriter((text) => out.write(text));
  let logsSent = 0;
  await ctx.changes.follow(
    p.id,
    async (current: PredictionRecord) => {
      const terminal = TERMINAL_STATUSES.includes(current.status);
      // Whole lines while running; the rest too once it ended.
      const end = terminal ? current.logs.length : current.logs.lastIndexOf('\n') + 1;
      if (end > logsSent) {
        for (const line of current.logs.slice(logsSent, end).replace(/\n$/, '').split('\n')) events.send('logs', line);
        logsSent = end;
      }
      if (!terminal) return false;
      if (current.status === 'succeeded') {
        const json = await predictionJsonWith(current, ctx, ctx.outputForm, ctx.store);
        for (const url of (json.output as string[] | null) ?? []) events.send('output', url);
        events.send('done', '{}');
      } else if (current.status === 'failed') {
        events.send('error', JSON.stringify({ detail: current.error ?? 'Prediction failed' }));
        events.send('done', JSON.stringify({ reason: 'error' }));
      } else events.send('done', JSON.stringify({ reason: 'canceled' }));
      return true;
    },
    closed.signal,
  );
  out.end();
}

/** Event framing both clients parse: `event:`, `id:` (`<unix seconds>:<n>`), one `data:` per line, a blank line. */
class EventWriter {
  private n = 0;

  constructor(private readonly write: (text: string) => void) {}

  send(event: 'output' | 'logs' | 'error' | 'done', data: string): void {
    const lines = data.split('\n').map((l) => `data: ${l}\n`).join('');
    this.write(`event: ${event}\nid: ${Math.floor(Date.now() / 1000)}:${this.n++}\n${lines}\n`);
  }
}
