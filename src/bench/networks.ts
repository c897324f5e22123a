import type { Graph } from '../onnx/index.js';
import {
  NETWORK_BUILDERS, PUBLISHED_DPT_LARGE, PUBLISHED_IMAGE_ENCODER, PUBLISHED_MOVQ, PUBLISHED_PRIOR, PUBLISHED_TEXT_ENCODER, PUBLISHED_UNET,
  parsePriorTransformerConfig, type NetworkKind,
} from '../nets/index.js';
import { checkpointTensor, type Checkpoint } from '../weights/index.js';
import { randomCheckpoint, type RandomDType } from './random-weights.js';

type Config = Readonly<Record<string, unknown>>;

/** The configs the benchmark builds its networks from: the published ones, or a test's tiny ones. */
export interface BenchConfigs {
  readonly textEncoder: Config;
  readonly imageEncoder: Config;
  readonly prior: Config;
  readonly unet: Config;
  readonly movq: Config;
  /** The depth estimator of a ControlNet-depth hint from a photo (Intel/dpt-large). */
  readonly dpt: Config;
}

export const PUBLISHED_CONFIGS: BenchConfigs = {
  textEncoder: PUBLISHED_TEXT_ENCODER,
  imageEncoder: PUBLISHED_IMAGE_ENCODER,
  prior: PUBLISHED_PRIOR,
  unet: PUBLISHED_UNET,
  movq: PUBLISHED_MOVQ,
  dpt: PUBLISHED_DPT_LARGE,
};

/** The image encoder is published in float16 (doc §1.1); every other network in float32. */
const STORED_DTYPE: Partial<Record<NetworkKind, RandomDType>> = { clip_vision: 'F16' };

/** One network of the benchmark over random weights: its checkpoint (written once) and its graph builder. */
export interface BenchNetwork {
  readonly checkpoint: Checkpoint;
  readonly build: () => Graph;
}

/**
 * Random weights for `kind` under `config`: every tensor its graph asks for, plus what its pipeline reads
 * besides (the prior's CLIP statistics), so that the same file serves `bench prior` and the pipelines.
 */
export function benchNetwork(kind: NetworkKind, config: Config): BenchNetwork {
  const builder = (ck: Checkpoint) => NETWORK_BUILDERS[kind]({ ...config }, `${kind} config`, ck);
  const recorder = (ck: Checkpoint) => {
    const graph = builder(ck);
    if (kind === 'prior_transformer') {
      const dim = parsePriorTransformerConfig({ ...config }, 'prior config').clipEmbedDim;
      for (const name of ['clip_mean', 'clip_std']) checkpointTensor(ck, name, [1, dim]);
    }
    return graph;
  };
  const checkpoint = randomCheckpoint(kind, config, recorder, STORED_DTYPE[kind]);
  return { checkpoint, build: () => builder(checkpoint) };
}
