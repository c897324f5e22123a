import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';

// A small closed-loop load generator: `connections` clients on keep-alive sockets, each sending its next
// request when the previous answer has arrived, for `durationMs`. It runs on a thread of its own so that
// its work does not queue behind the server's on one event loop.

export interface LoadSpec {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly token: string;
  readonly connections: number;
  readonly durationMs: number;
  readonly method: 'GET' | 'POST';
  /** Taken in turn by all clients. */
  readonly paths: readonly string[];
  /** A JSON body for every request. */
  readonly body?: string;
}

export interface LoadResult {
  readonly seconds: number;
  /** Milliseconds, one per answered request, sorted. */
  readonly latenciesMs: Float64Array;
  /** Answers outside 2xx, and requests that failed. */
  readonly errors: number;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-thread.js', import.meta.url), { workerData: spec });
    worker.once('message', (r: LoadResult) => resolve(r));
    worker.once('error', reject);
  });
}

/** The thread's side: runs the spec and posts the result back. */
export async function loadThread(spec: LoadSpec, post: (r: LoadResult) => void): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const headers: Record<string, string> = { authorization: `Bearer ${spec.token}` };
  if (spec.body !== undefined) headers['content-type'] = 'application/json';
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const end = start + spec.durationMs;
  const client = async () => {
    while (performance.now() < end) {
      const path = spec.paths[next++ % spec.paths.length];
      const sent = performance.now();
      const status = await send(agent, spec, path, headers).catch(() => 0);
      latencies.push(performance.now() - sent);
      if (status < 200 || status >= 300) errors++;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, client));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  post({ seconds, latenciesMs: Float64Array.from(latencies).sort(), errors });
}

function send(agent: Agent, spec: LoadSpec, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(`${spec.origin}${path}`, { method: spec.method, agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(spec.body);
  });
}
