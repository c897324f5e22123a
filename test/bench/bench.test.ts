import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { measureNetwork, type Measurement } from '../../src/bench/measure.js';
import { randomCheckpoint } from '../../src/bench/random-weights.js';
import { NETWORK_BUILDERS } from '../../src/nets/index.js';
import { tensor } from '../../src/tensor/index.js';
import { readComponentConfig, type Checkpoint } from '../../src/weights/index.js';
import { modelsDir, projectRoot } from '../helpers/fixtures.js';

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
