import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CaseData, compareOutputs, readGoldenSet, type GoldenCase } from '../../src/conformance/golden.js';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { buildCLIPTextModel, parseCLIPTextModelConfig } from '../../src/nets/clip-text-model.js';
import { buildCLIPVisionModel, parseCLIPVisionModelConfig } from '../../src/nets/clip-vision-model.js';
import type { Graph } from '../../src/onnx/graph.js';
import { NetworkSession } from '../../src/onnx/session.js';
import type { Tensor } from '../../src/tensor/index.js';
import { loadCheckpoint, readComponentConfig } from '../../src/weights/diffusers.js';
import { goldenDir, modelsDir } from '../helpers/fixtures.js';
import { listedCheckpoint, withoutTensor, withShape } from './checkpoint-edits.js';
import { PUBLISHED_IMAGE_ENCODER, PUBLISHED_TEXT_ENCODER } from '../../src/nets/published-configs.js';

const set = readGoldenSet(goldenDir);
const textDir = join(modelsDir, 'kandinsky-2-2-prior', 'text_encoder');
const visionDir = join(modelsDir, 'kandinsky-2-2-prior', 'image_encoder');

function casesOf(kind: string): readonly GoldenCase[] {
  const cases = set.cases.filter((c) => c.kind === kind);
  assert.ok(cases.length > 0, `the golden set has no ${kind} case`);
  return cases;
}

async function run(graph: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await NetworkSession.create(graph, { device: 'cpu', threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function textModel(dir: string, json = readComponentConfig(dir)) {
  return parseCLIPTextModelConfig(json, join(dir, 'config.json'));
}

function visionModel(dir: string, json = readComponentConfig(dir)) {
  return parseCLIPVisionModelConfig(json, join(dir, 'config.json'));
}

describe('CLIPTextModelWithProjection', () => {
  for (const c of casesOf('clip_text')) {
    it(`matches the reference on golden case ${c.name}`, async (t) => {
      const data = new CaseData(set, c);
      const dir = data.componentDir();
      const mask = data.input('attention_mask');
      const feeds: Record<string, Tensor> = { input_ids: data.intInput('input_ids') };
      if (mask !== null) feeds.attention_mask = data.intInput('attention_mask');
      const graph = buildCLIPTextModel(textModel(dir), loadCheckpoint(dir), { attentionMask: mask !== null });
      const result = compareOutputs(data, await run(graph, feeds));
      t.diagnostic(`maxAbs ${result.maxAbs} (tolerance ${c.tolerance.max_abs})`);
      assert.ok(result.ok, result.detail);
    });
  }

  it('takes sequences shorter than 77: causal attention makes them a prefix of the padded run', async () => {
    const data = new CaseData(set, set.cases.find((c) => c.name === 'clip_text_raw_ids')!);
    const ids = data.intInput('input_ids');
    const [batch, full] = ids.shape;
    const short = 8; // both rows end (first 49407) within the first 8 tokens
    const prefix = new BigInt64Array(batch * short);
    for (let b = 0; b < batch; b++) prefix.set(ids.data.subarray(b * full, b * full + short), b * short);
    const out = await run(buildCLIPTextModel(textModel(textDir), loadCheckpoint(textDir)), { input_ids: { data: prefix, shape: [batch, short] } });
    assert.deepEqual(out.last_hidden_state.shape, [batch, short, 32]);
    const expected = data.tensor(data.expected('last_hidden_state')).data as Float32Array;
    const got = out.last_hidden_state.data as Float32Array;
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < short * 32; i++) assert.ok(Math.abs(got[b * short * 32 + i] - expected[b * full * 32 + i]) < 2e-5);
    }
    const embeds = data.tensor(data.expected('text_embeds')).data as Float32Array;
    (out.text_embeds.data as Float32Array).forEach((x, i) => assert.ok(Math.abs(x - embeds[i]) < 2e-5));
  });

  it('reads the sharded text encoder of the fixture', () => {
    const checkpoint = loadCheckpoint(textDir);
    const files = new Set([...checkpoint.tensors.values()].map((info) => info.file));
    assert.equal(files.size, 2);
    assert.doesNotThrow(() => buildCLIPTextModel(textModel(textDir), checkpoint));
  });

  it('builds from the published kandinsky-2-2-prior text_encoder config', () => {
    const config = textModel('published/text_encoder', PUBLISHED_TEXT_ENCODER);
    assert.deepEqual(config.encoder, {
      hiddenSize: 1280, intermediateSize: 5120, numAttentionHeads: 20, numHiddenLayers: 32, layerNormEps: 1e-5, hiddenAct: 'gelu',
    });
    assert.equal(config.eosTokenId, 2);
    const graph = buildCLIPTextModel(config, listedCheckpoint('published/text_encoder', publishedTextTensors()));
    assert.ok(graph.nodeCount > 32 * 10);
  });

  it('refuses a checkpoint without a layer weight, naming the tensor', () => {
    const checkpoint = withoutTensor(loadCheckpoint(textDir), 'text_model.encoder.layers.1.mlp.fc2.weight');
    assert.throws(() => buildCLIPTextModel(textModel(textDir), checkpoint),
      (err: Error) => err instanceof WeightsError && /"text_model\.encoder\.layers\.1\.mlp\.fc2\.weight" \[32, 128\] is missing/.test(err.message));
  });

  it('refuses a text_projection of the wrong shape, naming expected and actual shapes', () => {
    const checkpoint = withShape(loadCheckpoint(textDir), 'text_projection.weight', [16, 32]);
    assert.throws(() => buildCLIPTextModel(textModel(textDir), checkpoint),
      (err: Error) => err instanceof WeightsError && /"text_projection\.weight" has shape \[16, 32\], the config implies \[32, 32\]/.test(err.message));
  });

  it('refuses an activation it does not implement, naming the field and the supported values', () => {
    const json = { ...readComponentConfig(textDir), hidden_act: 'relu' };
    assert.throws(() => textModel(textDir, json),
      (err: Error) => err instanceof ConfigError && /config\.json: field "hidden_act" is "relu", expected one of "gelu", "quick_gelu"/.test(err.message));
  });

  it('refuses heads that do not divide the hidden size', () => {
    const json = { ...readComponentConfig(textDir), num_attention_heads: 5 };
    assert.throws(() => textModel(textDir, json), (err: Error) => err instanceof ConfigError && /"num_attention_heads" 5/.test(err.message));
  });

  it('runs quick_gelu configs (the OpenAI CLIP default) and differs from gelu', async () => {
    const ids = set.cases.find((c) => c.name === 'clip_text_raw_ids') ?? casesOf('clip_text')[0];
    const feeds = { input_ids: new CaseData(set, ids).intInput('input_ids') };
    const checkpoint = loadCheckpoint(textDir);
    const gelu = await run(buildCLIPTextModel(textModel(textDir), checkpoint), feeds);
    const quick = await run(buildCLIPTextModel(textModel(textDir, { ...readComponentConfig(textDir), hidden_act: 'quick_gelu' }), checkpoint), feeds);
    const a = gelu.text_embeds.data as Float32Array;
    const b = quick.text_embeds.data as Float32Array;
    const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    assert.ok(diff > 1e-4 && diff < 1, `quick_gelu vs gelu differ by ${diff}`);
  });
});

describe('CLIPVisionModelWithProjection', () => {
  for (const c of casesOf('clip_vision')) {
    it(`matches the reference on golden case ${c.name}`, async (t) => {
      const data = new CaseData(set, c);
      const dir = data.componentDir();
      const graph = buildCLIPVisionModel(visionModel(dir), loadCheckpoint(dir));
      const result = compareOutputs(data, await run(graph, { pixel_values: data.floatInput('pixel_values') }));
      t.diagnostic(`maxAbs ${result.maxAbs} (tolerance ${c.tolerance.max_abs})`);
      assert.ok(result.ok, result.detail);
    });
  }

  it('builds from the published kandinsky-2-2-prior image_encoder config, whose weights are fp16', () => {
    const config = visionModel('published/image_encoder', PUBLISHED_IMAGE_ENCODER);
    assert.equal(config.encoder.hiddenSize, 1664);
    assert.equal(config.patchSize, 14);
    const graph = buildCLIPVisionModel(config, listedCheckpoint('published/image_encoder', publishedVisionTensors(), 'F16'));
    assert.ok(graph.nodeCount > 48 * 10);
  });

  it('refuses a checkpoint without class_embedding, naming the tensor', () => {
    const checkpoint = withoutTensor(loadCheckpoint(visionDir), 'vision_model.embeddings.class_embedding');
    assert.throws(() => buildCLIPVisionModel(visionModel(visionDir), checkpoint),
      (err: Error) => err instanceof WeightsError && /"vision_model\.embeddings\.class_embedding" \[48\] is missing/.test(err.message));
  });

  it('refuses a patch embedding whose kernel does not match patch_size', () => {
    const checkpoint = withShape(loadCheckpoint(visionDir), 'vision_model.embeddings.patch_embedding.weight', [48, 3, 16, 16]);
    assert.throws(() => buildCLIPVisionModel(visionModel(visionDir), checkpoint),
      (err: Error) => err instanceof WeightsError && /patch_embedding\.weight" has shape \[48, 3, 16, 16\], the config implies \[48, 3, 14, 14\]/.test(err.message));
  });

  it('refuses an image size that is not a whole number of patches', () => {
    const json = { ...readComponentConfig(visionDir), image_size: 225 };
    assert.throws(() => visionModel(visionDir, json), (err: Error) => err instanceof ConfigError && /"image_size" 225/.test(err.message));
  });
});

// §2.1 and §2.2: the published state-dict keys and shapes.
function encoderTensors(prefix: string, layers: number, h: number, i: number): [string, number[]][] {
  const out: [string, number[]][] = [];
  for (let l = 0; l < layers; l++) {
    const p = `${prefix}.encoder.layers.${l}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push([`${p}.self_attn.${proj}.weight`, [h, h]], [`${p}.self_attn.${proj}.bias`, [h]]);
    for (const norm of ['layer_norm1', 'layer_norm2']) out.push([`${p}.${norm}.weight`, [h]], [`${p}.${norm}.bias`, [h]]);
    out.push([`${p}.mlp.fc1.weight`, [i, h]], [`${p}.mlp.fc1.bias`, [i]], [`${p}.mlp.fc2.weight`, [h, i]], [`${p}.mlp.fc2.bias`, [h]]);
  }
  return out;
}

function publishedTextTensors(): Map<string, number[]> {
  return new Map([
    ['text_model.embeddings.token_embedding.weight', [49408, 1280]],
    ['text_model.embeddings.position_embedding.weight', [77, 1280]],
    ['text_model.embeddings.position_ids', [1, 77]],
    ...encoderTensors('text_model', 32, 1280, 5120),
    ['text_model.final_layer_norm.weight', [1280]],
    ['text_model.final_layer_norm.bias', [1280]],
    ['text_projection.weight', [1280, 1280]],
  ]);
}

function publishedVisionTensors(): Map<string, number[]> {
  return new Map([
    ['vision_model.embeddings.class_embedding', [1664]],
    ['vision_model.embeddings.patch_embedding.weight', [1664, 3, 14, 14]],
    ['vision_model.embeddings.position_embedding.weight', [257, 1664]],
    ['vision_model.pre_layrnorm.weight', [1664]],
    ['vision_model.pre_layrnorm.bias', [1664]],
    ...encoderTensors('vision_model', 48, 1664, 8192),
    ['vision_model.post_layernorm.weight', [1664]],
    ['vision_model.post_layernorm.bias', [1664]],
    ['visual_projection.weight', [1280, 1664]],
  ]);
}
