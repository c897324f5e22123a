import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { LEASE_LAPSED_ERROR } from '../../src/server/types.js';
import { eventually, HOSTED_VERSION, QUICK_INPUT, startServe, type Serve } from '../helpers/serve.js';

// What the API process does on its own, on a timer: the lease rule and retention.

interface Wire {
  readonly id: string;
  readonly status: string;
  readonly error: string | null;
  readonly logs: string;
  readonly input: Record<string, unknown>;
  readonly output: readonly string[] | null;
  readonly data_removed: boolean;
}

const get = async (serve: Serve, id: string) => (await (await serve.fetch(`/predictions/${id}`)).json()) as Wire;

describe('housekeeping in the API process', () => {
  it('after a crash of the whole server (kill -9) mid-run and a restart, fails the running prediction by the lease rule, sends its `completed` webhook, and runs the queued ones', async () => {
    const bodies: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const serve = await startServe();
    let restarted: Serve | undefined;
    try {
      const r = await serve.fetch('/predictions', {
        method: 'POST',
        json: { version: HOSTED_VERSION, input: { ...QUICK_INPUT, num_inference_steps: 400 }, webhook: hook, webhook_events_filter: ['completed'] },
      });
      const { id } = (await r.json()) as Wire;
      await eventually(() => get(serve, id), (p) => / \d+\/400 /.test(p.logs));
      const queued: string[] = [];
      for (let i = 0; i < 2; i++) {
        const q = await serve.fetch('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
        queued.push(((await q.json()) as Wire).id);
      }
      await serve.crash();

      restarted = await startServe(['--data', serve.dataDir]);
      const server = restarted;
      // The lease lapses 15 s after its last renewal; the restarted server's recovery fails it then.
      const failed = await eventually(() => get(server, id), (p) => p.status !== 'processing', 40_000);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error, LEASE_LAPSED_ERROR);
      const delivered = await eventually(async () => bodies.map((b) => JSON.parse(b) as Wire).filter((b) => b.id === id), (d) => d.length > 0, 10_000);
      assert.equal(delivered.length, 1);
      assert.equal(delivered[0].status, 'failed');
      assert.equal(delivered[0].error, LEASE_LAPSED_ERROR);
      // Nothing queued was lost: each runs on the restarted server.
      for (const q of queued) assert.equal((await eventually(() => get(server, q), (p) => p.status === 'succeeded', 30_000)).status, 'succeeded');
    } finally {
      await restarted?.stop();
      receiver.close();
    }
  });

  it('--retention removes the input, output and logs of finished predictions after that many seconds; their output URLs answer 404', async () => {
    const serve = await startServe(['--retention', '2']);
    try {
      const created = await serve.fetch('/predictions', { method: 'POST', headers: { prefer: 'wait' }, json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
      const done = (await created.json()) as Wire;
      assert.equal(done.status, 'succeeded');
      assert.equal(done.data_removed, false);
      const page = (await (await serve.fetch('/predictions')).json()) as { results: Wire[] };
      const fileUrl = page.results.find((p) => p.id === done.id)!.output![0];
      assert.equal((await fetch(fileUrl)).status, 200);

      const removed = await eventually(() => get(serve, done.id), (p) => p.data_removed, 10_000);
      assert.equal(removed.data_removed, true);
      assert.deepEqual(removed.input, {});
      assert.equal(removed.output, null);
      assert.equal(removed.logs, '');
      assert.equal(removed.status, 'succeeded', 'the prediction itself stays');
      assert.equal((await fetch(fileUrl)).status, 404);
    } finally {
      await serve.stop();
    }
  });

  it('--retention 0 keeps everything; a negative retention is refused', async () => {
    const serve = await startServe(['--retention', '0']);
    try {
      const created = await serve.fetch('/predictions', { method: 'POST', headers: { prefer: 'wait' }, json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
      const done = (await created.json()) as Wire;
      await new Promise((r) => setTimeout(r, 1500));
      const kept = await get(serve, done.id);
      assert.equal(kept.data_removed, false);
      assert.deepEqual(kept.input, QUICK_INPUT);
    } finally {
      await serve.stop();
    }
    await assert.rejects(startServe(['--retention', '-1']), /--retention.*expected 0 or a positive integer/);
  });
});
