import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, InputError, WeightsError } from '../../src/errors.js';
import { buildDPTForDepthEstimation, DPTForDepthEstimation, parseDPTConfig, PUBLISHED_DPT_LARGE } from '../../src/nets/index.js';
import { tensor } from '../../src/tensor/index.js';
import { loadCheckpoint, readComponentConfig, type Checkpoint, type TensorInfo } from '../../src/weights/index.js';
import { tinyDptDir } from '../helpers/fixtures.js';
import { withShape } from './checkpoint-edits.js';

const dptDir = tinyDptDir;
const tinyConfig = () => readComponentConfig(dptDir);
const parse = (json: Record<string, unknown>) => parseDPTConfig(json, 'tiny-dpt/config.json');

/** A checkpoint that hands out every tensor a graph asks for, recording names and shapes. */
function recordingCheckpoint(): { checkpoint: Checkpoint; asked: Map<string, readonly number[]> } {
  const asked = new Map<string, readonly number[]>();
  const checkpoint: Checkpoint = {
    source: 'published/dpt-large',
    tensors: new Map(),
    synthesize: (name, shape): TensorInfo => {
      asked.set(name, shape);
      return { name, dtype: 'F32', shape, file: '/nonexistent/model.safetensors', offset: 0, byteLength: 0 };
    },
  };
  return { checkpoint, asked };
}

describe('DPTForDepthEstimation', () => {
  it('builds Intel/dpt-large from its published config with transformers\' weight names (all 343 M parameters but those no output uses)', () => {
    const { checkpoint, asked } = recordingCheckpoint();
    buildDPTForDepthEstimation(parse(PUBLISHED_DPT_LARGE), checkpoint);
    const params = [...asked.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    // transformers also holds dpt.layernorm (2 x 1024) and the first fusion layer's residual_layer1 (2 x 256*256*9 + 2 x 256),
    // which it never applies to the depth output.
    assert.equal(params + 2 * 1024 + 2 * (256 * 256 * 9 + 256), 343_030_465);
    assert.equal(asked.has('neck.fusion_stage.layers.0.residual_layer1.convolution1.weight'), false);
    assert.deepEqual(asked.get('dpt.embeddings.position_embeddings'), [1, 577, 1024]);
    assert.deepEqual(asked.get('dpt.encoder.layer.23.attention.attention.query.weight'), [1024, 1024]);
    assert.deepEqual(asked.get('neck.reassemble_stage.layers.0.resize.weight'), [256, 256, 4, 4]);
    assert.deepEqual(asked.get('neck.reassemble_stage.layers.3.resize.weight'), [1024, 1024, 3, 3]);
    assert.deepEqual(asked.get('neck.reassemble_stage.readout_projects.2.0.weight'), [1024, 2048]);
    assert.deepEqual(asked.get('head.head.4.weight'), [1, 32, 1, 1]);
    assert.equal(asked.has('neck.reassemble_stage.layers.2.resize.weight'), false, 'factor 1 is the identity');
  });

  it('builds only the encoder layers that feed the neck', () => {
    const { checkpoint, asked } = recordingCheckpoint();
    buildDPTForDepthEstimation(parse({ ...PUBLISHED_DPT_LARGE, backbone_out_indices: [1, 3, 5, 7] }), checkpoint);
    assert.ok(asked.has('dpt.encoder.layer.7.output.dense.weight'));
    assert.equal(asked.has('dpt.encoder.layer.8.output.dense.weight'), false);
  });

  it('refuses a hybrid DPT, naming the field and what is supported', () => {
    assert.throws(() => parse({ ...tinyConfig(), is_hybrid: true }),
      (err: Error) => err instanceof ConfigError && /field "is_hybrid" is true: DPT-Hybrid .* supported: DPT with its own ViT backbone/.test(err.message));
  });

  for (const backbone of ['beit', 'swinv2', 'dinov2']) {
    it(`refuses a DPT on a ${backbone} backbone_config`, () => {
      assert.throws(() => parse({ ...tinyConfig(), backbone_config: { model_type: backbone } }),
        (err: Error) => err instanceof ConfigError && /field "backbone_config" .* another backbone \(BEiT, Swin, DINOv2, \.\.\.\) .* supported: DPT with its own ViT backbone/.test(err.message));
    });
  }

  it('refuses a config of another model type (Depth Anything)', () => {
    assert.throws(() => parse({ ...tinyConfig(), model_type: 'depth_anything' }),
      (err: Error) => err instanceof ConfigError && /field "model_type" is "depth_anything": not a DPT config/.test(err.message));
  });

  it('refuses readout types other than "project"', () => {
    assert.throws(() => parse({ ...tinyConfig(), readout_type: 'ignore' }),
      (err: Error) => err instanceof ConfigError && /field "readout_type" is "ignore", expected one of "project"/.test(err.message));
  });

  it('refuses batch norm in the fusion residual units', () => {
    assert.throws(() => parse({ ...tinyConfig(), use_batch_norm_in_fusion_residual: true }),
      (err: Error) => err instanceof ConfigError && /field "use_batch_norm_in_fusion_residual" is true, expected false/.test(err.message));
  });

  it('refuses out indices beyond the encoder or of another count than the neck stages', () => {
    assert.throws(() => parse({ ...tinyConfig(), backbone_out_indices: [0, 1, 2, 4] }),
      (err: Error) => err instanceof ConfigError && /field "backbone_out_indices" is \[0,1,2,4\], expected a list of 4 layer indices .* each from 0 to 3/.test(err.message));
    assert.throws(() => parse({ ...tinyConfig(), backbone_out_indices: [0, 1, 2] }),
      (err: Error) => err instanceof ConfigError && /field "backbone_out_indices"/.test(err.message));
  });

  it('refuses a reassemble factor that is neither an integer above 1, 1, nor below 1', () => {
    assert.throws(() => parse({ ...tinyConfig(), reassemble_factors: [4, 2.5, 1, 0.5] }),
      (err: Error) => err instanceof ConfigError && /field "reassemble_factors" is \[4,2\.5,1,0\.5\]/.test(err.message));
  });

  it('refuses a head_in_index that names no fused map', () => {
    assert.throws(() => parse({ ...tinyConfig(), head_in_index: 4 }), (err: Error) => err instanceof ConfigError && /"head_in_index" 4/.test(err.message));
  });

  it('refuses a transposed-conv weight whose kernel disagrees with its reassemble factor, naming the tensor', () => {
    const checkpoint = withShape(loadCheckpoint(dptDir), 'neck.reassemble_stage.layers.0.resize.weight', [8, 8, 2, 2]);
    assert.throws(() => buildDPTForDepthEstimation(parse(tinyConfig()), checkpoint),
      (err: Error) => err instanceof WeightsError && /"neck\.reassemble_stage\.layers\.0\.resize\.weight" has shape \[8, 8, 2, 2\], the config implies \[8, 8, 4, 4\]/.test(err.message));
  });

  it('runs at sizes other than image_size (position embeddings resized) and refuses a size that is not whole patches', async () => {
    const model = await DPTForDepthEstimation.load(dptDir, { device: 'cpu', threads: 1 });
    try {
      const out = await model.forward(tensor(new Float32Array(3 * 64 * 64).fill(0.1), [1, 3, 64, 64]));
      assert.deepEqual(out.shape, [1, 64, 64]);
      assert.ok(out.data.every((v) => Number.isFinite(v) && v >= 0), 'ReLU output');
      await assert.rejects(model.forward(tensor(new Float32Array(3 * 60 * 60), [1, 3, 60, 60])),
        (err: Error) => err instanceof InputError && /expected \[B, 3, H, W\] with H and W multiples of patch_size 16/.test(err.message));
    } finally {
      await model.release();
    }
  });
});
