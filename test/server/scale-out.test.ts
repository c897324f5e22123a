import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Replicate from 'replicate';
import { LEASE_LAPSED_ERROR } from '../../src/server/types.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { eventually, HOSTED_VERSION, QUICK_INPUT, startServe, startWorker, type Serve, type Worker } from '../helpers/serve.js';

// Beyond one machine: API processes (`serve --no-worker`) and `kandinsky worker` processes share one queue
// on a real PostgreSQL, talking to each other only through it.

interface Wire {
  readonly id: string;
  readonly status: string;
  readonly error: string | null;
  readonly logs: string;
  readonly output: readonly string[] | null;
}

const get = async (api: Serve, id: string) => (await (await api.fetch(`/predictions/${id}`)).json()) as Wire;
const terminal = (p: Wire) => ['succeeded', 'failed', 'canceled'].includes(p.status);

/** Long enough on the tiny models that a cancel or a kill lands mid-run. */
const LONG_INPUT = { ...QUICK_INPUT, num_inference_steps: 400 };

const missing = postgresMissing();

describe('two API processes and two workers on one PostgreSQL store', { skip: missing }, () => {
  let postgres: PostgresServer;
  let apiA: Serve;
  let apiB: Serve;
  let workers: Worker[];
  before(async () => {
    postgres = await startPostgres();
    const store = await postgres.createDatabase();
    apiA = await startServe(['--no-worker', '--store', store]);
    apiB = await startServe(['--no-worker', '--store', store]);
    workers = await Promise.all([1, 2].map(() => startWorker(['--store', store, '--public-url', apiA.url])));
  });
  after(async () => {
    await Promise.all([apiA, apiB, ...workers].filter(Boolean).map((p) => (p.process.exitCode === null && p.process.signalCode === null ? p.stop() : undefined)));
    await postgres?.stop();
  });

  it('runs each of 12 predictions exactly once across the two workers; their outputs download through the API', async () => {
    const replicate = new Replicate({ auth: apiA.token, baseUrl: apiA.api });
    const created = await Promise.all(Array.from({ length: 12 }, () => replicate.predictions.create({ version: HOSTED_VERSION, input: QUICK_INPUT })));
    const ids = created.map((p) => p.id);
    const done = await Promise.all(ids.map((id) => eventually(() => get(apiA, id), terminal, 120_000)));
    assert.deepEqual(done.map((p) => p.status), ids.map(() => 'succeeded'));

    const claims = workers.map((w) => w.claims());
    assert.deepEqual(claims.flat().sort(), [...ids].sort(), 'every prediction claimed once, by one worker');
    for (const [i, c] of claims.entries()) assert.ok(c.length > 0, `worker ${i + 1} claimed some (${claims.map((x) => x.length).join(' + ')})`);
    for (const p of done) assert.match(p.logs, /^Using seed: \d+\n/);
    assert.equal(done.map((p) => p.logs.match(/Using seed/g)!.length).join(), ids.map(() => 1).join(), 'each ran once');

    // Outputs live in the database: file URLs from a list page, fetched from the API process, no token.
    const page = (await (await apiA.fetch('/predictions')).json()) as { results: Wire[] };
    const listed = page.results.filter((p) => ids.includes(p.id));
    assert.equal(listed.length, 12);
    for (const p of listed) {
      assert.equal(p.output?.length, 1);
      const file = await fetch(p.output![0]);
      assert.equal(file.status, 200, p.output![0]);
      assert.equal(file.headers.get('content-type'), 'image/webp');
      assert.equal(Buffer.from(await file.arrayBuffer()).subarray(8, 12).toString(), 'WEBP');
    }
  });

  it('shows and cancels on one API process a prediction created on the other; Prefer: wait on either wakes when a worker finishes', async () => {
    const created = (await (await apiA.fetch('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input: LONG_INPUT } })).json()) as Wire;
    const running = await eventually(() => get(apiB, created.id), (p) => / \d+\/400 /.test(p.logs));
    assert.equal(running.status, 'processing');
    const cancel = await apiB.fetch(`/predictions/${created.id}/cancel`, { method: 'POST' });
    assert.equal(cancel.status, 200);
    assert.equal((await eventually(() => get(apiA, created.id), terminal, 30_000)).status, 'canceled');

    const started = Date.now();
    const waited = await apiB.fetch('/predictions', { method: 'POST', headers: { prefer: 'wait=60' }, json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
    const body = (await waited.json()) as Wire;
    assert.equal(body.status, 'succeeded');
    assert.ok(Date.now() - started < 30_000);
    assert.equal((await get(apiA, body.id)).status, 'succeeded');
  });

  it('serves the same webhook signing secret from every API process (its key is in the store)', async () => {
    const secret = async (api: typeof apiA) => ((await (await api.fetch('/webhooks/default/secret')).json()) as { key: string }).key;
    const [a, b] = await Promise.all([secret(apiA), secret(apiB)]);
    assert.match(a, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(b, a);
  });

  it('fails by the lease rule the prediction of a worker killed mid-run (kill -9); the others complete on the surviving worker', async () => {
    const doomed = (await (await apiA.fetch('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input: LONG_INPUT } })).json()) as Wire;
    await eventually(() => get(apiA, doomed.id), (p) => / \d+\/400 /.test(p.logs));
    const victim = workers.find((w) => w.claims().includes(doomed.id))!;
    const survivor = workers.find((w) => w !== victim)!;
    const earlier = survivor.claims().length;
    const others = await Promise.all(
      Array.from({ length: 3 }, async () => (await (await apiB.fetch('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input: QUICK_INPUT } })).json()) as Wire),
    );
    await victim.crash();

    const finished = await Promise.all(others.map((p) => eventually(() => get(apiA, p.id), terminal, 60_000)));
    assert.deepEqual(finished.map((p) => p.status), ['succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(survivor.claims().slice(earlier).sort(), others.map((p) => p.id).sort(), 'the survivor ran them');
    // The lease lapses (15 s without renewal), then an API process's recovery fails it.
    const failed = await eventually(() => get(apiB, doomed.id), terminal, 40_000);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, LEASE_LAPSED_ERROR);
    assert.match(failed.error!, /lease expired/);
    assert.ok(!victim.claims().some((id) => others.some((p) => p.id === id)));

    const page = (await (await apiA.fetch('/predictions')).json()) as { results: Wire[] };
    assert.deepEqual(page.results.filter((p) => p.status === 'processing' || p.status === 'starting').map((p) => p.id), [], 'none left processing');
  });
});
