// The Store on a real PostgreSQL server (Debian's packages, started on loopback by test/helpers/postgres.ts,
// one server for this file, a database per test): the Store contract, then what only PostgreSQL promises:
// wake-ups through LISTEN/NOTIFY from other connections and processes, limits that hold across connections,
// and the scale-out property: several worker processes share one queue, each prediction runs once, and a
// killed worker's prediction is recovered by the lease rule.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { StoreError } from '../../src/errors.js';
import { openPostgresStore, type PostgresStore } from '../../src/server/store/postgres-store.js';
import { timestampOf } from '../../src/server/store/timestamps.js';
import { LEASE_LAPSED_ERROR } from '../../src/server/types.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { describeStoreContract, newPrediction, outputOf } from './store-contract.js';

const CLAIMER = fileURLToPath(new URL('./postgres-claimer.js', import.meta.url));
const missing = postgresMissing();

let clock = Date.parse('2024-09-12T22:22:51.000Z');
/** Predictions one second apart, so that the queue's order is theirs. */
function prediction() {
  clock += 1000;
  return newPrediction({ createdAt: timestampOf(clock) });
}

const bytesOf = (text: string) => new TextEncoder().encode(text);

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

let server: PostgresServer | undefined;
before(async () => {
  if (!missing) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

if (missing) {
  describe('PostgresStore: the Store contract', { skip: missing }, () => {});
} else {
  describeStoreContract('PostgresStore', async () => {
    const url = await server!.createDatabase();
    return { store: await openPostgresStore(url), reopen: () => openPostgresStore(url), cleanup: async () => {} };
  });
}

describe('PostgresStore on a PostgreSQL server', { skip: missing }, () => {
  const stores: PostgresStore[] = [];
  const children: ChildProcess[] = [];

  async function openStore(url?: string): Promise<PostgresStore> {
    const store = await openPostgresStore(url ?? (await server!.createDatabase()));
    stores.push(store);
    return store;
  }

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(stores.map((s) => s.close()));
  });

  describe('opening', () => {
    it('creates the tables once when several stores open a new database together', async () => {
      const url = await server!.createDatabase();
      await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT version FROM kandinsky_schema');
      await client.end();
      assert.deepEqual(rows, [{ version: 1 }]);
    });

    it('refuses a database whose schema is newer than it knows, and an unreachable server, naming the URL without its password', async () => {
      const url = await server!.createDatabase();
      await (await openPostgresStore(url)).close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('UPDATE kandinsky_schema SET version = 99');
      await client.end();
      await assert.rejects(openPostgresStore(url), (e) => e instanceof StoreError && /schema version 99 is newer/.test(e.message));
      await assert.rejects(
        openPostgresStore(`postgres://postgres:hunter2@127.0.0.1:${server!.port}/no_such_database`),
        (e) => e instanceof StoreError && e.message.includes('no_such_database') && !e.message.includes('hunter2'),
      );
    });
  });

  describe('queue and leases', () => {
    it('enforces maxQueue across concurrent creates from several connections', async () => {
      const url = await server!.createDatabase();
      const a = await openStore(url);
      const b = await openStore(url);
      const accepted = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).createPrediction(prediction(), 5)));
      assert.equal(accepted.filter(Boolean).length, 5);
    });

    it('recovers a lease by the database clock once it lapses', async () => {
      const store = await openStore();
      const p = prediction();
      await store.createPrediction(p);
      await store.claimNext('w1', 100);
      await sleep(250);
      assert.deepEqual((await store.recoverLapsedLeases()).map((r) => r.id), [p.id]);
      assert.equal((await store.getPrediction(p.id))?.status, 'failed');
    });
  });

  describe('wake-ups through LISTEN/NOTIFY', () => {
    it('wakes a listener on another connection for every change, after the change is readable', async () => {
      const url = await server!.createDatabase();
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
      await record(worker.finishPrediction(p.id, 'w1', { status: 'succeeded', outputs: [outputOf('out-0.webp', bytesOf('x'))] }));
      assert.deepEqual(states, ['starting:0:0', 'processing:0:0', 'processing:14:0', 'succeeded:14:1']);
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

    it('listens again after its LISTEN connection is cut', async () => {
      const url = await server!.createDatabase();
      const api = await openStore(url);
      const worker = await openStore(url);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN kandinsky_prediction_changed'`);
      await admin.end();
      const p = prediction();
      const deadline = Date.now() + 10_000;
      let seen = false;
      api.onChange((id) => (seen ||= id === p.id));
      // The changes made while it was away are not replayed: keep changing until one is heard.
      await worker.createPrediction(p);
      await worker.claimNext('w1', 60_000);
      for (let i = 0; !seen && Date.now() < deadline; i++) {
        await worker.appendLogs(p.id, 'w1', `${i}\n`);
        await sleep(100);
      }
      assert.ok(seen);
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
      const url = await server!.createDatabase();
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
      const url = await server!.createDatabase();
      const api = await openStore(url);
      for (let i = 0; i < 200; i++) await api.createPrediction(prediction());
      const leaseMs = 400;
      // A recovery loop runs all along, as the API processes do: renewed leases must survive it.
      let recovering = true;
      let recovered = 0;
      const loop = (async () => {
        while (recovering) {
          recovered += (await api.recoverLapsedLeases()).length;
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
