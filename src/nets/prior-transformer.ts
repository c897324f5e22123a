import { Graph, type Value, Weights } from '../onnx/index.js';
import { checkpointTensor, readFloat32, type Checkpoint } from '../weights/index.js';
import { causalMask, MAX_CAUSAL_TOKENS } from './causal-mask.js';
import { ConfigFields, MAX_SIZE } from '../config/index.js';
import { timeEmbedding, type TimeEmbedActivation } from './timesteps.js';

// diffusers' PriorTransformer (kandinsky-2.2-architecture.md §2.3, §3.5): the Kandinsky / unCLIP form, with
// projected text states and a "prd" token.

export interface PriorTransformerConfig {
  readonly numAttentionHeads: number;
  readonly attentionHeadDim: number;
  readonly numLayers: number;
  readonly embeddingDim: number;
  /** Text tokens: the length of `encoder_hidden_states`. */
  readonly numEmbeddings: number;
  /** The tokens after the text: text embedding, time, noisy image embedding, prd. */
  readonly additionalEmbeddings: number;
  readonly timeEmbedActFn: TimeEmbedActivation;
  readonly normInType: 'layer' | null;
  readonly embeddingProjNormType: 'layer' | null;
  readonly timeEmbedDim: number;
  readonly embeddingProjDim: number;
  readonly clipEmbedDim: number;
}

/** A PriorTransformer config.json; absent or null keys take diffusers' defaults. */
export function parsePriorTransformerConfig(json: Record<string, unknown>, source: string): PriorTransformerConfig {
  const f = new ConfigFields(json, source);
  const heads = f.int('num_attention_heads', 32);
  const headDim = f.int('attention_head_dim', 64);
  // The inner width is their product: bounded as one width is, before anything is sized by it.
  f.require(heads * headDim <= MAX_SIZE,
    `"num_attention_heads" ${heads} x "attention_head_dim" ${headDim} = ${heads * headDim}, expected at most ${MAX_SIZE} (the inner width)`);
  const embeddingDim = f.int('embedding_dim', 768);
  // The other forms (no text states, no prd token: Shap-E's prior) take different inputs and outputs.
  f.oneOf('encoder_hid_proj_type', ['linear'], 'linear');
  f.oneOf('added_emb_type', ['prd'], 'prd');
  return {
    numAttentionHeads: heads,
    attentionHeadDim: headDim,
    numLayers: f.int('num_layers', 20),
    embeddingDim,
    numEmbeddings: f.int('num_embeddings', 77, { max: MAX_CAUSAL_TOKENS }),
    additionalEmbeddings: f.exactly('additional_embeddings', 4, 4),
    timeEmbedActFn: f.oneOf<TimeEmbedActivation>('time_embed_act_fn', ['silu', 'swish', 'gelu'], 'silu'),
    normInType: f.oneOf<'layer' | null>('norm_in_type', ['layer', null], null),
    embeddingProjNormType: f.oneOf<'layer' | null>('embedding_proj_norm_type', ['layer', null], null),
    timeEmbedDim: f.int('time_embed_dim', heads * headDim),
    embeddingProjDim: f.int('embedding_proj_dim', embeddingDim),
    clipEmbedDim: f.int('clip_embed_dim', embeddingDim),
  };
}

/** diffusers' nn.LayerNorm default, used by every norm of this model. */
const LAYER_NORM_EPS = 1e-5;
/** The prior's additive mask value (not float32's lowest, unlike CLIP). */
const MASKED = -10000;

/**
 * Inputs: `hidden_states` float32 [batch, embedding_dim] (the noisy, normalised image embedding),
 * `timestep` int64 [batch], `proj_embedding` float32 [batch, embedding_proj_dim] (CLIP text_embeds),
 * `encoder_hidden_states` float32 [batch, num_embeddings, embedding_dim] (CLIP last_hidden_state),
 * `attention_mask` bool [batch, num_embeddings] (the tokenizer's mask).
 * Output: `predicted_image_embedding` [batch, clip_embed_dim], still normalised (see readClipStatistics).
 */
export function buildPriorTransformer(config: PriorTransformerConfig, checkpoint: Checkpoint): Graph {
  const g = new Graph('prior_transformer');
  const w = new Weights(g, checkpoint);
  const c = config;
  const d = innerDim(c);
  const hiddenStates = g.input('hidden_states', 'float32', ['batch', c.embeddingDim]);
  const timestep = g.input('timestep', 'int64', ['batch']);
  const projEmbedding = g.input('proj_embedding', 'float32', ['batch', c.embeddingProjDim]);
  const encoderHiddenStates = g.input('encoder_hidden_states', 'float32', ['batch', c.numEmbeddings, c.embeddingDim]);
  const attentionMask = g.input('attention_mask', 'bool', ['batch', c.numEmbeddings]);

  const time = timeEmbedding(g, w.sub('time_embedding'), timestep, {
    inChannels: d, timeEmbedDim: c.timeEmbedDim, outDim: d, act: c.timeEmbedActFn, flipSinToCos: true, downscaleFreqShift: 0,
  });
  const normedProj = c.embeddingProjNormType ? w.layerNorm(projEmbedding, 'embedding_proj_norm', c.embeddingProjDim, LAYER_NORM_EPS) : projEmbedding;
  const tokenOf = (x: Value) => g.unsqueeze(x, [1]);
  const prdShape = g.concat([g.shape(hiddenStates, 0, 1), g.ints([1, d])], 0);
  let h = g.concat([
    w.linear(encoderHiddenStates, 'encoder_hidden_states_proj', c.embeddingDim, d),
    tokenOf(w.linear(normedProj, 'embedding_proj', c.embeddingProjDim, d)),
    tokenOf(time),
    tokenOf(w.linear(hiddenStates, 'proj_in', c.embeddingDim, d)),
    g.expand(w.at('prd_embedding', [1, 1, d]), prdShape),
  ], 1);
  // Before the causal mask: this shape vouches for the sequence length that sizes it.
  h = g.add(h, w.at('positional_embedding', [1, sequenceLength(c), d]));
  if (c.normInType) h = w.layerNorm(h, 'norm_in', d, LAYER_NORM_EPS);

  const bias = attentionBias(g, attentionMask, c);
  for (let i = 0; i < c.numLayers; i++) {
    h = basicTransformerBlock(g, w.sub(`transformer_blocks.${i}`), h, c, bias, i === c.numLayers - 1);
  }
  const prd = g.squeeze(h, [1]);
  const out = w.linear(w.layerNorm(prd, 'norm_out', d, LAYER_NORM_EPS), 'proj_to_clip_embeddings', d, c.clipEmbedDim);
  g.output(out, 'predicted_image_embedding', 'float32', ['batch', c.clipEmbedDim]);
  return g;
}

function innerDim(c: PriorTransformerConfig): number {
  return c.numAttentionHeads * c.attentionHeadDim;
}

function sequenceLength(c: PriorTransformerConfig): number {
  return c.numEmbeddings + c.additionalEmbeddings;
}

/**
 * [batch, 1, L, L]: `(1 - mask) * -10000` on the text keys (the extra tokens never masked) plus -10000 on every
 * key after the query; the same for every head.
 */
function attentionBias(g: Graph, mask: Value, c: PriorTransformerConfig): Value {
  const text = g.mul(g.sub(g.scalar(1), g.cast(mask, 'float32')), g.scalar(MASKED));
  const keys = g.pad(text, [0, 0, 0, c.additionalEmbeddings]);
  return g.add(g.unsqueeze(keys, [1, 2]), causalMask(g, sequenceLength(c), MASKED));
}

/**
 * diffusers' BasicTransformerBlock as the prior builds it: self-attention and a GELU feed-forward, pre-LN.
 * Only the prd (last) token of the last block is ever read, and nothing after the keys and values mixes
 * tokens, so that block computes its queries, feed-forward and output for that token alone: [B, 1, d].
 */
function basicTransformerBlock(g: Graph, w: Weights, h: Value, c: PriorTransformerConfig, bias: Value, lastTokenOnly: boolean): Value {
  const d = innerDim(c);
  const length = sequenceLength(c);
  const normed = w.layerNorm(h, 'norm1', d, LAYER_NORM_EPS);
  const rows = (x: Value, axis: number) => (lastTokenOnly ? g.slice(x, [-1], [length], [axis]) : x);
  h = g.add(rows(h, 1), selfAttention(g, w.sub('attn1'), rows(normed, 1), normed, c, rows(bias, 2)));
  return g.add(h, feedForward(g, w.sub('ff'), w.layerNorm(h, 'norm3', d, LAYER_NORM_EPS), d));
}

function selfAttention(g: Graph, w: Weights, queries: Value, tokens: Value, c: PriorTransformerConfig, bias: Value): Value {
  const d = innerDim(c);
  const q = w.linear(queries, 'to_q', d, d);
  const k = w.linear(tokens, 'to_k', d, d);
  const v = w.linear(tokens, 'to_v', d, d);
  return w.linear(g.attention(q, k, v, c.numAttentionHeads, c.attentionHeadDim, { mask: bias }), 'to_out.0', d, d);
}

/** FeedForward(activation_fn="gelu", mult=4): net.0 is GELU's projection, net.2 the output Linear. */
function feedForward(g: Graph, w: Weights, x: Value, d: number): Value {
  return w.linear(g.gelu(w.linear(x, 'net.0.proj', d, 4 * d)), 'net.2', 4 * d, d);
}

export interface ClipStatistics {
  readonly clipMean: Float32Array;
  readonly clipStd: Float32Array;
}

/**
 * `clip_mean` and `clip_std` [1, clip_embed_dim]: the pipelines turn the prior's last sample into a CLIP image
 * embedding with `x * clip_std + clip_mean`, once, after the last step (§3.5).
 */
export function readClipStatistics(checkpoint: Checkpoint, config: PriorTransformerConfig): ClipStatistics {
  const read = (name: string) => readFloat32(checkpointTensor(checkpoint, name, [1, config.clipEmbedDim]));
  return { clipMean: read('clip_mean'), clipStd: read('clip_std') };
}
