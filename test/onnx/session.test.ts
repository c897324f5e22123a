import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError, KandinskyError } from '../../src/errors.js';
import { NETWORK_BUILDERS } from '../../src/nets/index.js';
import { availableDevices, checkDevice, NetworkSession, onnxruntimeTime } from '../../src/onnx/index.js';
import { tensor } from '../../src/tensor/index.js';
import { loadCheckpoint, readComponentConfig } from '../../src/weights/index.js';
import { modelsDir } from '../helpers/fixtures.js';

const movq = join(modelsDir, 'kandinsky-2-2-decoder', 'movq');
const unet = join(modelsDir, 'kandinsky-2-2-decoder', 'unet');
// The MoVQ encoder: float32 weights and nothing onnxruntime folds into new weights, so it can be cached.
const encoderGraph = () => NETWORK_BUILDERS.movq_encoder(readComponentConfig(movq), 'config.json', loadCheckpoint(movq));
const image = tensor(Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.cos(i)), [2, 3, 64, 64]);

describe('NetworkSession', () => {
  let cacheDir: string;
  before(() => { cacheDir = mkdtempSync(join(tmpdir(), 'kandinsky-onnx-cache-')); });
  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('saves the optimised model once and reuses it, with the same outputs', async () => {
    const fresh = await NetworkSession.create(encoderGraph(), { cacheDir: null });
    const expected = (await fresh.run({ image })).latents;
    await fresh.release();

    const first = await NetworkSession.create(encoderGraph(), { cacheDir });
    const saved = readdirSync(cacheDir).filter((f) => f.endsWith('.onnx'));
    assert.equal(saved.length, 1);
    await first.release();
    const second = await NetworkSession.create(encoderGraph(), { cacheDir });
    assert.deepEqual(readdirSync(cacheDir).filter((f) => f.endsWith('.onnx')), saved);
    assert.deepEqual((await second.run({ image })).latents.data, expected.data);
    await second.release();
  });

  it('counts the seconds spent inside onnxruntime, creating sessions and running them', async () => {
    const start = onnxruntimeTime();
    const session = await NetworkSession.create(encoderGraph(), { cacheDir: null });
    const loaded = onnxruntimeTime();
    assert.ok(loaded.load > start.load);
    assert.equal(loaded.run, start.run);
    const t = performance.now();
    await session.run({ image });
    const wall = (performance.now() - t) / 1000;
    const ran = onnxruntimeTime();
    assert.ok(ran.run > loaded.run && ran.run - loaded.run <= wall, `${ran.run - loaded.run} s inside run, ${wall} s around it`);
    assert.equal(ran.load, loaded.load);
    await session.release();
  });

  // The cache folder is made just before onnxruntime is asked to save: its absence shows no save was tried.
  it('never asks onnxruntime to save a graph over fp16 weights (their float32 casts would be saved inline)', async () => {
    const dir = join(cacheDir, 'fp16');
    const graph = NETWORK_BUILDERS.unet(readComponentConfig(unet), 'config.json', loadCheckpoint(unet, { variant: 'fp16' }));
    assert.equal(graph.foldsWeights, true);
    const session = await NetworkSession.create(graph, { cacheDir: dir });
    await session.release();
    assert.equal(existsSync(dir), false);
  });

  it('never asks onnxruntime to save the MoVQ decoder, whose upsampling kernels are summed at load', async () => {
    const dir = join(cacheDir, 'decoder');
    const graph = NETWORK_BUILDERS.movq_decoder(readComponentConfig(movq), 'config.json', loadCheckpoint(movq));
    assert.equal(graph.foldsWeights, true);
    const session = await NetworkSession.create(graph, { cacheDir: dir });
    await session.release();
    assert.equal(existsSync(dir), false);
  });

  it('saves a graph over float32 weights that folds none of them', async () => {
    const dir = join(cacheDir, 'fp32');
    const graph = encoderGraph();
    assert.equal(graph.foldsWeights, false);
    const session = await NetworkSession.create(graph, { cacheDir: dir });
    await session.release();
    assert.deepEqual(readdirSync(dir).map((f) => f.replace(/^[0-9a-f]+/, '')), ['.onnx']);
  });

  it('writes nothing with the disk cache off', async () => {
    const dir = join(cacheDir, 'off');
    const before = process.env.KANDINSKY_CACHE;
    process.env.KANDINSKY_CACHE = dir;
    try {
      const session = await NetworkSession.create(encoderGraph(), { cacheDir: null, threads: 1 });
      await session.release();
      assert.equal(existsSync(dir), false);
      const cached = await NetworkSession.create(encoderGraph(), { threads: 1 });
      await cached.release();
      assert.equal(readdirSync(join(dir, 'onnx')).filter((f) => f.endsWith('.onnx')).length, 1, 'the default cache follows KANDINSKY_CACHE');
    } finally {
      if (before === undefined) delete process.env.KANDINSKY_CACHE;
      else process.env.KANDINSKY_CACHE = before;
    }
  });

  it('shares one onnxruntime session between users until the last one releases it', async () => {
    const a = await NetworkSession.create(encoderGraph(), { cacheDir });
    const b = await NetworkSession.create(encoderGraph(), { cacheDir });
    await a.release();
    assert.deepEqual((await b.run({ image })).latents.shape, [2, 4, 8, 8]);
    await b.release();
    await assert.rejects(b.run({ image }), /already released/);
  });

  it('refuses feeds that do not fit the graph, naming the input', async () => {
    const s = await NetworkSession.create(encoderGraph(), { cacheDir });
    await assert.rejects(s.run({}), (e: Error) => e instanceof InputError && /missing input "image"/.test(e.message));
    await assert.rejects(s.run({ image, extra: image }), /unexpected input "extra"/);
    await assert.rejects(s.run({ image: tensor(new Float32Array(3 * 8 * 8), [3, 8, 8]) }), /"image" has shape \[3, 8, 8\], expected \[batch, 3, height, width\]/);
    await assert.rejects(s.run({ image: tensor(new Float32Array(2 * 4 * 8 * 8), [2, 4, 8, 8]) }), /expected \[batch, 3, height, width\]/);
    await assert.rejects(s.run({ image: tensor(new BigInt64Array(2 * 3 * 8 * 8), [2, 3, 8, 8]) }), /"image" is int64, expected float32/);
    await s.release();
  });

  it('refuses inputs that disagree on a shared size', async () => {
    const graph = NETWORK_BUILDERS.unet(readComponentConfig(unet), 'config.json', loadCheckpoint(unet));
    const s = await NetworkSession.create(graph, { cacheDir });
    const feeds = {
      sample: tensor(new Float32Array(2 * 4 * 8 * 8), [2, 4, 8, 8]),
      timestep: tensor(new BigInt64Array([1n, 1n, 1n]), [3]),
      image_embeds: tensor(new Float32Array(2 * 32), [2, 32]),
    };
    await assert.rejects(s.run(feeds), /"timestep" has shape \[3\], expected \[batch\] with batch = 2 \(from "sample"\)/);
    await s.release();
  });
});

describe('NetworkSession sizes that are multiples of others', () => {
  it('refuses a controlnet hint that is not 8 times the latent size', async () => {
    const dir = join(modelsDir, 'kandinsky-2-2-controlnet-depth', 'unet');
    const s = await NetworkSession.create(NETWORK_BUILDERS.unet(readComponentConfig(dir), 'config.json', loadCheckpoint(dir)), { cacheDir: null });
    const feeds = {
      sample: tensor(new Float32Array(1 * 4 * 8 * 8), [1, 4, 8, 8]),
      timestep: tensor(new BigInt64Array([1n]), [1]),
      image_embeds: tensor(new Float32Array(32), [1, 32]),
      hint: tensor(new Float32Array(3 * 32 * 64), [1, 3, 32, 64]),
    };
    await assert.rejects(s.run(feeds), /input "hint" has shape \[1, 3, 32, 64\], expected \[batch, 3, 8\*height, 8\*width\] with 8\*height = 64 \(from "sample"\)/);
    const ok = await s.run({ ...feeds, hint: tensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]) });
    assert.deepEqual(ok.out_sample.shape, [1, 8, 8, 8]);
    await s.release();
  });
});

describe('devices', () => {
  it('always has the CPU', () => {
    assert.ok(availableDevices().includes('cpu'));
    assert.equal(checkDevice('cpu'), 'cpu');
  });

  it('explains an unknown or missing device', () => {
    assert.throws(() => checkDevice('tpu'), (e: Error) => e instanceof KandinskyError && /unknown device "tpu"; choose one of cpu, cuda/.test(e.message));
    if (!availableDevices().includes('cuda')) {
      assert.throws(() => checkDevice('cuda'), /device "cuda" is not available .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
    }
  });
});
