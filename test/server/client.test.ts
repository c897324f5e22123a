import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Replicate, { type Prediction } from 'replicate';
import sharp from 'sharp';
import { eventually, HOSTED_VERSION, QUICK_INPUT, startServe, type Serve } from '../helpers/serve.js';

// The official npm client against `kandinsky serve` on loopback, running the real pipelines on the tiny
// models: only the base URL and the token differ from code written for Replicate.

describe('kandinsky serve with the official replicate client', () => {
  let serve: Serve;
  let replicate: Replicate;
  before(async () => {
    serve = await startServe();
    replicate = new Replicate({ auth: serve.token, baseUrl: serve.api });
  });
  after(() => serve.stop());

  it('run() with the default blocking wait returns the images as files whose bytes are real WebP images', async () => {
    const output = (await replicate.run(`ai-forever/kandinsky-2.2:${HOSTED_VERSION}`, { input: QUICK_INPUT })) as { blob(): Promise<Blob> }[];
    assert.equal(output.length, 1);
    const bytes = Buffer.from(await (await output[0].blob()).arrayBuffer());
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 384, 384]);
  });

  it('run() by model name (no version) uses the latest version, and num_outputs gives that many PNG files', async () => {
    const output = (await replicate.run('ai-forever/kandinsky-2.2', { input: { ...QUICK_INPUT, num_outputs: 2, output_format: 'png' } })) as { blob(): Promise<Blob> }[];
    assert.equal(output.length, 2);
    for (const file of output) assert.equal((await sharp(Buffer.from(await (await file.blob()).arrayBuffer())).metadata()).format, 'png');
  });

  it('predictions.create answers `starting` at once; wait() then sees it succeed, and get() returns the same prediction with its logs', async () => {
    const created = await replicate.predictions.create({ version: HOSTED_VERSION, input: { ...QUICK_INPUT, seed: 7 } });
    assert.equal(created.status, 'starting');
    assert.equal(created.output, null);
    assert.deepEqual(Object.keys(created.urls).sort(), ['cancel', 'get', 'stream']);
    assert.ok(created.urls.get.startsWith(`${serve.api}/predictions/`));
    const done = await replicate.wait(created, { interval: 100 });
    assert.equal(done.status, 'succeeded');
    assert.match((done.output as string[])[0], /^data:image\/webp;base64,/);
    const got = await replicate.predictions.get(created.id);
    assert.equal(got.id, created.id);
    assert.equal(got.status, 'succeeded');
    assert.equal(got.model, 'ai-forever/kandinsky-2.2');
    assert.equal(got.version, HOSTED_VERSION);
    assert.deepEqual(got.input, { ...QUICK_INPUT, seed: 7 });
    assert.match(got.logs ?? '', /^Using seed: 7\n/);
    assert.match(got.logs ?? '', /100%\|██████████\| 2\/2 \[/);
    assert.equal(typeof (got.metrics as { predict_time: number }).predict_time, 'number');
  });

  it('cancels a running prediction between two steps; the next prediction runs', async () => {
    const long = await replicate.predictions.create({ version: HOSTED_VERSION, input: { ...QUICK_INPUT, num_inference_steps: 400 } });
    const running = await eventually(
      () => replicate.predictions.get(long.id),
      (p) => p.status === 'processing' && / \d+\/400 /.test(p.logs ?? ''),
    );
    assert.equal(running.status, 'processing');
    await replicate.predictions.cancel(long.id);
    const canceled = await eventually(() => replicate.predictions.get(long.id), (p) => p.status === 'canceled', 30_000);
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.output, null);
    assert.equal(canceled.error, null);
    assert.doesNotMatch(canceled.logs ?? '', /400\/400/);
    const next = await replicate.run(`ai-forever/kandinsky-2.2:${HOSTED_VERSION}`, { input: QUICK_INPUT });
    assert.equal((next as unknown[]).length, 1);
  });

  it('stream() yields the output as a file and ends with done', async () => {
    const events: { event: string; data: unknown }[] = [];
    for await (const e of replicate.stream(`ai-forever/kandinsky-2.2:${HOSTED_VERSION}`, { input: QUICK_INPUT })) events.push(e);
    assert.equal(events.at(-1)!.event, 'done');
    const outputs = events.filter((e) => e.event === 'output');
    assert.equal(outputs.length, 1);
    const bytes = Buffer.from(await (await (outputs[0].data as { blob(): Promise<Blob> }).blob()).arrayBuffer());
    assert.equal((await sharp(bytes).metadata()).format, 'webp');
    assert.ok(events.some((e) => e.event === 'logs' && String(e.data).startsWith('Using seed: ')));
  });

  it('lists an account’s own predictions newest first, 100 a page, with absolute next/previous links', async () => {
    // Another token is another account: its 101 predictions (canceled before they run) are all it sees.
    const other = new Replicate({ auth: 'r8_test_token_b', baseUrl: serve.api });
    const created = await Promise.all(Array.from({ length: 101 }, () => other.predictions.create({ version: HOSTED_VERSION, input: QUICK_INPUT })));
    const ids = created.map((p) => p.id);
    await Promise.all(ids.map((id) => other.predictions.cancel(id)));
    const first = await other.predictions.list();
    assert.equal(first.results.length, 100);
    assert.equal(first.previous, null);
    assert.ok(first.next!.startsWith(`${serve.api}/predictions?cursor=`));
    const pages: Prediction[][] = [];
    for await (const page of other.paginate(other.predictions.list)) pages.push(page);
    assert.deepEqual(pages.map((p) => p.length), [100, 1]);
    const listed = pages.flat();
    assert.deepEqual(listed.map((p) => p.id).sort(), [...ids].sort());
    const times = listed.map((p) => p.created_at);
    assert.deepEqual(times, [...times].sort().reverse());
    // And the first account's own list does not include them.
    const mine = await replicate.predictions.list();
    assert.ok(mine.results.every((p) => !ids.includes(p.id)));
    await assert.rejects(replicate.predictions.get(ids[0]), /status 404/);
  });
});
