import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runBench, type BenchConfigs, type Text2ImgTotal } from '../../src/bench/index.js';
import { measureNetwork, type Measurement } from '../../src/bench/measure.js';
import { randomCheckpoint } from '../../src/bench/random-weights.js';
import { NETWORK_BUILDERS } from '../../src/nets/index.js';
import { tensor } from '../../src/tensor/index.js';
import { readComponentConfig, readFloat32, type Checkpoint } from '../../src/weights/index.js';
import { modelsDir, projectRoot, tinyDptDir } from '../helpers/fixtures.js';

const FIELDS = ['what', 'size', 'batch', 'seconds', 'gflop', 'gflops', 'peak_rss_mb', 'provider', 'threads'];

describe('kandinsky bench', () => {
  let cache: string;
  before(() => {
    cache = mkdtempSync(join(tmpdir(), 'kandinsky-bench-'));
    process.env.KANDINSKY_BENCH_CACHE = cache;
  });
  after(() => rmSync(cache, { recursive: true, force: true }));

  it('writes random weights with exactly the shapes the network asks for, once', () => {
    const config = readComponentConfig(join(modelsDir, 'kandinsky-2-2-decoder', 'movq'));
    const build = (ck: Checkpoint) => NETWORK_BUILDERS.movq_decoder(config, 'tiny movq', ck);
    const first = randomCheckpoint('movq_decoder', config, build);
    const [file] = readdirSync(cache);
    const written = statSync(join(cache, file)).mtimeMs;
    const again = randomCheckpoint('movq_decoder', config, build);
    assert.equal(statSync(join(cache, file)).mtimeMs, written);
    assert.deepEqual([...again.tensors.keys()], [...first.tensors.keys()]);
    assert.deepEqual(first.tensors.get('decoder.conv_in.weight')?.shape, [64, 4, 3, 3]);
    assert.doesNotThrow(() => build(first));
  });

  it('writes float16 weights for a network published in float16, rounded to the nearest half', () => {
    const config = readComponentConfig(join(modelsDir, 'kandinsky-2-2-prior', 'image_encoder'));
    const build = (ck: Checkpoint) => NETWORK_BUILDERS.clip_vision(config, 'tiny vision', ck);
    const half = randomCheckpoint('clip_vision', config, build, 'F16');
    const full = randomCheckpoint('clip_vision', config, build);
    assert.notEqual(half.source, full.source);
    const name = 'vision_model.encoder.layers.0.mlp.fc1.weight';
    assert.equal(half.tensors.get(name)?.dtype, 'F16');
    const a = readFloat32(half.tensors.get(name)!);
    const b = readFloat32(full.tensors.get(name)!);
    // The same draws; |x| >= 2^-14 keeps 11 significant bits, smaller values flush to zero.
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= Math.max(Math.abs(b[i]) * 2 ** -11, 2 ** -14), `${i}: ${a[i]} vs ${b[i]}`);
    assert.doesNotThrow(() => build(half));
  });

  it('measures build + session and a forward with FLOPs counted from the profile', async () => {
    const config = readComponentConfig(join(modelsDir, 'kandinsky-2-2-decoder', 'movq'));
    const build = (ck: Checkpoint) => NETWORK_BUILDERS.movq_decoder(config, 'tiny movq', ck);
    const checkpoint = randomCheckpoint('movq_decoder', config, build);
    const lines: Measurement[] = [];
    const latents = tensor(new Float32Array(4 * 8 * 8).fill(0.5), [1, 4, 8, 8]);
    await measureNetwork('movq_decode', () => build(checkpoint), { latents }, { size: 64, batch: 1 }, { runs: 2 }, (m) => lines.push(m));
    assert.deepEqual(lines.map((l) => l.what), ['movq_decode build+session', 'movq_decode forward']);
    for (const l of lines) assert.deepEqual(Object.keys(l), FIELDS);
    const forward = lines[1];
    // conv_out alone: 3 x 32 x 3 x 3 multiply-adds per output pixel.
    assert.ok(forward.gflop! > (2 * 64 * 64 * 3 * 32 * 9) / 1e9, `gflop ${forward.gflop}`);
    assert.ok(forward.gflops! > 0 && forward.peak_rss_mb > 0);
    assert.equal(forward.provider, 'cpu');
  });

  it('times DPT (the depth estimator) over random weights of its config at the size asked', async () => {
    const lines: Measurement[] = [];
    const configs = { dpt: readComponentConfig(tinyDptDir) } as BenchConfigs;
    await runBench('dpt', { size: 64, threads: 1, runs: 1, configs }, (m) => lines.push(m));
    assert.deepEqual(lines.map((l) => [l.what, l.size, l.batch]), [['dpt build+session', null, null], ['dpt forward', 64, 1]]);
    assert.ok(lines[1].gflop! > 0 && lines[1].seconds > 0);
  });

  it('runs the whole text-to-image flow over random weights in the published repo layout, one line per step', async () => {
    const tiny = (repo: string, component: string) => readComponentConfig(join(modelsDir, repo, component));
    const configs: BenchConfigs = {
      textEncoder: tiny('kandinsky-2-2-prior', 'text_encoder'),
      imageEncoder: tiny('kandinsky-2-2-prior', 'image_encoder'),
      prior: tiny('kandinsky-2-2-prior', 'prior'),
      unet: tiny('kandinsky-2-2-decoder', 'unet'),
      movq: tiny('kandinsky-2-2-decoder', 'movq'),
      dpt: readComponentConfig(tinyDptDir),
    };
    const run = async () => {
      const lines: Measurement[] = [];
      await runBench('text2img', { size: 64, steps: 2, priorSteps: 3, threads: 1, configs }, (m) => lines.push(m));
      return lines;
    };
    const lines = await run();
    assert.deepEqual(lines.map((l) => l.what), [
      'text2img_prior_step', 'text2img_prior_step', 'text2img_prior_step',
      'text2img_decoder_step', 'text2img_decoder_step', 'text2img_movq_decode', 'text2img_total',
    ]);
    for (const l of lines.slice(0, -1)) assert.deepEqual(Object.keys(l), FIELDS);
    assert.deepEqual(lines.map((l) => [l.size, l.batch]), [[null, 2], [null, 2], [null, 2], [64, 2], [64, 2], [64, 1], [64, 1]]);
    const total = lines.at(-1) as Text2ImgTotal;
    const parts = lines.slice(0, -1).reduce((a, l) => a + l.seconds, 0);
    assert.ok(total.seconds >= parts * 0.99, `total ${total.seconds} s < the sum of its parts ${parts} s`);
    assert.ok(total.outside_onnxruntime_seconds > 0 && total.outside_onnxruntime_seconds < total.seconds, JSON.stringify(total));
    assert.ok(total.onnxruntime_load_seconds > 0 && total.peak_rss_mb > 0);

    // The repos and weights are written once; the second run finds them, and the zero-image embedding on disk.
    const written = readdirSync(cache).sort();
    assert.ok(written.some((f) => f.startsWith('clip_vision-')) && written.includes('repos'), written.join(', '));
    assert.equal((await run()).length, lines.length);
    assert.deepEqual(readdirSync(cache).sort(), written);
  });

  it('prints one JSON line per measurement from the CLI', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(projectRoot, 'dist', 'src', 'cli', 'main.js'), 'bench', 'matmul', '--threads', '2']);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Measurement);
    assert.equal(lines.length, 2);
    assert.equal(lines[1].what, 'matmul 4096x4096 forward');
    assert.equal(lines[1].gflop, 137.4);
    assert.equal(lines[1].threads, 2);
  });

  it('refuses a size that is not a multiple of 64', async () => {
    await assert.rejects(promisify(execFile)(process.execPath, [join(projectRoot, 'dist', 'src', 'cli', 'main.js'), 'bench', 'unet', '--size', '500']), {
      code: 2,
      stderr: "error: option '--size <px>' argument '500' is invalid. expected a multiple of 64\n",
    });
  });
});
