import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { eventually, HOSTED_VERSION, QUICK_INPUT, startServe, type Serve } from '../helpers/serve.js';

// The wire as curl sees it (replicate-api.md §3-§16): the seeds' requests, and every refusal as problem+json.

const CREATE = '/predictions';

describe('kandinsky serve on the wire', () => {
  let serve: Serve;
  before(async () => {
    serve = await startServe();
  });
  after(() => serve.stop());

  async function problem(r: Response, status: number): Promise<unknown> {
    assert.equal(r.status, status);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json\b/);
    return r.json();
  }

  it("answers the seed's curl requests: create with Prefer: wait, get, and a body-less cancel", async () => {
    // Seed 000's request as written, with a 2 s wait instead of 60 (1024 px at 75+25+25 steps takes longer).
    const body = `{\n    "version": "${HOSTED_VERSION}",\n    "input": {\n        "width": 1024,\n        "height": 1024\n    }\n}\n`;
    const created = await serve.fetch(CREATE, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=2' }, body });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('preference-applied'), 'wait=2');
    const p = (await created.json()) as { id: string; status: string; output: unknown; urls: Record<string, string> };
    assert.equal(created.headers.get('location'), p.urls.get);
    // A wait that expires answers `starting` (never `processing` without output, §8).
    assert.equal(p.status, 'starting');
    assert.equal(p.output, null);
    const got = (await (await serve.fetch(`/predictions/${p.id}`)).json()) as { status: string };
    assert.ok(['starting', 'processing'].includes(got.status));
    const canceled = await serve.fetch(`/predictions/${p.id}/cancel`, { method: 'POST' });
    assert.equal(canceled.status, 200);
    const done = await eventually(async () => (await (await serve.fetch(`/predictions/${p.id}`)).json()) as { status: string; completed_at?: string }, (q) => q.status === 'canceled');
    assert.equal(done.status, 'canceled');
    assert.ok(done.completed_at);
  });

  it('runs the seed’s second request shape to success with data URI outputs, and a JSON content type with an empty body never 400s', async () => {
    const r = await serve.fetch(CREATE, {
      method: 'POST',
      headers: { prefer: 'wait' },
      json: { version: HOSTED_VERSION, input: { ...QUICK_INPUT, prompt: 'A moss covered astronaut with a black background', num_outputs: 1, output_format: 'webp' } },
    });
    assert.equal(r.status, 201);
    const p = (await r.json()) as { id: string; status: string; output: string[]; metrics: Record<string, number> };
    assert.equal(p.status, 'succeeded');
    assert.match(p.output[0], /^data:image\/webp;base64,/);
    assert.ok(p.metrics.predict_time > 0 && p.metrics.total_time >= p.metrics.predict_time);
    const cancel = await serve.fetch(`/predictions/${p.id}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(cancel.status, 200);
    assert.equal(((await cancel.json()) as { status: string }).status, 'succeeded');
  });

  it('refuses a missing or unknown token with the exact 401 body, with either scheme accepted', async () => {
    for (const authorization of ['', 'Bearer nope', 'Token nope']) {
      const r = await serve.fetch('/predictions', { headers: { authorization } });
      assert.deepEqual(await problem(r, 401), { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 });
    }
    assert.equal((await serve.fetch('/account', { headers: { authorization: `Token ${serve.token}` } })).status, 200);
  });

  it('answers 422 with invalid_fields exactly as Replicate for bad inputs, and stores nothing', async () => {
    const cases: [Record<string, unknown>, unknown][] = [
      [{ width: 1000 }, { type: 'enum', field: 'input.width', description: 'width must be one of the following: 384, 512, 576, 640, 704, 768, 960, 1024, 1152, 1280, 1536, 1792, 2048' }],
      [{ output_format: 'gif' }, { type: 'enum', field: 'input.output_format', description: 'output_format must be one of the following: "webp", "jpeg", "png"' }],
      [{ num_outputs: 5 }, { type: 'number_lte', field: 'input.num_outputs', description: 'Must be less than or equal to 4' }],
      [{ seed: null }, { type: 'invalid_type', field: 'input.seed', description: 'Invalid type. Expected: integer, given: null' }],
    ];
    const before = ((await (await serve.fetch('/predictions')).json()) as { results: unknown[] }).results.length;
    for (const [input, entry] of cases) {
      const r = await serve.fetch(CREATE, { method: 'POST', json: { version: HOSTED_VERSION, input } });
      const e = entry as { field: string; description: string };
      assert.deepEqual(await problem(r, 422), { detail: `- ${e.field}: ${e.description}\n`, status: 422, title: 'Input validation failed', invalid_fields: [entry] });
    }
    const extra = await serve.fetch(CREATE, { method: 'POST', json: { version: HOSTED_VERSION, input: {}, model: 'x' } });
    assert.deepEqual(((await problem(extra, 422)) as { invalid_fields: unknown[] }).invalid_fields, [
      { type: 'additional_property_not_allowed', field: '', description: 'Additional property model is not allowed' },
    ]);
    assert.equal(((await (await serve.fetch('/predictions')).json()) as { results: unknown[] }).results.length, before);
  });

  it('answers an unknown version with the 422 of §5.2 and an unknown model with 404', async () => {
    const r = await serve.fetch(CREATE, { method: 'POST', json: { version: 'f'.repeat(64), input: {} } });
    assert.deepEqual(await problem(r, 422), {
      title: 'Invalid version or not permitted',
      detail: "The specified version does not exist (or perhaps you don't have permission to use it?)",
      status: 422,
    });
    await problem(await serve.fetch('/models/nobody/nothing/predictions', { method: 'POST', json: { input: {} } }), 404);
    await problem(await serve.fetch('/predictions/aaaaaaaaaaaaaaaaaaaaaaaaaa'), 404);
  });

  it('answers malformed JSON with 400 and an oversize body with 413', async () => {
    const bad = await serve.fetch(CREATE, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"version": ' });
    assert.deepEqual(await problem(bad, 400), { title: 'Bad request', detail: 'Invalid JSON', status: 400 });
    // Refused from its announced length, before it is read.
    const huge = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request(`${serve.api}/predictions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json', 'content-length': String(65 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] ?? '', body }));
      });
      req.on('error', reject);
      req.write('{"version":');
    });
    assert.equal(huge.status, 413);
    assert.match(huge.type, /^application\/problem\+json/);
    assert.equal(JSON.parse(huge.body).status, 413);
  });

  it('serves the models, their versions, the account and the webhook secret, under /v1 and /v1/v1 alike', async () => {
    const models = (await (await serve.fetch('/models')).json()) as { results: { owner: string; name: string }[]; next: null };
    assert.ok(models.results.some((m) => m.owner === 'ai-forever' && m.name === 'kandinsky-2.2'));
    const version = (await (await serve.fetch(`${serve.url}/v1/v1/models/ai-forever/kandinsky-2.2/versions/${HOSTED_VERSION}`)).json()) as Record<string, unknown>;
    assert.equal(version.id, HOSTED_VERSION);
    assert.equal(typeof version.cog_version, 'string');
    const versions = (await (await serve.fetch('/models/ai-forever/kandinsky-2.2/versions')).json()) as { results: { id: string }[] };
    assert.equal(versions.results.length, 3);
    const account = (await (await serve.fetch('/account')).json()) as { type: string; name: string };
    assert.equal(account.type, 'user');
    const secret = (await (await serve.fetch('/webhooks/default/secret')).json()) as { key: string };
    assert.match(secret.key, /^whsec_[A-Za-z0-9+/]{32}$/);
  });

  it('uploads, lists, gets and deletes files per account; over 100 MB is a 413', async () => {
    const form = new FormData();
    form.set('content', new Blob([Buffer.from('hello')], { type: 'text/plain' }), 'hello.txt');
    form.set('metadata', new Blob([JSON.stringify({ a: 1 })], { type: 'application/json' }));
    const r = await serve.fetch('/files', { method: 'POST', body: form });
    assert.equal(r.status, 201);
    const file = (await r.json()) as { id: string; name: string; size: number; etag: string; metadata: unknown; urls: { get: string } };
    assert.deepEqual([file.name, file.size, file.etag, file.metadata], ['hello.txt', 5, '5d41402abc4b2a76b9719d911017c592', { a: 1 }]);
    assert.equal(file.urls.get, `${serve.api}/files/${file.id}`);
    assert.equal(((await (await serve.fetch('/files')).json()) as { results: unknown[] }).results.length, 1);
    assert.equal((await serve.fetch(`/files/${file.id}`, { headers: { authorization: 'Bearer r8_test_token_b' } })).status, 404);
    assert.equal((await serve.fetch(`/files/${file.id}`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await problem(await serve.fetch(`/files/${file.id}`), 404), { detail: 'File not found' });
    const big = new FormData();
    big.set('content', new Blob([Buffer.alloc(100 * 1024 * 1024 + 1)]), 'big.bin');
    assert.deepEqual(await problem(await serve.fetch('/files', { method: 'POST', body: big }), 413), { detail: 'Files must be less than 100MB in size' });
  });

  it('takes an uploaded image as an img2img input, and refuses a corrupt one with a 422 on its field', async () => {
    const png = await sharp({ create: { width: 384, height: 384, channels: 3, background: '#804020' } }).png().toBuffer();
    const form = new FormData();
    form.set('content', new Blob([png], { type: 'image/png' }), 'in.png');
    const file = (await (await serve.fetch('/files', { method: 'POST', body: form })).json()) as { urls: { get: string } };
    const models = (await (await serve.fetch('/models')).json()) as { results: { owner: string; name: string }[] };
    const img2img = models.results.find((m) => m.name.endsWith('img2img'))!;
    const path = `/models/${img2img.owner}/${img2img.name}/predictions`;
    const ok = await serve.fetch(path, { method: 'POST', headers: { prefer: 'wait' }, json: { input: { ...QUICK_INPUT, num_inference_steps: 7, image: file.urls.get } } });
    assert.equal(ok.status, 201);
    const done = (await ok.json()) as { status: string; error: string | null };
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const bad = await serve.fetch(path, { method: 'POST', json: { input: { ...QUICK_INPUT, image: 'data:image/png;base64,iVBORw0KGgoAAAAAAA' } } });
    const body = (await problem(bad, 422)) as { invalid_fields: { field: string }[] };
    assert.deepEqual(body.invalid_fields.map((f) => f.field), ['input.image']);
    // Two steps at the default strength 0.3: int(2 x 0.3) = 0 steps would run.
    const before = ((await (await serve.fetch('/predictions')).json()) as { results: unknown[] }).results.length;
    const none = await serve.fetch(path, { method: 'POST', json: { input: { ...QUICK_INPUT, image: file.urls.get } } });
    const refused = (await problem(none, 422)) as { invalid_fields: { type: string; field: string }[] };
    assert.deepEqual(refused.invalid_fields.map((f) => [f.type, f.field]), [['number_gte', 'input.strength']]);
    assert.equal(((await (await serve.fetch('/predictions')).json()) as { results: unknown[] }).results.length, before, 'nothing stored');
  });
});

describe('kandinsky serve with an https public URL', () => {
  it('gives file URLs everywhere, served without a token with their type and length', async () => {
    const serve = await startServe(['--public-url', 'https://k.example']);
    try {
      const r = await serve.fetch('/predictions', { method: 'POST', headers: { prefer: 'wait' }, json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
      const p = (await r.json()) as { output: string[]; urls: Record<string, string> };
      assert.match(p.output[0], /^https:\/\/k\.example\/v1\/outputs\/[a-z2-7]{26}\/[\w-]+\/out-0\.webp$/);
      assert.ok(p.urls.stream.startsWith('https://k.example/v1/files/'));
      const local = p.output[0].replace('https://k.example', serve.url);
      const file = await fetch(local);
      assert.equal(file.status, 200);
      assert.equal(file.headers.get('content-type'), 'image/webp');
      const bytes = Buffer.from(await file.arrayBuffer());
      assert.equal(Number(file.headers.get('content-length')), bytes.length);
      assert.equal((await sharp(bytes).metadata()).format, 'webp');
      assert.equal((await fetch(local.replace(/\/[\w-]+\/out-0/, '/wrong-secret/out-0'))).status, 404);
    } finally {
      await serve.stop();
    }
  });
});

describe('kandinsky serve with no token configured', () => {
  it('makes one at first start, prints it with a URL that signs the playground in, and keeps it in tokens.json', async () => {
    const serve = await startServe([], { KANDINSKY_API_TOKENS: '' });
    try {
      const printed = await eventually(async () => serve.output(), (o) => /#token=\S+\n/.test(o), 5000);
      const m = /Open the playground signed in: (\S+)\/#token=(\S+)/.exec(printed);
      assert.ok(m, serve.output());
      assert.equal(m[1], serve.url);
      const token = m[2];
      assert.equal((await serve.fetch('/account', { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal((await serve.fetch('/account')).status, 401);
      assert.deepEqual(JSON.parse(readFileSync(join(serve.dataDir, 'tokens.json'), 'utf8')), [{ token }]);
    } finally {
      await serve.stop();
    }
  });
});
