import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, HOSTED_VERSION, QUICK_INPUT, startServe, type Serve } from '../helpers/serve.js';

// Inference runs in a worker child process: its death or a timeout fails the prediction, never the API.

interface Wire {
  readonly id: string;
  readonly status: string;
  readonly error: string | null;
  readonly logs: string;
}

async function create(serve: Serve, input: Record<string, unknown>, prefer?: string): Promise<Wire> {
  const r = await serve.fetch('/predictions', { method: 'POST', headers: prefer ? { prefer } : {}, json: { version: HOSTED_VERSION, input } });
  return (await r.json()) as Wire;
}

const get = async (serve: Serve, id: string) => (await (await serve.fetch(`/predictions/${id}`)).json()) as Wire;

/** Long enough on the tiny models that a kill lands mid-run. */
const LONG_INPUT = { ...QUICK_INPUT, num_inference_steps: 400 };

describe('worker processes', () => {
  it('fails the running prediction when its worker is killed (kill -9), restarts the worker, and runs the next', async () => {
    const serve = await startServe();
    try {
      const long = await create(serve, LONG_INPUT);
      await eventually(() => get(serve, long.id), (p) => / \d+\/400 /.test(p.logs));
      const worker = serve.workerPid();
      assert.notEqual(worker, serve.process.pid);
      process.kill(worker, 'SIGKILL');
      const failed = await eventually(() => get(serve, long.id), (p) => p.status === 'failed', 30_000);
      assert.equal(failed.status, 'failed');
      assert.match(failed.error ?? '', /worker process died \(signal SIGKILL\)/);
      const next = await create(serve, QUICK_INPUT, 'wait');
      assert.equal(next.status, 'succeeded');
      assert.notEqual(serve.workerPid(), worker);
    } finally {
      await serve.stop();
    }
  });

  it('--timeout kills a prediction that runs too long and fails it; --max-queue answers 429 past the queue', async () => {
    // 6 s: long enough that the queue checks below happen while the long one still runs, even on a busy machine.
    const serve = await startServe(['--timeout', '6', '--max-queue', '1']);
    try {
      // Far longer than the timeout on any machine (the tiny models still take tens of seconds for this).
      const long = await create(serve, { ...LONG_INPUT, width: 1024, height: 1024, num_inference_steps: 500 });
      await eventually(() => get(serve, long.id), (p) => p.status === 'processing');
      const queued = await serve.fetch('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
      assert.equal(queued.status, 201);
      const refused = await serve.fetch('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '1');
      const failed = await eventually(() => get(serve, long.id), (p) => p.status === 'failed', 30_000);
      assert.equal(failed.error, 'Prediction timed out after 6 seconds');
      // The queued one runs on the restarted worker.
      const { id } = (await queued.json()) as Wire;
      assert.equal((await eventually(() => get(serve, id), (p) => p.status === 'succeeded', 30_000)).status, 'succeeded');
    } finally {
      await serve.stop();
    }
  });

  it('on SIGTERM stops taking requests but lets the running prediction finish', async () => {
    const serve = await startServe();
    const p = await create(serve, { ...QUICK_INPUT, num_inference_steps: 30 });
    await eventually(() => get(serve, p.id), (q) => q.status === 'processing');
    await serve.stop();
    assert.match(serve.output(), /SIGTERM: finishing the running prediction/);
    // A server on the same data folder (a later --data wins) finds it finished.
    const reopened = await startServe(['--data', serve.dataDir]);
    try {
      assert.equal((await get(reopened, p.id)).status, 'succeeded');
    } finally {
      await reopened.stop();
    }
  });
});
