import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { loadNetwork } from '../../src/nets/index.js';
import { tensor } from '../../src/tensor/index.js';
import { loadCheckpoint, pull, readModelIndex, readSafetensors } from '../../src/weights/index.js';
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
