import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CaseData, compareOutputs, readGoldenSet } from '../../src/conformance/golden.js';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { buildPriorTransformer, parsePriorTransformerConfig, readClipStatistics } from '../../src/nets/prior-transformer.js';
import { NetworkSession } from '../../src/onnx/session.js';
import { tensor, type Int64Tensor, type Tensor } from '../../src/tensor/index.js';
import { loadCheckpoint, readComponentConfig } from '../../src/weights/diffusers.js';
import { readFloat32, readSafetensors } from '../../src/weights/safetensors.js';
import { goldenDir, modelsDir } from '../helpers/fixtures.js';
import { listedCheckpoint, withoutTensor, withShape } from './checkpoint-edits.js';
import { PUBLISHED_PRIOR } from '../../src/nets/published-configs.js';

const set = readGoldenSet(goldenDir);
const priorDir = join(modelsDir, 'kandinsky-2-2-prior', 'prior');

function priorConfig(json = readComponentConfig(priorDir)) {
  return parsePriorTransformerConfig(json, join(priorDir, 'config.json'));
}

/** The case's inputs as the graph takes them: one timestep per row, the mask as bool. */
function feedsOf(data: CaseData): Record<string, Tensor> {
  const hiddenStates = data.floatInput('hidden_states');
  const batch = hiddenStates.shape[0];
  const t = data.input('timestep');
  const timestep = typeof t === 'number' ? tensor(new BigInt64Array(batch).fill(BigInt(t)), [batch]) : data.intInput('timestep');
  const mask = data.intInput('attention_mask') as Int64Tensor;
  return {
    hidden_states: hiddenStates,
    timestep,
    proj_embedding: data.floatInput('proj_embedding'),
    encoder_hidden_states: data.floatInput('encoder_hidden_states'),
    attention_mask: tensor(Uint8Array.from(mask.data, (v) => (v ? 1 : 0)), mask.shape),
  };
}

describe('PriorTransformer', () => {
  const cases = set.cases.filter((c) => c.kind === 'prior_transformer');

  it('has golden cases to check against', () => {
    assert.ok(cases.length > 0);
  });

  for (const c of cases) {
    it(`matches the reference on golden case ${c.name}`, async (t) => {
      const data = new CaseData(set, c);
      const dir = data.componentDir();
      const graph = buildPriorTransformer(parsePriorTransformerConfig(readComponentConfig(dir), join(dir, 'config.json')), loadCheckpoint(dir));
      const session = await NetworkSession.create(graph, { device: 'cpu', threads: 1 });
      try {
        const result = compareOutputs(data, await session.run(feedsOf(data)));
        t.diagnostic(`maxAbs ${result.maxAbs} (tolerance ${c.tolerance.max_abs})`);
        assert.ok(result.ok, result.detail);
      } finally {
        await session.release();
      }
    });
  }

  it('builds from the published kandinsky-2-2-prior prior config, filling diffusers defaults', () => {
    const config = parsePriorTransformerConfig(PUBLISHED_PRIOR, 'published/prior/config.json');
    assert.deepEqual(config, {
      numAttentionHeads: 32, attentionHeadDim: 64, numLayers: 20, embeddingDim: 1280, numEmbeddings: 77, additionalEmbeddings: 4,
      timeEmbedActFn: 'silu', normInType: null, embeddingProjNormType: null, timeEmbedDim: 2048, embeddingProjDim: 1280, clipEmbedDim: 1280,
    });
    const graph = buildPriorTransformer(config, listedCheckpoint('published/prior', publishedPriorTensors()));
    assert.ok(graph.nodeCount > 20 * 10);
  });

  it('reads clip_mean and clip_std for de-normalising the last sample', () => {
    const checkpoint = loadCheckpoint(priorDir);
    const stats = readClipStatistics(checkpoint, priorConfig());
    const file = readSafetensors(join(priorDir, 'diffusion_pytorch_model.safetensors')).tensors;
    assert.deepEqual(stats.clipMean, readFloat32(file.find((x) => x.name === 'clip_mean')!));
    assert.deepEqual(stats.clipStd, readFloat32(file.find((x) => x.name === 'clip_std')!));
    assert.equal(stats.clipStd.length, 32);
  });

  it('refuses clip_std of the wrong size', () => {
    const checkpoint = withShape(loadCheckpoint(priorDir), 'clip_std', [1, 16]);
    assert.throws(() => readClipStatistics(checkpoint, priorConfig()),
      (err: Error) => err instanceof WeightsError && /"clip_std" has shape \[1, 16\], the config implies \[1, 32\]/.test(err.message));
  });

  it('refuses a checkpoint without the positional embedding, naming the tensor and its shape', () => {
    const checkpoint = withoutTensor(loadCheckpoint(priorDir), 'positional_embedding');
    assert.throws(() => buildPriorTransformer(priorConfig(), checkpoint),
      (err: Error) => err instanceof WeightsError && /"positional_embedding" \[1, 81, 64\] is missing/.test(err.message));
  });

  it('refuses a feed-forward weight of the wrong shape', () => {
    const checkpoint = withShape(loadCheckpoint(priorDir), 'transformer_blocks.1.ff.net.0.proj.weight', [128, 64]);
    assert.throws(() => buildPriorTransformer(priorConfig(), checkpoint),
      (err: Error) => err instanceof WeightsError && /"transformer_blocks\.1\.ff\.net\.0\.proj\.weight" has shape \[128, 64\], the config implies \[256, 64\]/.test(err.message));
  });

  it('refuses a time embedding activation it does not implement', () => {
    assert.throws(() => priorConfig({ ...readComponentConfig(priorDir), time_embed_act_fn: 'mish' }),
      (err: Error) => err instanceof ConfigError && /field "time_embed_act_fn" is "mish", expected one of "silu", "swish", "gelu"/.test(err.message));
  });

  it('refuses the prior forms without text states or prd token', () => {
    assert.throws(() => priorConfig({ ...readComponentConfig(priorDir), added_emb_type: null }),
      (err: Error) => err instanceof ConfigError && /field "added_emb_type" is null/.test(err.message));
    assert.throws(() => priorConfig({ ...readComponentConfig(priorDir), encoder_hid_proj_type: null }),
      (err: Error) => err instanceof ConfigError && /field "encoder_hid_proj_type" is null/.test(err.message));
    assert.throws(() => priorConfig({ ...readComponentConfig(priorDir), additional_embeddings: 3 }),
      (err: Error) => err instanceof ConfigError && /field "additional_embeddings" is 3/.test(err.message));
  });

  it('builds the optional input norms when the config asks for them', () => {
    const config = priorConfig({ ...readComponentConfig(priorDir), norm_in_type: 'layer', embedding_proj_norm_type: 'layer' });
    assert.throws(() => buildPriorTransformer(config, loadCheckpoint(priorDir)),
      (err: Error) => err instanceof WeightsError && /"embedding_proj_norm\.weight" \[32\] is missing/.test(err.message));
  });
});

// kandinsky-2.2-architecture.md §2.3.

function publishedPriorTensors(): Map<string, number[]> {
  const d = 2048;
  const e = 1280;
  const shapes = new Map<string, number[]>([
    ['time_embedding.linear_1.weight', [d, d]], ['time_embedding.linear_1.bias', [d]],
    ['time_embedding.linear_2.weight', [d, d]], ['time_embedding.linear_2.bias', [d]],
    ['proj_in.weight', [d, e]], ['proj_in.bias', [d]],
    ['embedding_proj.weight', [d, e]], ['embedding_proj.bias', [d]],
    ['encoder_hidden_states_proj.weight', [d, e]], ['encoder_hidden_states_proj.bias', [d]],
    ['positional_embedding', [1, 81, d]], ['prd_embedding', [1, 1, d]],
    ['norm_out.weight', [d]], ['norm_out.bias', [d]],
    ['proj_to_clip_embeddings.weight', [e, d]], ['proj_to_clip_embeddings.bias', [e]],
    ['clip_mean', [1, e]], ['clip_std', [1, e]],
  ]);
  for (let i = 0; i < 20; i++) {
    const p = `transformer_blocks.${i}`;
    for (const norm of ['norm1', 'norm3']) shapes.set(`${p}.${norm}.weight`, [d]).set(`${p}.${norm}.bias`, [d]);
    for (const proj of ['to_q', 'to_k', 'to_v', 'to_out.0']) shapes.set(`${p}.attn1.${proj}.weight`, [d, d]).set(`${p}.attn1.${proj}.bias`, [d]);
    shapes.set(`${p}.ff.net.0.proj.weight`, [4 * d, d]).set(`${p}.ff.net.0.proj.bias`, [4 * d]);
    shapes.set(`${p}.ff.net.2.weight`, [d, 4 * d]).set(`${p}.ff.net.2.bias`, [d]);
  }
  return shapes;
}
