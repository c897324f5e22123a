import { Graph, type Value, Weights } from '../onnx/index.js';
import type { Checkpoint } from '../weights/index.js';
import { causalMask, MAX_CAUSAL_TOKENS } from './causal-mask.js';
import { clipEncoder, parseCLIPEncoderConfig, type CLIPEncoderConfig } from './clip-encoder.js';
import { ConfigFields } from '../config/index.js';

// transformers' CLIPTextModelWithProjection (kandinsky-2.2-architecture.md §2.1, §3.2).

export interface CLIPTextModelConfig {
  readonly encoder: CLIPEncoderConfig;
  readonly vocabSize: number;
  readonly maxPositionEmbeddings: number;
  readonly projectionDim: number;
  /** Decides the pooled token: 2 (Kandinsky's legacy value) means the position of the largest id. */
  readonly eosTokenId: number;
}

/** A CLIPTextConfig (text_encoder/config.json); absent keys take transformers' defaults. */
export function parseCLIPTextModelConfig(json: Record<string, unknown>, source: string): CLIPTextModelConfig {
  const f = new ConfigFields(json, source);
  return {
    encoder: parseCLIPEncoderConfig(f, { hiddenSize: 512, intermediateSize: 2048, numAttentionHeads: 8, numHiddenLayers: 12 }),
    vocabSize: f.int('vocab_size', 49408),
    maxPositionEmbeddings: f.int('max_position_embeddings', 77, { max: MAX_CAUSAL_TOKENS }),
    projectionDim: f.int('projection_dim', 512),
    eosTokenId: f.integer('eos_token_id', 49407),
  };
}

export interface CLIPTextModelOptions {
  /** Add the `attention_mask` input (a padding mask); without it only the causal mask applies, as in the prior pipeline. */
  attentionMask?: boolean;
}

/** float32's lowest value: transformers' additive "masked" value (two of them add up to -inf, as there). */
const MASKED = -3.4028234663852886e38;

/**
 * Inputs: `input_ids` int64 [batch, sequence] (sequence <= max_position_embeddings, 77 from the tokenizer) and,
 * with `attentionMask`, `attention_mask` int64 [batch, sequence] (1 = token, 0 = padding).
 * Outputs: `text_embeds` [batch, projection_dim] (not normalised) and `last_hidden_state` [batch, sequence, hidden].
 */
export function buildCLIPTextModel(config: CLIPTextModelConfig, checkpoint: Checkpoint, options: CLIPTextModelOptions = {}): Graph {
  const g = new Graph('clip_text_model');
  const w = new Weights(g, checkpoint);
  const { hiddenSize, layerNormEps } = config.encoder;
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const padding = options.attentionMask ? g.input('attention_mask', 'int64', ['batch', 'sequence']) : undefined;

  const t = w.sub('text_model');
  // Before the causal mask: the position table's shape vouches for the max_position_embeddings that sizes it.
  const embeddings = textEmbeddings(g, t.sub('embeddings'), ids, config);
  const encoded = clipEncoder(g, t.sub('encoder'), embeddings, config.encoder, attentionBias(g, ids, padding, config));
  const lastHiddenState = t.layerNorm(encoded, 'final_layer_norm', hiddenSize, layerNormEps);
  const pooled = g.op('GatherND', [lastHiddenState, pooledPosition(g, ids, config)], { batch_dims: 1 });
  const textEmbeds = w.linear(pooled, 'text_projection', hiddenSize, config.projectionDim, false);

  g.output(textEmbeds, 'text_embeds', 'float32', ['batch', config.projectionDim]);
  g.output(lastHiddenState, 'last_hidden_state', 'float32', ['batch', 'sequence', hiddenSize]);
  return g;
}

function textEmbeddings(g: Graph, w: Weights, ids: Value, c: CLIPTextModelConfig): Value {
  const h = c.encoder.hiddenSize;
  const tokens = g.gather(w.at('token_embedding.weight', [c.vocabSize, h]), ids);
  const positions = w.at('position_embedding.weight', [c.maxPositionEmbeddings, h]);
  return g.add(tokens, firstRows(g, positions, ids));
}

/** The first `sequence` rows of a [max_position_embeddings, ...] table. */
function firstRows(g: Graph, table: Value, ids: Value): Value {
  return g.op('Slice', [table, g.ints([0]), g.shape(ids, 1, 2), g.ints([0])]);
}

/** Causal mask [sequence, sequence], plus the padding mask [batch, 1, 1, sequence] when one is given. */
function attentionBias(g: Graph, ids: Value, padding: Value | undefined, c: CLIPTextModelConfig): Value {
  const sequence = g.shape(ids, 1, 2);
  const causal = causalMask(g, c.maxPositionEmbeddings, MASKED);
  const bias = g.op('Slice', [causal, g.ints([0, 0]), g.concat([sequence, sequence], 0), g.ints([0, 1])]);
  if (!padding) return bias;
  // transformers masks every position whose mask value is not exactly 1.
  const keep = g.op('Equal', [padding, g.ints([1], [])]);
  const paddingBias = g.op('Where', [keep, g.scalar(0), g.scalar(MASKED)]);
  return g.add(bias, g.unsqueeze(paddingBias, [1, 2]));
}

/**
 * [batch, 1] index of the pooled token, by the rule of transformers 4.31-4.4x (the reference's): with the legacy
 * `eos_token_id` 2 (Kandinsky's config) the first largest id (49407 = <|endoftext|> in the CLIP vocabulary),
 * else the first `eos_token_id`. Both give the first <|endoftext|> for tokenizer output (§3.2).
 */
function pooledPosition(g: Graph, ids: Value, c: CLIPTextModelConfig): Value {
  const scores = c.eosTokenId === 2 ? ids : g.op('Equal', [ids, g.ints([c.eosTokenId], [])]);
  return g.op('ArgMax', [g.cast(scores, 'int32')], { axis: 1, keepdims: 1 });
}
