import { Graph, type Value, Weights } from '../onnx/index.js';
import type { Checkpoint } from '../weights/index.js';
import { clipEncoder, parseCLIPEncoderConfig, type CLIPEncoderConfig } from './clip-encoder.js';
import { ConfigFields } from '../config/index.js';

// transformers' CLIPVisionModelWithProjection (kandinsky-2.2-architecture.md §2.2, §3.4).

export interface CLIPVisionModelConfig {
  readonly encoder: CLIPEncoderConfig;
  readonly numChannels: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly projectionDim: number;
}

/** A CLIPVisionConfig (image_encoder/config.json); absent keys take transformers' defaults. */
export function parseCLIPVisionModelConfig(json: Record<string, unknown>, source: string): CLIPVisionModelConfig {
  const f = new ConfigFields(json, source);
  const c: CLIPVisionModelConfig = {
    encoder: parseCLIPEncoderConfig(f, { hiddenSize: 768, intermediateSize: 3072, numAttentionHeads: 12, numHiddenLayers: 12 }),
    numChannels: f.int('num_channels', 3),
    imageSize: f.int('image_size', 224),
    patchSize: f.int('patch_size', 32),
    projectionDim: f.int('projection_dim', 512),
  };
  f.require(c.imageSize % c.patchSize === 0, `"image_size" ${c.imageSize} is not a multiple of "patch_size" ${c.patchSize}`);
  return c;
}

/** Class token + one token per patch. */
export function numPositions(c: CLIPVisionModelConfig): number {
  return (c.imageSize / c.patchSize) ** 2 + 1;
}

/**
 * Input: `pixel_values` float32 [batch, num_channels, image_size, image_size] (CLIPImageProcessor output; no
 * position interpolation, so exactly that size).
 * Outputs: `image_embeds` [batch, projection_dim] (not normalised) and `last_hidden_state`
 * [batch, positions, hidden] (the encoder output, before post_layernorm).
 */
export function buildCLIPVisionModel(config: CLIPVisionModelConfig, checkpoint: Checkpoint): Graph {
  const g = new Graph('clip_vision_model');
  const w = new Weights(g, checkpoint);
  const { hiddenSize, layerNormEps } = config.encoder;
  const pixels = g.input('pixel_values', 'float32', ['batch', config.numChannels, config.imageSize, config.imageSize]);

  const v = w.sub('vision_model');
  const embeddings = visionEmbeddings(g, v.sub('embeddings'), pixels, config);
  const encoded = clipEncoder(g, v.sub('encoder'), v.layerNorm(embeddings, 'pre_layrnorm', hiddenSize, layerNormEps), config.encoder);
  const classToken = g.squeeze(g.slice(encoded, [0], [1], [1]), [1]);
  const pooled = v.layerNorm(classToken, 'post_layernorm', hiddenSize, layerNormEps);
  const imageEmbeds = w.linear(pooled, 'visual_projection', hiddenSize, config.projectionDim, false);

  g.output(imageEmbeds, 'image_embeds', 'float32', ['batch', config.projectionDim]);
  g.output(encoded, 'last_hidden_state', 'float32', ['batch', numPositions(config), hiddenSize]);
  return g;
}

function visionEmbeddings(g: Graph, w: Weights, pixels: Value, c: CLIPVisionModelConfig): Value {
  const h = c.encoder.hiddenSize;
  const patches = w.conv2d(pixels, 'patch_embedding', c.numChannels, h, c.patchSize, { stride: c.patchSize, pad: 0, bias: false });
  const tokens = g.transpose(g.reshape(patches, [0, h, -1]), [0, 2, 1]);
  const classShape = g.concat([g.shape(pixels, 0, 1), g.ints([1, h])], 0);
  const classToken = g.expand(g.reshape(w.at('class_embedding', [h]), [1, 1, h]), classShape);
  const positions = w.at('position_embedding.weight', [numPositions(c), h]);
  return g.add(g.concat([classToken, tokens], 1), positions);
}
