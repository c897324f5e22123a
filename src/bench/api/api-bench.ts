import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KandinskyError } from '../../errors.js';
import { startServer, TERMINAL_STATUSES, type PredictionStatus, type RunningServer } from '../../server/index.js';
import { runLoad, type LoadResult } from './load.js';

// `kandinsky bench api`: the service on loopback with an instant stand-in for the pipelines (in its worker
// child, where the pipelines run), under a closed-loop load: creates per second, how long a created
// prediction waits for the worker, and GET latency.

export interface ApiBenchOptions {
  /** `sqlite` (default, in a temporary folder) or a postgres:// URL (a scratch database: the bench adds predictions). */
  readonly store?: string;
  /** Seconds of each load phase (default 10). */
  readonly durationS?: number;
  /** Concurrent clients (default 50). */
  readonly connections?: number;
}

/** One line of `kandinsky bench api` output. */
export interface ApiMeasurement {
  /** `api create`, `api create_to_start`, `api get`. */
  what: string;
  store: 'sqlite' | 'postgres';
  connections: number;
  seconds: number;
  /** Requests answered (creates, gets), or predictions measured (create_to_start). */
  count: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Answers outside 2xx (create, get), or predictions that did not succeed (create_to_start). */
  errors: number;
}

/** A hosted-model request (its latest version by name): valid, small, and never run (the stand-in answers it). */
const CREATE_BODY = JSON.stringify({
  version: 'ai-forever/kandinsky-2.2',
  input: { prompt: 'a red cat', width: 384, height: 384, num_inference_steps: 2, num_inference_steps_prior: 2 },
});

/** The model folders the catalogue looks for: present (so the hosted model is served) and empty (the stand-in never opens them). */
const REPOS = ['kandinsky-2-2-prior', 'kandinsky-2-2-decoder'];

/** How long the worker may take to drain what the create phase queued. */
const DRAIN_TIMEOUT_MS = 300_000;

export async function runApiBench(o: ApiBenchOptions, emit: (m: ApiMeasurement) => void): Promise<void> {
  const storeSpec = o.store ?? 'sqlite';
  const root = mkdtempSync(join(tmpdir(), 'kandinsky-bench-api-'));
  try {
    for (const repo of REPOS) mkdirSync(join(root, 'models', repo), { recursive: true });
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(root, 'data'),
      modelsDir: join(root, 'models'),
      store: storeSpec,
      // An https public URL gives file URLs for outputs (what a deployment behind TLS serves), not data URIs.
      publicUrl: 'https://kandinsky-bench.invalid',
      runner: new URL('./instant-runner.js', import.meta.url),
      log: () => {},
    });
    try {
      await measure(server, storeSpec === 'sqlite' ? 'sqlite' : 'postgres', o.connections ?? 50, (o.durationS ?? 10) * 1000, emit);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function measure(server: RunningServer, store: ApiMeasurement['store'], connections: number, durationMs: number, emit: (m: ApiMeasurement) => void): Promise<void> {
  const token = server.createdToken ?? firstConfiguredToken();
  const load = { origin: server.address, token, connections, durationMs };
  const line = (what: string, r: LoadResult): ApiMeasurement => ({
    what, store, connections, seconds: round(r.seconds), count: r.latenciesMs.length, per_second: round(r.latenciesMs.length / r.seconds),
    ...percentiles(r.latenciesMs), errors: r.errors,
  });

  const api = apiClient(server.address, token);
  // The worker child is still starting: one prediction run through first, so the timed ones do not wait for it.
  const warmUp = await fetch(`${server.address}/v1/predictions`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', prefer: 'wait=60' }, body: CREATE_BODY,
  });
  const warmUpId = ((await warmUp.json()) as Listed).id;
  const creates = await runLoad({ ...load, method: 'POST', paths: ['/v1/predictions'], body: CREATE_BODY });
  emit(line('api create', creates));

  const created = (await drained(api)).filter((p) => p.id !== warmUpId);
  const waits = Float64Array.from(created.map((p) => Date.parse(p.started_at!) - Date.parse(p.created_at))).sort();
  const span = (Math.max(...created.map((p) => Date.parse(p.completed_at!))) - Date.parse(created[0].created_at)) / 1000;
  emit({
    what: 'api create_to_start', store, connections, seconds: round(span), count: created.length, per_second: round(created.length / span),
    ...percentiles(waits), errors: created.filter((p) => p.status !== 'succeeded').length,
  });

  const gets = await runLoad({ ...load, method: 'GET', paths: created.map((p) => `/v1/predictions/${p.id}`) });
  emit(line('api get', gets));
}

function firstConfiguredToken(): string {
  const token = (process.env.KANDINSKY_API_TOKENS ?? '').split(',')[0].trim();
  if (token === '') throw new KandinskyError('bench api: no API token was made nor configured');
  return token;
}

/** What the bench reads of a prediction's JSON. */
interface Listed {
  readonly id: string;
  readonly status: PredictionStatus;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly completed_at: string | null;
}

function apiClient(origin: string, token: string): (path: string) => Promise<unknown> {
  return async (path) => {
    const r = await fetch(path.startsWith('http') ? path : `${origin}/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) throw new KandinskyError(`bench api: GET ${path} answered ${r.status}: ${await r.text()}`);
    return r.json();
  };
}

/**
 * Every prediction of the bench's account once the worker has finished them all, oldest first. The worker
 * takes the oldest first, so the newest being terminal means they all are.
 */
async function drained(api: (path: string) => Promise<unknown>): Promise<Listed[]> {
  const newest = ((await api('/predictions')) as { results: Listed[] }).results[0];
  if (!newest) throw new KandinskyError('bench api: no prediction was created');
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (!TERMINAL_STATUSES.includes(((await api(`/predictions/${newest.id}`)) as Listed).status)) {
    if (Date.now() > deadline) throw new KandinskyError(`bench api: the worker did not finish the queue within ${DRAIN_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const all: Listed[] = [];
  for (let page: string | null = '/predictions'; page !== null; ) {
    const body = (await api(page)) as { results: Listed[]; next: string | null };
    all.push(...body.results);
    page = body.next === null ? null : `/predictions?${new URL(body.next).search.slice(1)}`;
  }
  return all.reverse();
}

/** p50, p99 and max of sorted milliseconds. */
function percentiles(sorted: Float64Array): { p50_ms: number; p99_ms: number; max_ms: number } {
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50_ms: at(0.5), p99_ms: at(0.99), max_ms: round(sorted.at(-1) ?? 0) };
}

const round = (x: number) => Math.round(x * 100) / 100;
