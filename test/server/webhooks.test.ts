import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Replicate, { validateWebhook } from 'replicate';
import { signWebhook } from '../../src/server/webhook-signature.js';
import { eventually, HOSTED_VERSION, QUICK_INPUT, startServe, type Serve } from '../helpers/serve.js';

describe('webhook signatures (Standard Webhooks, replicate-api.md §14)', () => {
  it('reproduces worked example A (the Svix test vector)', () => {
    const h = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    assert.equal(h['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('reproduces worked example B (a Kandinsky start delivery), which the official client accepts', async () => {
    const body =
      '{"id":"3tsx2ijbtsa47m4mwbifyiglxm","model":"ai-forever/kandinsky-2.2","version":"ad9d7879fbffa2874e1d909d1d37d9bc682889cc65b31f7bb00d2362619f194a","input":{"prompt":"a red cat"},"logs":"","output":null,"data_removed":false,"error":null,"status":"starting","created_at":"2024-09-12T22:22:51.044455Z","urls":{"get":"https://k.example/v1/predictions/3tsx2ijbtsa47m4mwbifyiglxm","cancel":"https://k.example/v1/predictions/3tsx2ijbtsa47m4mwbifyiglxm/cancel"}}';
    const secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    const h = signWebhook(secret, 'msg_2lUwvlhGAjRt9OkKG3hJGC6Qh1X', 1726179771, body);
    assert.equal(h['webhook-signature'], 'v1,tvZaxQkYnesT/8hi+n9Fop7FrsRVzmGvVe5vkzwsBZM=');
    assert.equal(await validateWebhook({ id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'], body, secret }), true);
  });
});

interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

describe('webhooks from kandinsky serve', () => {
  let serve: Serve;
  let receiver: Server;
  let hookUrl: string;
  const deliveries: Delivery[] = [];
  /** Answers to give, in order, before answering 204. */
  const answers: number[] = [];
  before(async () => {
    serve = await startServe();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body, at: Date.now() });
        res.writeHead(answers.shift() ?? 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    await serve.stop();
    receiver.close();
  });

  const forPrediction = (id: string) => deliveries.filter((d) => (JSON.parse(d.body) as { id: string }).id === id);

  it('sends `output` and `completed` by default, signed with the secret the API serves, as validateWebhook checks', async () => {
    const replicate = new Replicate({ auth: serve.token, baseUrl: serve.api });
    const { key } = await replicate.webhooks.default.secret.get();
    const p = await replicate.predictions.create({ version: HOSTED_VERSION, input: QUICK_INPUT, webhook: hookUrl });
    const got = await eventually(async () => forPrediction(p.id), (d) => d.length >= 2);
    const bodies = got.map((d) => JSON.parse(d.body) as { status: string; output: string[] | null });
    assert.deepEqual(bodies.map((b) => b.status), ['succeeded', 'succeeded']);
    assert.match(bodies[1].output![0], /^http:\/\/127\.0\.0\.1:\d+\/v1\/outputs\//);
    for (const d of got) {
      const request = new Request(hookUrl, { method: 'POST', headers: d.headers as Record<string, string>, body: d.body });
      assert.equal(await validateWebhook(request, key), true);
    }
    // Nothing else arrives (no start or logs without asking).
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(forPrediction(p.id).length, 2);
  });

  it('retries a failed `completed` delivery with the same id and body, and never retries the others', async () => {
    answers.push(500, 500);
    const r = await serve.fetch('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input: QUICK_INPUT, webhook: hookUrl, webhook_events_filter: ['completed'] } });
    const { id } = (await r.json()) as { id: string };
    const got = await eventually(async () => forPrediction(id), (d) => d.length >= 3, 20_000);
    assert.equal(got.length, 3);
    assert.equal(new Set(got.map((d) => d.headers['webhook-id'])).size, 1);
    assert.equal(new Set(got.map((d) => d.body)).size, 1);
    assert.ok(got[2].at - got[1].at >= 1500, 'backoff grows');
  });

  it('sends `start`, then `logs` at most every 500 ms, when the filter asks for them', async () => {
    const r = await serve.fetch('/predictions', {
      method: 'POST',
      json: { version: HOSTED_VERSION, input: { ...QUICK_INPUT, num_inference_steps: 60 }, webhook: hookUrl, webhook_events_filter: ['start', 'logs', 'completed'] },
    });
    const { id } = (await r.json()) as { id: string };
    const got = await eventually(async () => forPrediction(id), (d) => d.some((x) => (JSON.parse(x.body) as { status: string }).status === 'succeeded'), 60_000);
    const statuses = got.map((d) => (JSON.parse(d.body) as { status: string }).status);
    assert.equal(statuses[0], 'processing');
    assert.equal(statuses.at(-1), 'succeeded');
    const logs = got.slice(1, -1);
    assert.ok(logs.length >= 1);
    for (let i = 1; i < logs.length; i++) assert.ok(logs[i].at - logs[i - 1].at >= 400, `logs deliveries ${logs[i].at - logs[i - 1].at} ms apart`);
  });
});
