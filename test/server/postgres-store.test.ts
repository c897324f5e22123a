// The Store on a real PostgreSQL server (Debian's packages, started on loopback by test/helpers/postgres.ts):
// the store's behaviours, wake-ups through LISTEN/NOTIFY from other connections and processes, and the
// scale-out property: several worker processes share one queue, each prediction runs once, a killed
// worker's prediction is recovered by the lease rule.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { InputError, LeaseLostError } from '../../src/errors.js';
import { newPredictionId } from '../../src/server/store/ids.js';
import { openPostgresStore, type PostgresStore } from '../../src/server/store/postgres-store.js';
import { LEASE_LAPSED_ERROR, type OutputFile, type PredictionRecord, type UploadedFile } from '../../src/server/types.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../helpers/postgres.js';

const CLAIMER = fileURLToPath(new URL('./postgres-claimer.js', import.meta.url));

function isoAt(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

let clock = Date.parse('2024-09-12T22:22:51.000Z');
function prediction(overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  clock += 1000;
  return {
    id: newPredictionId(),
    account: 'alice',
    model: 'ai-forever/kandinsky-2.2',
    version: 'a'.repeat(64),
    input: { prompt: 'a moss covered astronaut', width: 384, height: 384 },
    status: 'starting',
    logs: '',
    output: null,
    error: null,
    createdAt: isoAt(clock),
    startedAt: null,
    completedAt: null,
    webhook: null,
    webhookEventsFilter: null,
    stream: false,
    secret: randomBytes(16).toString('hex'),
    cancelRequested: false,
    dataRemoved: false,
    ...overrides,
  };
}

function outputOf(text: string, name = 'out-0.webp'): { file: OutputFile; bytes: Uint8Array } {
  const bytes = new TextEncoder().encode(text);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { file: { name, contentType: 'image/webp', size: bytes.length, sha256 }, bytes };
}

/** Resolves with the first id the store reports changed that satisfies `wanted`. */
function nextChange(store: PostgresStore, wanted: (id: string) => boolean = () => true): Promise<string> {
  return new Promise((resolve) => {
    const stop = store.onChange((id) => {
      if (!wanted(id)) return;
      stop();
      resolve(id);
    });
  });
}

describe('PostgresStore', { skip: postgresMissing() }, () => {
  let server: PostgresServer;
  const stores: PostgresStore[] = [];
  const children: ChildProcess[] = [];

  async function openStore(url?: string): Promise<PostgresStore> {
    const store = await openPostgresStore(url ?? (await server.createDatabase()));
    stores.push(store);
    return store;
  }

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(stores.map((s) => s.close()));
    await server?.stop();
  });

  describe('predictions', () => {
    it('stores a prediction and gives it back as created, input echoed key for key', async () => {
      const store = await openStore();
      const p = prediction({ input: { z: 1, a: [1, 2], prompt: 'x' }, webhook: 'https://example.com/h', webhookEventsFilter: ['completed'], stream: true });
      assert.equal(await store.createPrediction(p), true);
      const got = await store.getPrediction(p.id);
      assert.deepEqual(got, p);
      assert.deepEqual(Object.keys(got!.input), ['z', 'a', 'prompt']);
      assert.equal(await store.getPrediction('nosuchprediction'), undefined);
    });

    it('refuses a prediction when maxQueue predictions already wait, and takes it once one is claimed', async () => {
      const store = await openStore();
      assert.equal(await store.createPrediction(prediction(), 2), true);
      assert.equal(await store.createPrediction(prediction(), 2), true);
      const third = prediction();
      assert.equal(await store.createPrediction(third, 2), false);
      assert.equal(await store.getPrediction(third.id), undefined);
      await store.claimNext('w1', 10_000);
      assert.equal(await store.createPrediction(third, 2), true);
    });

    it('enforces maxQueue across concurrent creates from several connections', async () => {
      const url = await server.createDatabase();
      const a = await openStore(url);
      const b = await openStore(url);
      const accepted = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).createPrediction(prediction(), 5)));
      assert.equal(accepted.filter(Boolean).length, 5);
    });

    it('lists an account newest first in pages, next and previous walking both ways with opaque cursors', async () => {
      const store = await openStore();
      const mine: PredictionRecord[] = [];
      for (let i = 0; i < 7; i++) {
        const p = prediction();
        mine.push(p);
        await store.createPrediction(p);
        await store.createPrediction(prediction({ account: 'bob' }));
      }
      const newestFirst = mine.map((p) => p.id).reverse();
      const first = await store.listPredictions('alice', { limit: 3 });
      assert.deepEqual(first.results.map((p) => p.id), newestFirst.slice(0, 3));
      assert.equal(first.previous, null);
      assert.ok(first.next);
      assert.doesNotMatch(first.next, /alice|2024|:/);
      const second = await store.listPredictions('alice', { limit: 3, cursor: first.next });
      assert.deepEqual(second.results.map((p) => p.id), newestFirst.slice(3, 6));
      const third = await store.listPredictions('alice', { limit: 3, cursor: second.next! });
      assert.deepEqual(third.results.map((p) => p.id), newestFirst.slice(6));
      assert.equal(third.next, null);
      const back = await store.listPredictions('alice', { limit: 3, cursor: third.previous! });
      assert.deepEqual(back.results.map((p) => p.id), newestFirst.slice(3, 6));
      const start = await store.listPredictions('alice', { limit: 3, cursor: back.previous! });
      assert.deepEqual(start.results.map((p) => p.id), newestFirst.slice(0, 3));
      assert.equal(start.previous, null);
      assert.equal((await store.listPredictions('alice', {})).results.length, 7);
    });

    it('filters a list by created_after (inclusive) and created_before (exclusive)', async () => {
      const store = await openStore();
      const ps = [prediction(), prediction(), prediction()];
      for (const p of ps) await store.createPrediction(p);
      const page = await store.listPredictions('alice', { createdAfter: ps[1].createdAt, createdBefore: new Date(Date.parse(ps[2].createdAt)).toISOString() });
      assert.deepEqual(page.results.map((p) => p.id), [ps[1].id]);
    });

    it('refuses a cursor it did not make with an InputError naming the cursor', async () => {
      const store = await openStore();
      await assert.rejects(store.listPredictions('alice', { cursor: 'not-a-cursor' }), (e: unknown) => e instanceof InputError && /cursor/.test(e.message));
    });

    it('cancels a starting prediction at once, asks a processing one to stop, leaves a finished one as it is', async () => {
      const store = await openStore();
      const waiting = prediction();
      await store.createPrediction(waiting);
      const canceled = await store.cancelPrediction(waiting.id);
      assert.equal(canceled?.status, 'canceled');
      assert.ok(canceled?.completedAt);
      assert.equal(await store.claimNext('w1', 10_000), undefined);

      const running = prediction();
      await store.createPrediction(running);
      await store.claimNext('w1', 10_000);
      const asked = await store.cancelPrediction(running.id);
      assert.equal(asked?.status, 'processing');
      assert.equal(asked?.cancelRequested, true);
      await store.finishPrediction(running.id, 'w1', { status: 'canceled' });
      const done = await store.getPrediction(running.id);
      assert.equal(done?.status, 'canceled');
      assert.equal(done?.output, null);
      assert.deepEqual(await store.cancelPrediction(running.id), done);
      assert.equal(await store.cancelPrediction('nosuchprediction'), undefined);
    });
  });

  describe('queue and leases', () => {
    it('claims the oldest starting prediction first, marks it processing with started_at, and each only once', async () => {
      const store = await openStore();
      const ps = [prediction(), prediction(), prediction()];
      for (const p of [ps[2], ps[0], ps[1]]) await store.createPrediction(p);
      const claimed = [await store.claimNext('w1', 10_000), await store.claimNext('w2', 10_000), await store.claimNext('w1', 10_000)];
      assert.deepEqual(claimed.map((p) => p?.id), ps.map((p) => p.id));
      for (const p of claimed) {
        assert.equal(p?.status, 'processing');
        assert.match(p?.startedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      }
      assert.equal(await store.claimNext('w1', 10_000), undefined);
    });

    it('keeps a renewed lease and fails a lapsed one with a clear error; the late worker can no longer touch it', async () => {
      const store = await openStore();
      const p = prediction();
      await store.createPrediction(p);
      await store.claimNext('w1', 200);
      assert.equal(await store.renewLease(p.id, 'w1', 60_000), true);
      assert.equal(await store.renewLease(p.id, 'w2', 60_000), false);
      assert.equal(await store.recoverLapsedLeases(), 0);
      await store.appendLogs(p.id, 'w1', 'Using seed: 7\n');

      assert.equal(await store.recoverLapsedLeases(Date.now() + 120_000), 1);
      const failed = await store.getPrediction(p.id);
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.error, LEASE_LAPSED_ERROR);
      assert.ok(failed?.completedAt);
      assert.equal(failed?.logs, 'Using seed: 7\n');
      assert.equal(await store.renewLease(p.id, 'w1', 60_000), false);
      await assert.rejects(store.appendLogs(p.id, 'w1', 'late\n'), LeaseLostError);
      await assert.rejects(store.finishPrediction(p.id, 'w1', { status: 'succeeded', outputs: [outputOf('late')] }), LeaseLostError);
      assert.equal((await store.getPrediction(p.id))?.status, 'failed');
      assert.equal(await store.readOutput(p.id, 'out-0.webp'), undefined);
    });

    it('recovers a lease by the database clock once it lapses', async () => {
      const store = await openStore();
      const p = prediction();
      await store.createPrediction(p);
      await store.claimNext('w1', 100);
      await sleep(250);
      assert.equal(await store.recoverLapsedLeases(), 1);
      assert.equal((await store.getPrediction(p.id))?.status, 'failed');
    });

    it('finishes with its outputs stored in the database, and a failure with its error and no output', async () => {
      const store = await openStore();
      const good = prediction();
      const bad = prediction();
      await store.createPrediction(good);
      await store.createPrediction(bad);
      await store.claimNext('w1', 10_000);
      await store.claimNext('w1', 10_000);
      const outputs = [outputOf('first image'), outputOf('second image', 'out-1.webp')];
      await store.finishPrediction(good.id, 'w1', { status: 'succeeded', outputs });
      const done = await store.getPrediction(good.id);
      assert.equal(done?.status, 'succeeded');
      assert.deepEqual(done?.output, outputs.map((o) => o.file));
      assert.ok(done?.completedAt);
      assert.deepEqual(await store.readOutput(good.id, 'out-1.webp'), outputs[1].bytes);
      assert.equal(await store.readOutput(good.id, 'out-2.webp'), undefined);

      await store.finishPrediction(bad.id, 'w1', { status: 'failed', error: 'CUDA out of memory' });
      const failed = await store.getPrediction(bad.id);
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.error, 'CUDA out of memory');
      assert.equal(failed?.output, null);
    });
  });

  describe('retention', () => {
    it('removes input, output files and logs of predictions completed before the cutoff, and says so', async () => {
      const url = await server.createDatabase();
      const store = await openStore(url);
      const other = await openStore(url);
      const old = prediction();
      const running = prediction();
      await store.createPrediction(old);
      await store.createPrediction(running);
      await store.claimNext('w1', 60_000);
      await store.appendLogs(old.id, 'w1', 'Using seed: 3\n');
      await store.finishPrediction(old.id, 'w1', { status: 'succeeded', outputs: [outputOf('img')] });
      await store.claimNext('w1', 60_000);
      const woken = nextChange(other, (id) => id === old.id);
      assert.equal(await store.removeDataOlderThan(new Date(Date.now() + 60_000).toISOString()), 1);
      await woken;
      const removed = await store.getPrediction(old.id);
      assert.equal(removed?.dataRemoved, true);
      assert.deepEqual(removed?.input, {});
      assert.equal(removed?.output, null);
      assert.equal(removed?.logs, '');
      assert.equal(removed?.status, 'succeeded');
      assert.equal(await store.readOutput(old.id, 'out-0.webp'), undefined);
      assert.equal((await store.getPrediction(running.id))?.dataRemoved, false);
      assert.equal(await store.removeDataOlderThan(new Date(Date.now() + 60_000).toISOString()), 0);
      await assert.rejects(store.removeDataOlderThan('yesterday'), InputError);
    });
  });

  describe('uploads and the webhook outbox', () => {
    it('keeps uploads with their bytes, lists an account newest first, deletes them', async () => {
      const store = await openStore();
      const file = (id: string, account: string, createdAt: string): UploadedFile => ({
        id,
        account,
        name: `${id}.png`,
        contentType: 'image/png',
        size: 3,
        sha256: 'e'.repeat(64),
        md5: 'd'.repeat(32),
        metadata: { b: 1, a: { c: [true] } },
        createdAt,
        expiresAt: null,
      });
      await store.createUpload(file('one', 'alice', '2024-08-22T12:26:51.079000Z'), new Uint8Array([0, 255, 7]));
      await store.createUpload(file('two', 'alice', '2024-08-22T12:26:52.079000Z'), new Uint8Array([1, 2, 3]));
      await store.createUpload(file('three', 'bob', '2024-08-22T12:26:53.079000Z'), new Uint8Array([4, 5, 6]));
      const got = await store.getUpload('one');
      assert.deepEqual(got?.file, file('one', 'alice', '2024-08-22T12:26:51.079000Z'));
      assert.deepEqual(got?.bytes, new Uint8Array([0, 255, 7]));
      assert.deepEqual((await store.listUploads('alice')).map((f) => f.id), ['two', 'one']);
      assert.equal(await store.deleteUpload('one'), true);
      assert.equal(await store.deleteUpload('one'), false);
      assert.equal(await store.getUpload('one'), undefined);
    });

    it('hands out due deliveries once, reschedules failed ones, drops delivered and given-up ones', async () => {
      const store = await openStore();
      const t = 1_700_000_000_000;
      await store.enqueueWebhook({ id: 'd1', predictionId: 'p', url: 'https://example.com/h', event: 'completed', body: '{"id":"p"}', nextAttemptAt: t });
      await store.enqueueWebhook({ id: 'd2', predictionId: 'p', url: 'https://example.com/h', event: 'start', body: '{}', nextAttemptAt: t + 10 });
      await store.enqueueWebhook({ id: 'd3', predictionId: 'p', url: 'https://example.com/h', event: 'output', body: '{}', nextAttemptAt: t + 5_000 });
      const due = await store.dueWebhooks(t + 10, 10);
      assert.deepEqual(due.map((d) => [d.id, d.attempts, d.body]), [['d1', 0, '{"id":"p"}'], ['d2', 0, '{}']]);
      assert.deepEqual(await store.dueWebhooks(t + 10, 10), [], 'another sender does not get them too');
      await store.webhookFailed('d1', t + 1_000);
      await store.webhookDelivered('d2');
      assert.deepEqual((await store.dueWebhooks(t + 1_000, 10)).map((d) => [d.id, d.attempts]), [['d1', 1]]);
      await store.webhookFailed('d1', null);
      assert.deepEqual((await store.dueWebhooks(t + 100_000, 10)).map((d) => d.id), ['d3']);
    });
  });

  describe('wake-ups', () => {
    it('wakes a listener on another connection for every change, after the change is readable', async () => {
      const url = await server.createDatabase();
      const api = await openStore(url);
      const worker = await openStore(url);
      const p = prediction();
      /** What the API process reads when woken by the next change. */
      const readOnWake = () => nextChange(api).then((id) => api.getPrediction(id));
      const states: string[] = [];
      const record = async (change: Promise<unknown>) => {
        const woken = readOnWake();
        await change;
        const r = await woken;
        states.push(`${r?.status}:${r?.logs.length}:${r?.output?.length ?? 0}`);
      };
      await record(worker.createPrediction(p));
      await record(worker.claimNext('w1', 10_000));
      await record(worker.appendLogs(p.id, 'w1', 'Using seed: 1\n'));
      await record(worker.finishPrediction(p.id, 'w1', { status: 'succeeded', outputs: [outputOf('x')] }));
      assert.deepEqual(states, ['starting:0:0', 'processing:0:0', 'processing:14:0', 'succeeded:14:1']);
    });

    it('tells its own listeners of its own changes once, right after the commit', async () => {
      const store = await openStore();
      const p = prediction();
      const seen: string[] = [];
      store.onChange((id) => seen.push(id));
      await store.createPrediction(p);
      await Promise.resolve();
      assert.deepEqual(seen, [p.id], 'before any NOTIFY could have come back');
      await sleep(200);
      assert.deepEqual(seen, [p.id], 'the NOTIFY of our own change is not told twice');
    });

    it('does not wake listeners for a lease renewal alone, and stops calling a removed listener', async () => {
      const store = await openStore();
      const p = prediction();
      await store.createPrediction(p);
      await store.claimNext('w1', 10_000);
      await sleep(100);
      let calls = 0;
      const stop = store.onChange(() => calls++);
      await store.renewLease(p.id, 'w1', 20_000);
      await sleep(200);
      assert.equal(calls, 0);
      await store.cancelPrediction(p.id);
      await sleep(200);
      assert.equal(calls, 1);
      stop();
      await store.appendLogs(p.id, 'w1', 'x');
      await sleep(200);
      assert.equal(calls, 1);
    });
  });

  describe('several worker processes on one queue', () => {
    function startWorker(
      url: string,
      name: string,
      leaseMs: number,
      workMs: number,
      onClaim: (id: string, child: ChildProcess) => void,
    ): Promise<number | null> {
      const child = fork(CLAIMER, [url, name, String(leaseMs), String(workMs)], { stdio: 'inherit' });
      children.push(child);
      child.on('message', (m: { claimed?: string }) => m.claimed && onClaim(m.claimed, child));
      return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    }

    it('runs each of 200 predictions exactly once across three processes', async () => {
      const url = await server.createDatabase();
      const api = await openStore(url);
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        const p = prediction();
        ids.push(p.id);
        await api.createPrediction(p);
      }
      const succeeded = new Set<string>();
      api.onChange((id) => void api.getPrediction(id).then((r) => r?.status === 'succeeded' && succeeded.add(id)));
      const claims = new Map<string, string[]>();
      const exits = await Promise.all(
        ['w1', 'w2', 'w3'].map((w) => startWorker(url, w, 5_000, 2, (id) => claims.set(id, [...(claims.get(id) ?? []), w]))),
      );
      assert.deepEqual(exits, [0, 0, 0]);
      assert.equal(claims.size, 200);
      assert.ok([...claims.values()].every((workers) => workers.length === 1));
      const byWorker = new Map<string, number>();
      for (const [w] of claims.values()) byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
      assert.equal(byWorker.size, 3, `every process took a share: ${[...byWorker]}`);
      for (const id of ids) {
        const r = await api.getPrediction(id);
        assert.equal(r?.status, 'succeeded');
        assert.equal(r?.logs, `claimed by ${claims.get(id)?.[0]}\n`);
        assert.deepEqual(await api.readOutput(id, 'out-0.txt'), new TextEncoder().encode(id));
      }
      await sleep(200);
      assert.equal(succeeded.size, 200, 'the API process was woken for every completion');
    });

    it('recovers the prediction of a worker killed mid-run by its lapsed lease; the others keep theirs', async () => {
      const url = await server.createDatabase();
      const api = await openStore(url);
      for (let i = 0; i < 200; i++) await api.createPrediction(prediction());
      const leaseMs = 400;
      // A recovery loop runs all along, as the API processes do: renewed leases must survive it.
      let recovering = true;
      let recovered = 0;
      const loop = (async () => {
        while (recovering) {
          recovered += await api.recoverLapsedLeases();
          await sleep(50);
        }
      })();

      let killedOn: string | undefined;
      const doomed = startWorker(url, 'doomed', leaseMs, 60_000, (id, child) => {
        killedOn = id;
        child.kill('SIGKILL');
      });
      const doomedChild = children.at(-1)!;
      const survivors = [startWorker(url, 'w1', leaseMs, 3, () => {}), startWorker(url, 'w2', leaseMs, 3, () => {})];
      assert.equal(await doomed, null);
      assert.equal(doomedChild.signalCode, 'SIGKILL');
      assert.deepEqual(await Promise.all(survivors), [0, 0]);
      assert.ok(killedOn);
      const deadline = Date.now() + 5_000;
      while ((await api.getPrediction(killedOn))?.status === 'processing' && Date.now() < deadline) await sleep(50);
      recovering = false;
      await loop;

      assert.equal(recovered, 1);
      const lost = await api.getPrediction(killedOn);
      assert.equal(lost?.status, 'failed');
      assert.equal(lost?.error, LEASE_LAPSED_ERROR);
      const all = await api.listPredictions('alice', { limit: 1000 });
      const statuses = all.results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 'succeeded').length, 199);
      assert.equal(statuses.filter((s) => s === 'processing' || s === 'starting').length, 0);
    });
  });
});
