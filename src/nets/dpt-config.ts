import { ConfigFields, MAX_BLOCKS, showJson } from '../config/index.js';
import { ConfigError } from '../errors.js';

// The config.json of transformers' DPTForDepthEstimation (DPTConfig), narrowed to the network built here:
// the non-hybrid ViT backbone with `readout_type: "project"` (Intel/dpt-large and its fine-tunes). Absent keys
// take DPTConfig's defaults; every other variant is refused naming the field and what is supported.

const SUPPORTED = 'supported: DPT with its own ViT backbone (is_hybrid false, no backbone_config), as Intel/dpt-large';

export interface DPTConfig {
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  readonly layerNormEps: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly numChannels: number;
  readonly qkvBias: boolean;
  /** Encoder layers (0-based) whose outputs feed the reassemble stage, one per neck stage. */
  readonly backboneOutIndices: readonly number[];
  readonly neckHiddenSizes: readonly number[];
  /** Per neck stage: > 1 transposed conv (integer), 1 identity, < 1 a stride-int(1/f) conv. */
  readonly reassembleFactors: readonly number[];
  readonly fusionHiddenSize: number;
  /** Index into the fused features (negative counts from the end, as Python). */
  readonly headInIndex: number;
  readonly useBiasInFusionResidual: boolean;
  readonly addProjection: boolean;
}

export function parseDPTConfig(json: Record<string, unknown>, source: string): DPTConfig {
  const f = new ConfigFields(json, source);
  const refuse = (key: string, why: string) => new ConfigError(`${source}: field "${key}" is ${showJson(json[key])}: ${why}; ${SUPPORTED}`);
  if (json.model_type !== undefined && json.model_type !== 'dpt') throw refuse('model_type', 'not a DPT config');
  if (json.is_hybrid === true) throw refuse('is_hybrid', 'DPT-Hybrid (a ResNet backbone) is not built');
  for (const key of ['backbone_config', 'backbone']) {
    if (json[key] !== undefined && json[key] !== null) throw refuse(key, 'a DPT on another backbone (BEiT, Swin, DINOv2, ...) is not built');
  }
  f.exactly('is_hybrid', false, false);
  f.oneOf('readout_type', ['project'], 'project');
  f.oneOf('hidden_act', ['gelu'], 'gelu');
  f.exactly('use_batch_norm_in_fusion_residual', false, false);
  f.require(neckIgnoreStages(json) === 0, `field "neck_ignore_stages" is ${showJson(json.neck_ignore_stages)}, expected [] (stages are ignored only with a hybrid backbone)`);

  const numHiddenLayers = f.int('num_hidden_layers', 12, { max: 1024 });
  const neckHiddenSizes = f.ints('neck_hidden_sizes', [96, 192, 384, 768]);
  const stages = neckHiddenSizes.length;
  const c: DPTConfig = {
    hiddenSize: f.int('hidden_size', 768),
    numHiddenLayers,
    numAttentionHeads: f.int('num_attention_heads', 12),
    intermediateSize: f.int('intermediate_size', 3072),
    layerNormEps: f.positive('layer_norm_eps', 1e-12),
    imageSize: f.int('image_size', 384, { max: 4096 }),
    patchSize: f.int('patch_size', 16, { max: 4096 }),
    numChannels: f.int('num_channels', 3),
    qkvBias: f.bool('qkv_bias', true),
    backboneOutIndices: f.parsed('backbone_out_indices', [2, 5, 8, 11], (v) => layerIndices(v, numHiddenLayers, stages),
      `a list of ${stages} layer indices (one per "neck_hidden_sizes" entry), each from 0 to ${numHiddenLayers - 1}`),
    neckHiddenSizes,
    reassembleFactors: f.parsed('reassemble_factors', [4, 2, 1, 0.5], (v) => factors(v, stages),
      `a list of ${stages} factors (one per "neck_hidden_sizes" entry): an integer above 1, 1, or a fraction below 1`),
    fusionHiddenSize: f.int('fusion_hidden_size', 256),
    headInIndex: f.integer('head_in_index', -1),
    useBiasInFusionResidual: f.bool('use_bias_in_fusion_residual', true),
    addProjection: f.bool('add_projection', false),
  };
  f.require(c.hiddenSize % c.numAttentionHeads === 0,
    `"hidden_size" ${c.hiddenSize} is not divisible by "num_attention_heads" ${c.numAttentionHeads}`);
  f.require(c.imageSize % c.patchSize === 0, `"image_size" ${c.imageSize} is not a multiple of "patch_size" ${c.patchSize}`);
  f.require(c.fusionHiddenSize >= 2, `"fusion_hidden_size" ${c.fusionHiddenSize}: the head halves it, expected at least 2`);
  f.require(c.headInIndex >= -stages && c.headInIndex < stages,
    `"head_in_index" ${c.headInIndex} names no fused feature map (there are ${stages}, one per "neck_hidden_sizes" entry)`);
  return c;
}

function neckIgnoreStages(json: Record<string, unknown>): number {
  const v = json.neck_ignore_stages;
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) ? 0 : 1;
}

function layerIndices(v: unknown, layers: number, stages: number): number[] | undefined {
  if (!Array.isArray(v) || v.length !== stages) return undefined;
  return v.every((i) => Number.isInteger(i) && i >= 0 && i < layers) ? [...v] : undefined;
}

function factors(v: unknown, stages: number): number[] | undefined {
  if (!Array.isArray(v) || v.length !== stages || v.length > MAX_BLOCKS) return undefined;
  const ok = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0 && (x <= 1 ? x === 1 || Math.trunc(1 / x) >= 1 : Number.isInteger(x) && x <= 64);
  return v.every(ok) ? [...v] : undefined;
}
