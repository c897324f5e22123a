import { Graph, type Value, Weights } from '../onnx/index.js';
import type { Checkpoint } from '../weights/index.js';
import type { DPTConfig } from './dpt-config.js';

// transformers' DPTForDepthEstimation with the non-hybrid ViT backbone (models/dpt/modeling_dpt.py): ViT
// hidden states -> DPTReassembleStage -> neck convs -> DPTFeatureFusionStage -> DPTDepthEstimationHead.
// The golden-depth README ("dpt_depth") spells out each step.

/** The ViT's patch grid and the patch embeddings [B, hidden, gh, gw], shared by the embeddings and the reassemble stage. */
interface PatchGrid {
  /** int64 [4]: B, hidden, gh, gw. */
  readonly shape: Value;
}

/**
 * Input: `pixel_values` float32 [batch, num_channels, H, W] (DPTImageProcessor output; H and W multiples of
 * patch_size; when they differ from image_size the position embeddings are resized to the patch grid).
 * Output: `predicted_depth` [batch, H, W].
 */
export function buildDPTForDepthEstimation(config: DPTConfig, checkpoint: Checkpoint): Graph {
  const g = new Graph('dpt_for_depth_estimation');
  const w = new Weights(g, checkpoint);
  const pixels = g.input('pixel_values', 'float32', ['batch', config.numChannels, 'height', 'width']);

  const { embeddings, grid } = dptViTEmbeddings(g, w.sub('dpt.embeddings'), pixels, config);
  const hiddenStates = dptViTEncoder(g, w.sub('dpt.encoder'), embeddings, config);
  const features = dptReassembleStage(g, w.sub('neck.reassemble_stage'), hiddenStates, grid, config);
  const neck = features.map((x, i) => w.conv2d(x, `neck.convs.${i}`, config.neckHiddenSizes[i], config.fusionHiddenSize, 3, { bias: false }));
  const fused = dptFeatureFusionStage(g, w.sub('neck.fusion_stage'), neck, config);
  const depth = dptDepthEstimationHead(g, w.sub('head'), fused.at(config.headInIndex) as Value, config);

  g.output(depth, 'predicted_depth', 'float32', ['batch', 'height', 'width']);
  return g;
}

/** Class token + patch tokens + position embeddings, these resized to the patch grid (`_resize_pos_embed`). */
function dptViTEmbeddings(g: Graph, w: Weights, pixels: Value, c: DPTConfig): { embeddings: Value; grid: PatchGrid } {
  const h = c.hiddenSize;
  const patches = w.conv2d(pixels, 'patch_embeddings.projection', c.numChannels, h, c.patchSize, { stride: c.patchSize, pad: 0 });
  const grid = { shape: g.shape(patches) };
  const tokens = g.transpose(g.reshape(patches, [0, h, -1]), [0, 2, 1]);
  const classShape = g.concat([g.shape(pixels, 0, 1), g.ints([1, h])], 0);
  const classToken = g.expand(w.at('cls_token', [1, 1, h]), classShape);

  const side = c.imageSize / c.patchSize;
  const positions = w.at('position_embeddings', [1, side * side + 1, h]);
  const positionToken = g.slice(positions, [0], [1], [1]);
  const square = g.transpose(g.reshape(g.slice(positions, [1], [side * side + 1], [1]), [1, side, side, h]), [0, 3, 1, 2]);
  const resized = g.resizeBilinear(square, g.concat([g.ints([1, h]), g.slice(grid.shape, [2], [4], [0])], 0), { alignCorners: false });
  const positionGrid = g.reshape(g.transpose(resized, [0, 2, 3, 1]), [1, -1, h]);

  const embeddings = g.add(g.concat([classToken, tokens], 1), g.concat([positionToken, positionGrid], 1));
  return { embeddings, grid };
}

/** The hidden states after each layer named in backbone_out_indices (later layers feed nothing, so are not built). */
function dptViTEncoder(g: Graph, w: Weights, x: Value, c: DPTConfig): Value[] {
  const outputs = new Map<number, Value>();
  const last = Math.max(...c.backboneOutIndices);
  for (let i = 0; i <= last; i++) {
    x = dptViTLayer(g, w.sub(`layer.${i}`), x, c);
    outputs.set(i, x);
  }
  return c.backboneOutIndices.map((i) => outputs.get(i) as Value);
}

function dptViTLayer(g: Graph, w: Weights, x: Value, c: DPTConfig): Value {
  const h = c.hiddenSize;
  x = g.add(x, dptViTAttention(g, w.sub('attention'), w.layerNorm(x, 'layernorm_before', h, c.layerNormEps), c));
  const intermediate = g.gelu(w.linear(w.layerNorm(x, 'layernorm_after', h, c.layerNormEps), 'intermediate.dense', h, c.intermediateSize));
  return g.add(x, w.linear(intermediate, 'output.dense', c.intermediateSize, h));
}

function dptViTAttention(g: Graph, w: Weights, x: Value, c: DPTConfig): Value {
  const h = c.hiddenSize;
  const q = w.linear(x, 'attention.query', h, h, c.qkvBias);
  const k = w.linear(x, 'attention.key', h, h, c.qkvBias);
  const v = w.linear(x, 'attention.value', h, h, c.qkvBias);
  const out = g.attention(q, k, v, c.numAttentionHeads, h / c.numAttentionHeads);
  return w.linear(out, 'output.dense', h, h);
}

/**
 * Each hidden state [B, 1 + gh*gw, hidden] to a feature map: readout projection of [token, class token]
 * with GELU (`readout_type: "project"`), back to [B, hidden, gh, gw], then DPTReassembleLayer.
 */
function dptReassembleStage(g: Graph, w: Weights, hiddenStates: readonly Value[], grid: PatchGrid, c: DPTConfig): Value[] {
  const h = c.hiddenSize;
  return hiddenStates.map((x, i) => {
    const classToken = g.slice(x, [0], [1], [1]);
    const tokens = g.slice(x, [1], [Number.MAX_SAFE_INTEGER], [1]);
    const readout = g.expand(classToken, g.shape(tokens));
    const projected = g.gelu(w.linear(g.concat([tokens, readout], -1), `readout_projects.${i}.0`, 2 * h, h));
    const map = g.reshapeTo(g.transpose(projected, [0, 2, 1]), grid.shape);
    return dptReassembleLayer(g, w.sub(`layers.${i}`), map, c, i);
  });
}

function dptReassembleLayer(g: Graph, w: Weights, x: Value, c: DPTConfig, i: number): Value {
  const channels = c.neckHiddenSizes[i];
  const factor = c.reassembleFactors[i];
  const projected = w.conv2d(x, 'projection', c.hiddenSize, channels, 1);
  if (factor === 1) return projected;
  if (factor < 1) return w.conv2d(projected, 'resize', channels, channels, 3, { stride: Math.trunc(1 / factor), pad: 1 });
  const weight = w.at('resize.weight', [channels, channels, factor, factor]);
  return g.convTranspose2d(projected, weight, w.at('resize.bias', [channels]), factor);
}

/** Deepest first: each DPTFeatureFusionLayer takes the previous fused map and the next shallower feature. */
function dptFeatureFusionStage(g: Graph, w: Weights, features: readonly Value[], c: DPTConfig): Value[] {
  const fused: Value[] = [];
  [...features].reverse().forEach((feature, i) => {
    const layer = w.sub(`layers.${i}`);
    fused.push(i === 0 ? dptFeatureFusionLayer(g, layer, feature, undefined, c) : dptFeatureFusionLayer(g, layer, fused[i - 1], feature, c));
  });
  return fused;
}

function dptFeatureFusionLayer(g: Graph, w: Weights, x: Value, residual: Value | undefined, c: DPTConfig): Value {
  if (residual !== undefined) {
    // transformers resizes the residual only when the shapes differ (an odd patch grid); to the same shape the
    // resize is the identity, so it is always in the graph.
    const matched = g.resizeBilinear(residual, g.shape(x), { alignCorners: false });
    x = g.add(x, dptPreActResidualLayer(g, w.sub('residual_layer1'), matched, c));
  }
  x = dptPreActResidualLayer(g, w.sub('residual_layer2'), x, c);
  return w.conv2d(g.upsampleBilinear2xAlignCorners(x), 'projection', c.fusionHiddenSize, c.fusionHiddenSize, 1);
}

function dptPreActResidualLayer(g: Graph, w: Weights, x: Value, c: DPTConfig): Value {
  const f = c.fusionHiddenSize;
  const bias = c.useBiasInFusionResidual;
  const h = w.conv2d(g.relu(x), 'convolution1', f, f, 3, { bias });
  return g.add(w.conv2d(g.relu(h), 'convolution2', f, f, 3, { bias }), x);
}

/** 3x3 conv to half width, bilinear x2 (align_corners), 3x3 conv to 32, ReLU, 1x1 conv to 1, ReLU; [B, H, W]. */
function dptDepthEstimationHead(g: Graph, w: Weights, x: Value, c: DPTConfig): Value {
  const f = c.fusionHiddenSize;
  // transformers hard-codes the optional projection's width (DPT-Hybrid's 256).
  if (c.addProjection) x = g.relu(w.conv2d(x, 'projection', 256, 256, 3));
  let h = w.conv2d(x, 'head.0', f, Math.trunc(f / 2), 3);
  h = g.relu(w.conv2d(g.upsampleBilinear2xAlignCorners(h), 'head.2', Math.trunc(f / 2), HEAD_CHANNELS, 3));
  h = g.relu(w.conv2d(h, 'head.4', HEAD_CHANNELS, 1, 1));
  return g.squeeze(h, [1]);
}

/** Width of the head's last hidden layer, fixed in transformers (`nn.Conv2d(features // 2, 32, ...)`). */
const HEAD_CHANNELS = 32;
