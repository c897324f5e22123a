import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CaseData, compareOutputs, readGoldenSet } from '../../src/conformance/golden.js';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { parseUNet2DConditionModelConfig } from '../../src/nets/unet-2d-condition-config.js';
import { buildUNet2DConditionModel } from '../../src/nets/unet-2d-condition.js';
import { NetworkSession } from '../../src/onnx/session.js';
import { tensor, type Tensor } from '../../src/tensor/index.js';
import { loadCheckpoint, readComponentConfig } from '../../src/weights/diffusers.js';
import type { Checkpoint, TensorInfo } from '../../src/weights/tensor-info.js';
import { goldenDir, modelsDir } from '../helpers/fixtures.js';
import { listedCheckpoint, withoutTensor, withShape } from './checkpoint-edits.js';
import { PUBLISHED_UNET } from '../../src/nets/published-configs.js';

const decoderUnet = join(modelsDir, 'kandinsky-2-2-decoder', 'unet');
const controlnetUnet = join(modelsDir, 'kandinsky-2-2-controlnet-depth', 'unet');

function configOf(dir: string, edit: Record<string, unknown> = {}) {
  return parseUNet2DConditionModelConfig({ ...readComponentConfig(dir), ...edit }, join(dir, 'config.json'));
}

function feedsOf(data: CaseData): Record<string, Tensor> {
  const sample = data.floatInput('sample');
  const kwargs = data.input('added_cond_kwargs') as Record<string, unknown>;
  const batch = sample.shape[0];
  const feeds: Record<string, Tensor> = {
    sample,
    timestep: tensor(new BigInt64Array(batch).fill(BigInt(data.input('timestep') as number)), [batch]),
    image_embeds: data.tensor(kwargs.image_embeds),
  };
  if (kwargs.hint) feeds.hint = data.tensor(kwargs.hint);
  return feeds;
}

describe('UNet2DConditionModel (Kandinsky 2.2 decoder UNets)', () => {
  const set = readGoldenSet(goldenDir);
  const cases = set.cases.filter((c) => c.kind === 'unet');

  it('has the eight golden unet cases', () => {
    assert.equal(cases.length, 8);
  });

  for (const c of cases) {
    it(`matches the reference on ${c.name}`, async () => {
      const data = new CaseData(set, c);
      const dir = data.componentDir();
      const checkpoint = loadCheckpoint(dir, { variant: c.variant as string | undefined });
      // The fp16 variant runs its half-precision weights in float32 (the graph casts them).
      if (c.variant === 'fp16') assert.equal(checkpoint.tensors.get('conv_in.weight')?.dtype, 'F16');
      const session = await NetworkSession.create(buildUNet2DConditionModel(configOf(dir), checkpoint), { device: 'cpu', threads: 1 });
      try {
        const out = await session.run(feedsOf(data));
        const result = compareOutputs(data, { sample: out.out_sample });
        console.log(`${c.name}: maxAbs ${result.maxAbs.toExponential(2)} (tolerance ${c.tolerance.max_abs})`);
        assert.ok(result.ok, result.detail);
      } finally {
        await session.release();
      }
    });
  }

  it('takes a hint input only for addition_embed_type "image_hint"', async () => {
    const options = { device: 'cpu', threads: 1 } as const;
    const plain = await NetworkSession.create(buildUNet2DConditionModel(configOf(decoderUnet), loadCheckpoint(decoderUnet)), options);
    const hinted = await NetworkSession.create(buildUNet2DConditionModel(configOf(controlnetUnet), loadCheckpoint(controlnetUnet)), options);
    assert.deepEqual([...plain.inputNames].sort(), ['image_embeds', 'sample', 'timestep']);
    assert.deepEqual([...hinted.inputNames].sort(), ['hint', 'image_embeds', 'sample', 'timestep']);
    await plain.release();
    await hinted.release();
  });
});

/** The published decoder config's sizes over a tiny repo's config (which keeps its in_channels and embedding type). */
const { block_out_channels, layers_per_block, attention_head_dim, cross_attention_dim, encoder_hid_dim, norm_num_groups } = PUBLISHED_UNET;
const PUBLISHED = { block_out_channels, layers_per_block, attention_head_dim, cross_attention_dim, encoder_hid_dim, norm_num_groups };

/**
 * The published UNet's tensors as architecture doc 2.4 lists them (written out from that table, not from
 * the builder): 724 for the decoder, 740 with the controlnet hint stack.
 */
function publishedTensors(inChannels: number, hint: boolean): Map<string, number[]> {
  const t = new Map<string, number[]>();
  const T = 1536;
  const X = 768;
  const add = (name: string, weight: number[]) => {
    t.set(`${name}.weight`, weight);
    t.set(`${name}.bias`, [weight[0]]);
  };
  const resnet = (p: string, ci: number, co: number) => {
    add(`${p}.norm1`, [ci]);
    add(`${p}.conv1`, [co, ci, 3, 3]);
    add(`${p}.time_emb_proj`, [2 * co, T]);
    add(`${p}.norm2`, [co]);
    add(`${p}.conv2`, [co, co, 3, 3]);
    if (ci !== co) add(`${p}.conv_shortcut`, [co, ci, 1, 1]);
  };
  const attention = (p: string, c: number) => {
    add(`${p}.group_norm`, [c]);
    for (const proj of ['to_q', 'to_k', 'to_v', 'to_out.0']) add(`${p}.${proj}`, [c, c]);
    for (const proj of ['add_k_proj', 'add_v_proj']) add(`${p}.${proj}`, [c, X]);
  };
  add('conv_in', [384, inChannels, 3, 3]);
  add('time_embedding.linear_1', [T, 384]);
  add('time_embedding.linear_2', [T, T]);
  add('encoder_hid_proj.image_embeds', [32 * X, 1280]);
  add('encoder_hid_proj.norm', [X]);
  add('add_embedding.image_proj', [T, 1280]);
  add('add_embedding.image_norm', [T]);
  add('conv_norm_out', [384]);
  add('conv_out', [8, 384, 3, 3]);
  if (hint) {
    const convs = [[16, 3], [16, 16], [32, 16], [32, 32], [96, 32], [96, 96], [256, 96], [4, 256]];
    convs.forEach(([o, i], k) => add(`add_embedding.input_hint_block.${2 * k}`, [o, i, 3, 3]));
  }
  for (let r = 0; r < 3; r++) resnet(`down_blocks.0.resnets.${r}`, 384, 384);
  resnet('down_blocks.0.downsamplers.0', 384, 384);
  const widths = [384, 768, 1152, 1536];
  for (let b = 1; b < 4; b++) {
    for (let r = 0; r < 3; r++) {
      resnet(`down_blocks.${b}.resnets.${r}`, r === 0 ? widths[b - 1] : widths[b], widths[b]);
      attention(`down_blocks.${b}.attentions.${r}`, widths[b]);
    }
    if (b < 3) resnet(`down_blocks.${b}.downsamplers.0`, widths[b], widths[b]);
  }
  resnet('mid_block.resnets.0', 1536, 1536);
  attention('mid_block.attentions.0', 1536);
  resnet('mid_block.resnets.1', 1536, 1536);
  const upInputs = [[3072, 3072, 3072, 2688], [2688, 2304, 2304, 1920], [1920, 1536, 1536, 1152], [1152, 768, 768, 768]];
  const upOut = [1536, 1152, 768, 384];
  upInputs.forEach((inputs, b) => {
    inputs.forEach((ci, r) => {
      resnet(`up_blocks.${b}.resnets.${r}`, ci, upOut[b]);
      if (b < 3) attention(`up_blocks.${b}.attentions.${r}`, upOut[b]);
    });
    if (b < 3) resnet(`up_blocks.${b}.upsamplers.0`, upOut[b], upOut[b]);
  });
  return t;
}

/** The checkpoint, recording the names a graph build looks up. */
function recording(checkpoint: Checkpoint): { checkpoint: Checkpoint; used: Set<string> } {
  const used = new Set<string>();
  const tensors = new (class extends Map<string, TensorInfo> {
    override get(name: string) {
      used.add(name);
      return super.get(name);
    }
  })(checkpoint.tensors);
  return { checkpoint: { source: checkpoint.source, tensors }, used };
}

describe('UNet2DConditionModel with the published config', () => {
  for (const [repo, inChannels, hint] of [['kandinsky-2-2-decoder', 4, false], ['kandinsky-2-2-decoder-inpaint', 9, false], ['kandinsky-2-2-controlnet-depth', 8, true]] as const) {
    it(`builds ${repo} from exactly the ${hint ? 740 : 724} tensors of architecture doc 2.4`, () => {
      const shapes = publishedTensors(inChannels, hint);
      assert.equal(shapes.size, hint ? 740 : 724);
      const { checkpoint, used } = recording(listedCheckpoint(`published/${repo}/unet`, shapes));
      buildUNet2DConditionModel(configOf(join(modelsDir, repo, 'unet'), PUBLISHED), checkpoint);
      assert.deepEqual([...shapes.keys()].filter((k) => !used.has(k)), []);
      assert.equal(used.size, shapes.size);
    });
  }
});

describe('UNet2DConditionModel refuses what it cannot build', () => {
  it('names an unknown down block type and the supported ones', () => {
    const types = ['ResnetDownsampleBlock2D', 'CrossAttnDownBlock2D', 'SimpleCrossAttnDownBlock2D', 'SimpleCrossAttnDownBlock2D'];
    assert.throws(() => configOf(decoderUnet, { down_block_types: types }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /config\.json: field "down_block_types" \[1\] is "CrossAttnDownBlock2D", an unsupported block type; supported: ResnetDownsampleBlock2D, SimpleCrossAttnDownBlock2D/);
      return true;
    });
  });

  it('refuses a mid block other than UNetMidBlock2DSimpleCrossAttn, including the default when the key is absent', () => {
    const { mid_block_type: _, ...json } = readComponentConfig(decoderUnet);
    assert.throws(() => parseUNet2DConditionModelConfig(json, 'unet/config.json'), /field "mid_block_type" is "UNetMidBlock2DCrossAttn", expected one of "UNetMidBlock2DSimpleCrossAttn"/);
  });

  it('refuses addition_embed_type "text" and resnet_time_scale_shift "default"', () => {
    assert.throws(() => configOf(decoderUnet, { addition_embed_type: 'text' }), /field "addition_embed_type" is "text", expected one of "image", "image_hint"/);
    assert.throws(() => configOf(decoderUnet, { resnet_time_scale_shift: 'default' }), /field "resnet_time_scale_shift" is "default", expected one of "scale_shift"/);
  });

  it('refuses an attention_head_dim that does not split the channels into heads', () => {
    assert.throws(() => configOf(decoderUnet, { attention_head_dim: 3 }), /field "attention_head_dim" \[\d\] = 3 does not divide the \d+ channels of (down|up) block \d/);
  });

  it('refuses channel counts that norm_num_groups does not divide', () => {
    assert.throws(() => configOf(decoderUnet, { norm_num_groups: 3 }), /field "block_out_channels" \[0\] = 8 is not a multiple of "norm_num_groups" 3/);
  });

  it('fills diffusers defaults for absent keys', () => {
    const { flip_sin_to_cos: _a, freq_shift: _b, conv_in_kernel: _c, ...json } = readComponentConfig(decoderUnet);
    const config = parseUNet2DConditionModelConfig(json, 'unet/config.json');
    assert.equal(config.flipSinToCos, true);
    assert.equal(config.freqShift, 0);
    assert.equal(config.convInKernel, 3);
    assert.equal(config.timeEmbedDim, 32);
    assert.deepEqual(config.layersPerBlock, [1, 1, 1, 1]);
    assert.deepEqual(config.attentionHeadDim, [8, 8, 8, 8]);
  });

  it('names a weight missing from the checkpoint', () => {
    const checkpoint = withoutTensor(loadCheckpoint(decoderUnet), 'down_blocks.1.attentions.0.add_k_proj.weight');
    assert.throws(() => buildUNet2DConditionModel(configOf(decoderUnet), checkpoint), (err: Error) => {
      assert.ok(err instanceof WeightsError);
      assert.match(err.message, /weight "down_blocks\.1\.attentions\.0\.add_k_proj\.weight" \[16, 16\] is missing/);
      return true;
    });
  });

  it('names a weight whose shape the config does not imply', () => {
    const checkpoint = withShape(loadCheckpoint(decoderUnet), 'mid_block.resnets.0.time_emb_proj.weight', [32, 32]);
    assert.throws(() => buildUNet2DConditionModel(configOf(decoderUnet), checkpoint), (err: Error) => {
      assert.ok(err instanceof WeightsError);
      assert.match(err.message, /"mid_block\.resnets\.0\.time_emb_proj\.weight" has shape \[32, 32\], the config implies \[64, 32\]/);
      return true;
    });
  });

  it('notices a config that does not belong to the weights (inpaint config, decoder weights)', () => {
    const inpaint = configOf(join(modelsDir, 'kandinsky-2-2-decoder-inpaint', 'unet'));
    assert.throws(() => buildUNet2DConditionModel(inpaint, loadCheckpoint(decoderUnet)), /"conv_in\.weight" has shape \[8, 4, 3, 3\], the config implies \[8, 9, 3, 3\]/);
  });
});
