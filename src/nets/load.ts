import { join } from 'node:path';
import { type Graph, NetworkSession, type SessionOptions } from '../onnx/index.js';
import { loadCheckpoint, readComponentConfig, type Checkpoint } from '../weights/index.js';
import { buildCLIPTextModel, parseCLIPTextModelConfig } from './clip-text-model.js';
import { buildCLIPVisionModel, parseCLIPVisionModelConfig } from './clip-vision-model.js';
import { parseDPTConfig } from './dpt-config.js';
import { buildDPTForDepthEstimation } from './dpt-for-depth-estimation.js';
import { buildPriorTransformer, parsePriorTransformerConfig } from './prior-transformer.js';
import { parseUNet2DConditionModelConfig } from './unet-2d-condition-config.js';
import { buildUNet2DConditionModel } from './unet-2d-condition.js';
import { buildVQModelDecoder, buildVQModelEncoder, parseVQModelConfig } from './vq-model.js';

/** The graphs one component folder can give: its network, or one half of it (MoVQ encode/decode). */
export type NetworkKind =
  | 'clip_text'
  | 'clip_text_masked'
  | 'clip_vision'
  | 'prior_transformer'
  | 'unet'
  | 'movq_encoder'
  | 'movq_decoder'
  | 'movq_decoder_quantized'
  | 'dpt';

type Builder = (config: Record<string, unknown>, source: string, checkpoint: Checkpoint) => Graph;

export const NETWORK_BUILDERS: Record<NetworkKind, Builder> = {
  clip_text: (json, src, ck) => buildCLIPTextModel(parseCLIPTextModelConfig(json, src), ck),
  clip_text_masked: (json, src, ck) => buildCLIPTextModel(parseCLIPTextModelConfig(json, src), ck, { attentionMask: true }),
  clip_vision: (json, src, ck) => buildCLIPVisionModel(parseCLIPVisionModelConfig(json, src), ck),
  prior_transformer: (json, src, ck) => buildPriorTransformer(parsePriorTransformerConfig(json, src), ck),
  unet: (json, src, ck) => buildUNet2DConditionModel(parseUNet2DConditionModelConfig(json, src), ck),
  movq_encoder: (json, src, ck) => buildVQModelEncoder(parseVQModelConfig(json, src), ck),
  movq_decoder: (json, src, ck) => buildVQModelDecoder(parseVQModelConfig(json, src), ck, { forceNotQuantize: true }),
  movq_decoder_quantized: (json, src, ck) => buildVQModelDecoder(parseVQModelConfig(json, src), ck, { forceNotQuantize: false }),
  dpt: (json, src, ck) => buildDPTForDepthEstimation(parseDPTConfig(json, src), ck),
};

/**
 * Prepacking copies every weight at load to speed up each run: worth it for networks run many times per
 * image (prior, UNet, MoVQ's convolutions); the CLIP towers run once or twice per prompt, so they load
 * mapped instead (2.8 GB text encoder: 0.4 s instead of 9 s to load, 1.6 s instead of 1.4 s to run). DPT runs
 * once per photo: mapped, DPT-Large loads in 0.5 s instead of 1.6 s and runs as fast (3.7 s vs 3.6 s at 384x384).
 */
export const PREPACK_BY_DEFAULT: Readonly<Record<NetworkKind, boolean>> = {
  clip_text: false,
  clip_text_masked: false,
  clip_vision: false,
  prior_transformer: true,
  unet: true,
  movq_encoder: true,
  movq_decoder: true,
  movq_decoder_quantized: true,
  dpt: false,
};

export interface NetworkLoadOptions extends SessionOptions {
  /** Weight files `<name>.<variant>.<ext>`, e.g. "fp16". */
  variant?: string;
}

/** Builds the graph of one component folder (config.json + weights) and loads it into onnxruntime. */
export async function loadNetwork(kind: NetworkKind, componentDir: string, options: NetworkLoadOptions = {}): Promise<NetworkSession> {
  const config = readComponentConfig(componentDir);
  const checkpoint = loadCheckpoint(componentDir, { variant: options.variant });
  const graph = NETWORK_BUILDERS[kind](config, join(componentDir, 'config.json'), checkpoint);
  return NetworkSession.create(graph, { prepack: PREPACK_BY_DEFAULT[kind], ...options });
}
