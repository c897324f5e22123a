import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { loadNetwork } from '../../src/nets/index.js';
import { tensor } from '../../src/tensor/index.js';
import { loadCheckpoint, pull, readComponentConfig, readModelIndex, readSafetensors, writeSafetensors } from '../../src/weights/index.js';
import { MAX_TENSORS } from '../../src/weights/tensor-info.js';
import { modelsDir } from '../helpers/fixtures.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';

const prior = join(modelsDir, 'kandinsky-2-2-prior');
const decoder = join(modelsDir, 'kandinsky-2-2-decoder');
const controlnet = join(modelsDir, 'kandinsky-2-2-controlnet-depth');

describe('diffusers layout', () => {
  let scratch: string;
  before(() => { scratch = mkdtempSync(join(tmpdir(), 'kandinsky-layout-')); });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('reads model_index.json components', () => {
    const index = readModelIndex(prior);
    assert.equal(index.className, 'KandinskyV22PriorPipeline');
    assert.deepEqual(index.components.get('prior'), ['diffusers', 'PriorTransformer']);
    assert.deepEqual(index.components.get('text_encoder'), ['transformers', 'CLIPTextModelWithProjection']);
  });

  it('indexes a sharded checkpoint across its shards', () => {
    const ck = loadCheckpoint(join(prior, 'text_encoder'));
    const files = new Set([...ck.tensors.values()].map((t) => t.file.split('/').pop()));
    assert.deepEqual([...files].sort(), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    const index = JSON.parse(readFileSync(join(prior, 'text_encoder', 'model.safetensors.index.json'), 'utf8'));
    assert.deepEqual([...ck.tensors.keys()].sort(), Object.keys(index.weight_map).sort());
  });

  it('loads the fp16 variant only when asked', () => {
    assert.equal(loadCheckpoint(join(decoder, 'unet')).tensors.get('conv_in.weight')?.dtype, 'F32');
    assert.equal(loadCheckpoint(join(decoder, 'unet'), { variant: 'fp16' }).tensors.get('conv_in.weight')?.dtype, 'F16');
  });

  it('falls back to PyTorch .bin when a component has no safetensors', () => {
    const ck = loadCheckpoint(join(controlnet, 'unet'));
    assert.match(ck.tensors.get('conv_in.weight')!.file, /diffusion_pytorch_model\.bin$/);
    assert.deepEqual(ck.tensors.get('add_embedding.input_hint_block.0.weight')?.shape, [16, 3, 3, 3]);
  });

  it('names the folder when a component is missing', () => {
    assert.throws(() => loadCheckpoint(join(decoder, 'vae')), (e: Error) => e instanceof ConfigError && e.message.includes(join(decoder, 'vae')) && /component folder not found/.test(e.message));
  });

  it('lists what it found when a variant is missing', () => {
    assert.throws(() => loadCheckpoint(join(decoder, 'movq'), { variant: 'fp16' }), (e: Error) => e instanceof WeightsError && /variant "fp16"/.test(e.message) && /diffusion_pytorch_model\.safetensors/.test(e.message));
  });

  it('refuses an index whose shard is missing', () => {
    const dir = join(scratch, 'missing-shard');
    mkdirSync(dir);
    copyFileSync(join(prior, 'text_encoder', 'model.safetensors.index.json'), join(dir, 'model.safetensors.index.json'));
    copyFileSync(join(prior, 'text_encoder', 'model-00001-of-00002.safetensors'), join(dir, 'model-00001-of-00002.safetensors'));
    assert.throws(() => loadCheckpoint(dir), /shard "model-00002-of-00002\.safetensors" is listed but missing/);
  });

  it('refuses a truncated safetensors file, naming it and the tensor', () => {
    const dir = join(scratch, 'truncated');
    mkdirSync(dir);
    const whole = readFileSync(join(decoder, 'movq', 'diffusion_pytorch_model.safetensors'));
    writeFileSync(join(dir, 'diffusion_pytorch_model.safetensors'), whole.subarray(0, whole.length - 1000));
    assert.throws(() => loadCheckpoint(dir), (e: Error) => e instanceof WeightsError && e.message.includes(join(dir, 'diffusion_pytorch_model.safetensors')) && /truncated/.test(e.message));
  });

  it('refuses a malformed header and an impossible header length', () => {
    const bad = join(scratch, 'bad.safetensors');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(5n);
    writeFileSync(bad, Buffer.concat([head, Buffer.from('{"a":')]));
    assert.throws(() => readSafetensors(bad), /malformed safetensors header/);
    head.writeBigUInt64LE(1n << 40n);
    writeFileSync(bad, Buffer.concat([head, Buffer.from('{}')]));
    assert.throws(() => readSafetensors(bad), /not a safetensors file/);
  });

  it('refuses a tensor whose byte span does not fit its dtype and shape', () => {
    const bad = join(scratch, 'span.safetensors');
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } });
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(bad, Buffer.concat([head, Buffer.from(json), Buffer.alloc(16)]));
    assert.throws(() => readSafetensors(bad), /tensor "w": data_offsets span 12 bytes, F32 \[2, 2\] needs 16/);
  });
});

describe('which files of a component folder are read', () => {
  let scratch: string;
  let outside: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'kandinsky-component-files-'));
    outside = join(scratch, 'outside.safetensors');
    writeWeights(outside);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  function writeWeights(path: string): void {
    writeSafetensors(path, { w: { dtype: 'F32', shape: [1], bytes: new Uint8Array(4) } });
  }

  /** A fresh component folder holding a shard index with `weightMap`. */
  function shardedComponent(name: string, weightMap: unknown): { dir: string; index: string } {
    const dir = join(scratch, name);
    mkdirSync(dir);
    const index = join(dir, 'model.safetensors.index.json');
    writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return { dir, index };
  }

  function refusal(pattern: RegExp, kind: typeof WeightsError | typeof ConfigError = WeightsError): (err: unknown) => boolean {
    return (err) => {
      assert.ok(err instanceof kind, `expected a ${kind.name}, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    };
  }

  it('refuses a shard index entry pointing outside the component folder', () => {
    for (const [i, shard] of [outside, '../outside.safetensors', 'sub/../../outside.safetensors', '.', ''].entries()) {
      const { dir, index } = shardedComponent(`escape-${i}`, { 'a.weight': shard });
      assert.throws(() => loadCheckpoint(dir), refusal(new RegExp(
        `^${index}: weight_map entry "a\\.weight": shard ".*" is not a file name inside the component folder`)));
    }
  });

  it('refuses a shard or weight file that is a link leading out of the component folder', () => {
    const { dir, index } = shardedComponent('shard-link', { w: 'model-00001-of-00001.safetensors' });
    symlinkSync(outside, join(dir, 'model-00001-of-00001.safetensors'));
    assert.throws(() => loadCheckpoint(dir), refusal(new RegExp(
      `^${index}: weight_map entry "w": shard "model-00001-of-00001.safetensors" is a link leading outside the component folder \\(to ${outside}\\)`)));
    const single = join(scratch, 'single-link');
    mkdirSync(single);
    symlinkSync('../outside.safetensors', join(single, 'diffusion_pytorch_model.safetensors'));
    assert.throws(() => loadCheckpoint(single), refusal(/diffusion_pytorch_model\.safetensors is a link leading outside the component folder/));
    symlinkSync('/etc/hostname', join(single, 'config.json'));
    assert.throws(() => readComponentConfig(single), refusal(/config\.json is a link leading outside the component folder/, ConfigError));
  });

  it('refuses a weight_map that is not an object of tensor name -> shard file', () => {
    for (const [name, weightMap, expected] of [
      ['map-array', ['a.safetensors'], /sharded index has no "weight_map" object/],
      ['map-missing', undefined, /sharded index has no "weight_map" object/],
      ['map-number', { w: 3 }, /weight_map entry "w" must name a shard file, found a number/],
      ['map-null', { w: null }, /weight_map entry "w" must name a shard file, found null/],
      ['map-proto', JSON.parse('{"__proto__": {"x": 1}}'), /weight_map entry "__proto__" must name a shard file, found an object/],
    ] as const) {
      const { dir, index } = shardedComponent(name, weightMap);
      assert.throws(() => loadCheckpoint(dir), refusal(new RegExp(`^${index}: ${expected.source}`)));
    }
  });

  it('refuses a weight_map of more tensors than a checkpoint may hold', () => {
    const map = Object.fromEntries(Array.from({ length: MAX_TENSORS + 1 }, (_, i) => [`t${i}`, 'model.safetensors']));
    const { dir } = shardedComponent('map-huge', map);
    assert.throws(() => loadCheckpoint(dir), refusal(new RegExp(`weight_map lists ${MAX_TENSORS + 1} tensors, more than the ${MAX_TENSORS}`)));
  });

  it('refuses a shard that is a directory or a FIFO, naming the index and the entry', () => {
    const { dir, index } = shardedComponent('shard-dir', { w: 'model-00001-of-00002.safetensors', v: 'model-00002-of-00002.safetensors' });
    mkdirSync(join(dir, 'model-00001-of-00002.safetensors'));
    execFileSync('mkfifo', [join(dir, 'model-00002-of-00002.safetensors')]);
    assert.throws(() => loadCheckpoint(dir), refusal(new RegExp(`^${index}: weight_map entry "w": shard "model-00001-of-00002.safetensors" is a directory, not a regular file`)));
    rmSync(join(dir, 'model-00001-of-00002.safetensors'), { recursive: true });
    writeWeights(join(dir, 'model-00001-of-00002.safetensors'));
    assert.throws(() => loadCheckpoint(dir), refusal(new RegExp(`^${index}: weight_map entry "v": shard "model-00002-of-00002.safetensors" is a FIFO \\(named pipe\\), not a regular file`)));
  });

  it("follows a Hugging Face cache snapshot's links into its blobs, and no others", () => {
    const repo = join(scratch, 'hub', 'models--org--name');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(join(repo, 'elsewhere'));
    writeWeights(join(repo, 'blobs', 'e3b0c44298fc1c149afbf4c8996fb924'));
    writeWeights(join(repo, 'elsewhere', 'weights'));
    const unet = join(repo, 'snapshots', 'a'.repeat(40), 'unet');
    const movq = join(repo, 'snapshots', 'a'.repeat(40), 'movq');
    mkdirSync(unet, { recursive: true });
    mkdirSync(movq);
    symlinkSync('../../../blobs/e3b0c44298fc1c149afbf4c8996fb924', join(unet, 'diffusion_pytorch_model.safetensors'));
    symlinkSync('../../../elsewhere/weights', join(movq, 'diffusion_pytorch_model.safetensors'));
    assert.deepEqual([...loadCheckpoint(unet).tensors.keys()], ['w']);
    assert.throws(() => loadCheckpoint(movq), refusal(/is a link leading outside the component folder/));
  });
});

describe('Hugging Face cache', () => {
  let hub: HubServer;
  let cache: string;
  before(async () => {
    hub = await startHubServer();
    cache = mkdtempSync(join(tmpdir(), 'kandinsky-hf-'));
  });
  after(async () => {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  });

  it('runs a network straight from a snapshot of symlinks into blobs', async () => {
    const snapshot = await pull('kandinsky-community/kandinsky-2-2-decoder', { endpoint: hub.endpoint, cacheDir: cache });
    const latents = tensor(Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i)), [1, 4, 8, 8]);
    const fromCache = await loadNetwork('movq_decoder', join(snapshot, 'movq'));
    const fromFolder = await loadNetwork('movq_decoder', join(decoder, 'movq'));
    const a = (await fromCache.run({ latents })).sample;
    const b = (await fromFolder.run({ latents })).sample;
    assert.deepEqual(a.shape, [1, 3, 64, 64]);
    assert.deepEqual(a.data, b.data);
    await fromCache.release();
    await fromFolder.release();
  });
});
