import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CaseData, compareOutputs, readGoldenSet } from '../../src/conformance/golden.js';
import { ConfigError, WeightsError } from '../../src/errors.js';
import type { Graph } from '../../src/onnx/graph.js';
import { NetworkSession } from '../../src/onnx/session.js';
import { buildVQModelDecoder, buildVQModelEncoder, parseVQModelConfig, type VQModelConfig } from '../../src/nets/vq-model.js';
import { loadCheckpoint, readComponentConfig } from '../../src/weights/diffusers.js';
import type { Checkpoint, TensorInfo } from '../../src/weights/tensor-info.js';
import { PUBLISHED_MOVQ } from '../../src/nets/published-configs.js';
import { goldenDir, modelsDir } from '../helpers/fixtures.js';

const movqDir = join(modelsDir, 'kandinsky-2-2-decoder', 'movq');
const set = readGoldenSet(goldenDir);
const casesOf = (kind: string) => set.cases.filter((c) => c.kind === kind);


const configOf = (dir: string) => parseVQModelConfig(readComponentConfig(dir), join(dir, 'config.json'));
const tinyJson = () => readComponentConfig(movqDir);
const tiny = () => configOf(movqDir);

/** A copy of a checkpoint with some tensors replaced or removed. */
function edited(checkpoint: Checkpoint, edit: (tensors: Map<string, TensorInfo>) => void): Checkpoint {
  const tensors = new Map(checkpoint.tensors);
  edit(tensors);
  return { source: checkpoint.source, tensors };
}

// One session per graph, shared by every case it fits: the graphs take symbolic batch and spatial sizes.
const sessions = new Map<string, Promise<NetworkSession>>();
after(async () => {
  for (const s of sessions.values()) await (await s).release();
});

function sessionFor(key: string, build: () => Graph): Promise<NetworkSession> {
  let s = sessions.get(key);
  if (!s) {
    s = NetworkSession.create(build(), { device: 'cpu', threads: 2 });
    sessions.set(key, s);
  }
  return s;
}

describe('VQModel (MoVQ) config', () => {
  it('reads the tiny decoder movq config', () => {
    const c = tiny();
    assert.deepEqual(c.blockOutChannels, [32, 32, 32, 64]);
    assert.equal(c.layersPerBlock, 1);
    assert.equal(c.normNumGroups, 8);
    assert.equal(c.numVqEmbeddings, 256);
    assert.equal(c.latentChannels, 4);
  });

  it('refuses an unknown down block type, naming the field and the value', () => {
    const json = { ...tinyJson(), down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'CrossAttnDownBlock2D'] };
    assert.throws(() => parseVQModelConfig(json, 'movq/config.json'), (e: Error) =>
      e instanceof ConfigError && /movq\/config\.json/.test(e.message) && /down_block_types/.test(e.message) && /CrossAttnDownBlock2D/.test(e.message));
  });

  it('refuses an unknown up block type', () => {
    const json = { ...tinyJson(), up_block_types: ['AttnUpBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'] };
    assert.throws(() => parseVQModelConfig(json, 'movq/config.json'), (e: Error) =>
      e instanceof ConfigError && /up_block_types/.test(e.message) && /AttnUpBlock2D/.test(e.message));
  });

  it('refuses norm_type "group", also when the key is absent (its diffusers default)', () => {
    assert.throws(() => parseVQModelConfig({ ...tinyJson(), norm_type: 'group' }, 'c.json'), (e: Error) =>
      e instanceof ConfigError && /norm_type/.test(e.message) && /"group"/.test(e.message));
    const { norm_type: _, ...absent } = tinyJson();
    assert.throws(() => parseVQModelConfig(absent, 'c.json'), (e: Error) => e instanceof ConfigError && /norm_type.*default/.test(e.message));
  });

  it('refuses block lists of different lengths and channels the groups do not divide', () => {
    assert.throws(() => parseVQModelConfig({ ...tinyJson(), up_block_types: ['UpDecoderBlock2D'] }, 'c.json'), (e: Error) =>
      e instanceof ConfigError && /up_block_types/.test(e.message) && /block_out_channels/.test(e.message));
    assert.throws(() => parseVQModelConfig({ ...tinyJson(), block_out_channels: [32, 32, 32, 48] }, 'c.json'), (e: Error) =>
      e instanceof ConfigError && /block_out_channels/.test(e.message) && /48/.test(e.message));
  });

  it('refuses lookup_from_codebook and an activation other than SiLU', () => {
    assert.throws(() => parseVQModelConfig({ ...tinyJson(), lookup_from_codebook: true }, 'c.json'), (e: Error) =>
      e instanceof ConfigError && /lookup_from_codebook/.test(e.message));
    assert.throws(() => parseVQModelConfig({ ...tinyJson(), act_fn: 'gelu' }, 'c.json'), (e: Error) =>
      e instanceof ConfigError && /act_fn/.test(e.message) && /gelu/.test(e.message));
  });

  it('builds both graphs for the published config, using every weight of the published layout', () => {
    const config = parseVQModelConfig(PUBLISHED_MOVQ, 'published movq/config.json');
    const layout = publishedLayout(config);
    // The hub's movq has 67,832,495 parameters (architecture doc §1.1): the layout below is complete.
    assert.equal([...layout.tensors.values()].reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0), 67_832_495);
    const tensors = new RecordingMap(layout.tensors);
    const checkpoint: Checkpoint = { source: layout.source, tensors };
    assert.ok(buildVQModelEncoder(config, checkpoint).nodeCount > 0);
    assert.ok(buildVQModelDecoder(config, checkpoint, { forceNotQuantize: false }).nodeCount > 0);
    assert.deepEqual([...tensors.keys()].filter((k) => !tensors.used.has(k)), []);
  });
});

describe('VQModel (MoVQ) golden cases', () => {
  const checkpoint = loadCheckpoint(movqDir);

  for (const c of casesOf('movq_encode')) {
    it(`encodes ${c.name}`, async () => {
      const data = new CaseData(set, c);
      const dir = data.componentDir();
      const s = await sessionFor(`encoder ${dir}`, () => buildVQModelEncoder(configOf(dir), loadCheckpoint(dir)));
      const result = compareOutputs(data, await s.run({ image: data.floatInput('image') }));
      console.log(`${c.name}: maxAbs ${result.maxAbs} (tolerance ${c.tolerance.max_abs})`);
      assert.ok(result.ok, result.detail);
    });
  }

  for (const c of casesOf('movq_decode')) {
    it(`decodes ${c.name}`, async () => {
      const data = new CaseData(set, c);
      const dir = data.componentDir();
      const forceNotQuantize = data.input('force_not_quantize') === true;
      const s = await sessionFor(`decoder ${forceNotQuantize} ${dir}`, () => buildVQModelDecoder(configOf(dir), loadCheckpoint(dir), { forceNotQuantize }));
      const result = compareOutputs(data, await s.run({ latents: data.floatInput('latents') }));
      console.log(`${c.name}: maxAbs ${result.maxAbs} (tolerance ${c.tolerance.max_abs})`);
      assert.ok(result.ok, result.detail);
    });
  }

  it('has golden cases of both kinds, with and without quantization', () => {
    assert.ok(casesOf('movq_encode').length > 0);
    const decodes = casesOf('movq_decode');
    assert.ok(decodes.some((c) => c.inputs.force_not_quantize === true));
    assert.ok(decodes.some((c) => c.inputs.force_not_quantize === false));
  });

  it('reads attention weights saved under the legacy names query/key/value/proj_attn', async () => {
    const c = casesOf('movq_encode')[0];
    const data = new CaseData(set, c);
    const legacy = edited(checkpoint, (tensors) => {
      for (const [name, info] of [...tensors]) {
        const renamed = name.replace(/\.to_q\./, '.query.').replace(/\.to_k\./, '.key.').replace(/\.to_v\./, '.value.').replace(/\.to_out\.0\./, '.proj_attn.');
        if (renamed !== name) {
          tensors.delete(name);
          tensors.set(renamed, { ...info, name: renamed });
        }
      }
    });
    assert.ok([...legacy.tensors.keys()].some((k) => k.endsWith('.proj_attn.weight')));
    const s = await NetworkSession.create(buildVQModelEncoder(tiny(), legacy), { device: 'cpu', threads: 2 });
    const result = compareOutputs(data, await s.run({ image: data.floatInput('image') }));
    await s.release();
    assert.ok(result.ok, result.detail);
  });

  it('refuses a checkpoint missing a weight, naming the tensor', () => {
    const missing = edited(checkpoint, (t) => t.delete('decoder.up_blocks.1.resnets.0.conv_shortcut.weight'));
    assert.throws(() => buildVQModelDecoder(tiny(), missing, { forceNotQuantize: true }), (e: Error) =>
      e instanceof WeightsError && /decoder\.up_blocks\.1\.resnets\.0\.conv_shortcut\.weight/.test(e.message) && /missing/.test(e.message));
  });

  it('refuses a codebook of the wrong shape, but only when decoding quantizes', () => {
    const wrong = edited(checkpoint, (t) => {
      const info = t.get('quantize.embedding.weight')!;
      t.set(info.name, { ...info, shape: [128, 8] });
    });
    assert.throws(() => buildVQModelDecoder(tiny(), wrong, { forceNotQuantize: false }), (e: Error) =>
      e instanceof WeightsError && /quantize\.embedding\.weight/.test(e.message) && /\[128, 8\]/.test(e.message) && /\[256, 4\]/.test(e.message));
    assert.ok(buildVQModelDecoder(tiny(), wrong, { forceNotQuantize: true }).nodeCount > 0);
  });

  it('refuses an encoder weight of the wrong shape, naming the tensor and both shapes', () => {
    const wrong = edited(checkpoint, (t) => {
      const info = t.get('encoder.conv_in.weight')!;
      t.set(info.name, { ...info, shape: [32, 4, 3, 3] });
    });
    assert.throws(() => buildVQModelEncoder(tiny(), wrong), (e: Error) =>
      e instanceof WeightsError && /encoder\.conv_in\.weight/.test(e.message) && /\[32, 4, 3, 3\]/.test(e.message) && /\[32, 3, 3, 3\]/.test(e.message));
  });
});

/** Tensor infos (never read) for every key of the published MoVQ, shapes per architecture doc §2.5. */
function publishedLayout(c: VQModelConfig): Checkpoint {
  const tensors = new Map<string, TensorInfo>();
  const add = (name: string, shape: number[]) =>
    tensors.set(name, { name, dtype: 'F32', shape, file: '/nonexistent/diffusion_pytorch_model.safetensors', offset: 0, byteLength: 4 * shape.reduce((a, b) => a * b, 1) });
  const conv = (p: string, o: number, i: number, k: number) => { add(`${p}.weight`, [o, i, k, k]); add(`${p}.bias`, [o]); };
  const vec = (p: string, n: number) => { add(`${p}.weight`, [n]); add(`${p}.bias`, [n]); };
  const linear = (p: string, n: number) => { add(`${p}.weight`, [n, n]); add(`${p}.bias`, [n]); };
  const attn = (p: string, n: number, norm: (p: string, n: number) => void) => {
    norm(p, n);
    for (const l of ['to_q', 'to_k', 'to_v', 'to_out.0']) linear(`${p}.${l}`, n);
  };
  const z = c.latentChannels;
  const spatial = (p: string, n: number) => { vec(`${p}.norm_layer`, n); conv(`${p}.conv_y`, n, z, 1); conv(`${p}.conv_b`, n, z, 1); };
  const resnet = (p: string, i: number, o: number, norm: (p: string, n: number) => void) => {
    norm(`${p}.norm1`, i); conv(`${p}.conv1`, o, i, 3); norm(`${p}.norm2`, o); conv(`${p}.conv2`, o, o, 3);
    if (i !== o) conv(`${p}.conv_shortcut`, o, i, 1);
  };
  const ch = c.blockOutChannels;
  const top = ch.at(-1)!;
  conv('encoder.conv_in', ch[0], c.inChannels, 3);
  ch.forEach((o, b) => {
    for (let j = 0; j < c.layersPerBlock; j++) {
      resnet(`encoder.down_blocks.${b}.resnets.${j}`, j === 0 ? ch[Math.max(b - 1, 0)] : o, o, vec);
      if (c.downBlockTypes[b] === 'AttnDownEncoderBlock2D') attn(`encoder.down_blocks.${b}.attentions.${j}`, o, (p, n) => vec(`${p}.group_norm`, n));
    }
    if (b < ch.length - 1) conv(`encoder.down_blocks.${b}.downsamplers.0.conv`, o, o, 3);
  });
  for (const j of [0, 1]) resnet(`encoder.mid_block.resnets.${j}`, top, top, vec);
  attn('encoder.mid_block.attentions.0', top, (p, n) => vec(`${p}.group_norm`, n));
  vec('encoder.conv_norm_out', top);
  conv('encoder.conv_out', z, top, 3);
  conv('quant_conv', z, z, 1);
  add('quantize.embedding.weight', [c.numVqEmbeddings, z]);
  conv('post_quant_conv', z, z, 1);
  const rev = [...ch].reverse();
  conv('decoder.conv_in', top, z, 3);
  for (const j of [0, 1]) resnet(`decoder.mid_block.resnets.${j}`, top, top, spatial);
  attn('decoder.mid_block.attentions.0', top, (p, n) => spatial(`${p}.spatial_norm`, n));
  rev.forEach((o, b) => {
    for (let j = 0; j <= c.layersPerBlock; j++) {
      resnet(`decoder.up_blocks.${b}.resnets.${j}`, j === 0 ? rev[Math.max(b - 1, 0)] : o, o, spatial);
      if (c.upBlockTypes[b] === 'AttnUpDecoderBlock2D') attn(`decoder.up_blocks.${b}.attentions.${j}`, o, (p, n) => spatial(`${p}.spatial_norm`, n));
    }
    if (b < rev.length - 1) conv(`decoder.up_blocks.${b}.upsamplers.0.conv`, o, o, 3);
  });
  spatial('decoder.conv_norm_out', ch[0]);
  conv('decoder.conv_out', c.outChannels, ch[0], 3);
  return { source: 'published layout', tensors };
}

/** A tensor map that records which keys the builders looked up. */
class RecordingMap extends Map<string, TensorInfo> {
  readonly used = new Set<string>();

  override get(key: string): TensorInfo | undefined {
    this.used.add(key);
    return super.get(key);
  }
}
