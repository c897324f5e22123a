import type { Graph, Value, Weights } from '../onnx/index.js';
import type { ConfigFields } from '../config/index.js';

// transformers' CLIPEncoder: the pre-LN layer stack shared by the CLIP text and vision towers
// (kandinsky-2.2-architecture.md §3.2, §3.4).

export type CLIPActivation = 'gelu' | 'quick_gelu';

export interface CLIPEncoderConfig {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numAttentionHeads: number;
  readonly numHiddenLayers: number;
  readonly layerNormEps: number;
  readonly hiddenAct: CLIPActivation;
}

/** The encoder fields of a CLIPTextConfig / CLIPVisionConfig; `defaults` are that config class's. */
export function parseCLIPEncoderConfig(f: ConfigFields, defaults: Omit<CLIPEncoderConfig, 'layerNormEps' | 'hiddenAct'>): CLIPEncoderConfig {
  const c: CLIPEncoderConfig = {
    hiddenSize: f.int('hidden_size', defaults.hiddenSize),
    intermediateSize: f.int('intermediate_size', defaults.intermediateSize),
    numAttentionHeads: f.int('num_attention_heads', defaults.numAttentionHeads),
    numHiddenLayers: f.int('num_hidden_layers', defaults.numHiddenLayers),
    layerNormEps: f.positive('layer_norm_eps', 1e-5),
    hiddenAct: f.oneOf<CLIPActivation>('hidden_act', ['gelu', 'quick_gelu'], 'quick_gelu'),
  };
  f.require(c.hiddenSize % c.numAttentionHeads === 0,
    `"hidden_size" ${c.hiddenSize} is not divisible by "num_attention_heads" ${c.numAttentionHeads}`);
  return c;
}

/**
 * `encoder.layers.{i}` applied in order to x [B, T, hidden]. `mask` is additive and broadcasts against the
 * attention scores [B, heads, T, T].
 */
export function clipEncoder(g: Graph, w: Weights, x: Value, c: CLIPEncoderConfig, mask?: Value): Value {
  for (let i = 0; i < c.numHiddenLayers; i++) x = clipEncoderLayer(g, w.sub(`layers.${i}`), x, c, mask);
  return x;
}

function clipEncoderLayer(g: Graph, w: Weights, x: Value, c: CLIPEncoderConfig, mask: Value | undefined): Value {
  x = g.add(x, clipAttention(g, w.sub('self_attn'), w.layerNorm(x, 'layer_norm1', c.hiddenSize, c.layerNormEps), c, mask));
  return g.add(x, clipMlp(g, w.sub('mlp'), w.layerNorm(x, 'layer_norm2', c.hiddenSize, c.layerNormEps), c));
}

function clipAttention(g: Graph, w: Weights, x: Value, c: CLIPEncoderConfig, mask: Value | undefined): Value {
  const h = c.hiddenSize;
  const q = w.linear(x, 'q_proj', h, h);
  const k = w.linear(x, 'k_proj', h, h);
  const v = w.linear(x, 'v_proj', h, h);
  const out = g.attention(q, k, v, c.numAttentionHeads, h / c.numAttentionHeads, { mask });
  return w.linear(out, 'out_proj', h, h);
}

function clipMlp(g: Graph, w: Weights, x: Value, c: CLIPEncoderConfig): Value {
  const h = activation(g, w.linear(x, 'fc1', c.hiddenSize, c.intermediateSize), c.hiddenAct);
  return w.linear(h, 'fc2', c.intermediateSize, c.hiddenSize);
}

function activation(g: Graph, x: Value, act: CLIPActivation): Value {
  if (act === 'gelu') return g.gelu(x);
  // OpenAI CLIP's sigmoid approximation of GELU, what most CLIP configs other than Kandinsky's ask for.
  return g.mul(x, g.sigmoid(g.mul(x, g.scalar(1.702))));
}
