import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteLevelAlphabet, END_OF_WORD } from '../tokenizer/index.js';
import type { NetworkKind } from '../nets/index.js';
import { benchNetwork, type BenchConfigs } from './networks.js';
import { benchCacheDir } from './random-weights.js';

// The two published repos in the diffusers layout (doc §1.2-1.3), over the benchmark's random weights, so that
// `bench text2img` runs the pipelines exactly as a user's download would. Weight files are hard links to the
// cached random checkpoints: no copy, and a stable identity for the zero-image-embedding cache.

/** The published scheduler and image processor configs (doc §1.2-1.3). */
const PRIOR_SCHEDULER = {
  _class_name: 'UnCLIPScheduler', clip_sample: true, clip_sample_range: 10.0, num_train_timesteps: 1000,
  prediction_type: 'sample', variance_type: 'fixed_small_log',
};
const DECODER_SCHEDULER = {
  _class_name: 'DDPMScheduler', num_train_timesteps: 1000, beta_schedule: 'linear', beta_start: 0.00085, beta_end: 0.012,
  clip_sample: true, set_alpha_to_one: false, steps_offset: 1, prediction_type: 'epsilon', thresholding: false,
};
const IMAGE_PROCESSOR = {
  crop_size: 224, do_center_crop: true, do_normalize: true, do_resize: true, feature_extractor_type: 'CLIPFeatureExtractor',
  image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711], resample: 3, size: 224,
};

/**
 * The published tokenizer's vocabulary and merges are not in the package (1.4 MB). CLIP's vocabulary is built as
 * the 256 byte symbols, the same with `</w>`, one entry per merge, then the two special tokens; with no merges
 * that is 514 ids, every text still encodes (one id per byte) and `<|endoftext|>` keeps the largest id, which the
 * text encoder's pooling looks for. The encoder's cost does not depend on the ids: 77 positions either way.
 */
function tokenizerFiles(): Record<string, unknown> {
  const bytes = byteLevelAlphabet();
  const symbols = [...bytes, ...bytes.map((b) => b + END_OF_WORD), '<|startoftext|>', '<|endoftext|>'];
  return {
    'vocab.json': Object.fromEntries(symbols.map((s, id) => [s, id])),
    'merges.txt': '#version: 0.2\n',
    'tokenizer_config.json': {
      tokenizer_class: 'CLIPTokenizer', model_max_length: 77, do_lower_case: true,
      bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>',
    },
  };
}

interface Component {
  readonly files: Record<string, unknown>;
  readonly weights?: { kind: NetworkKind; config: Readonly<Record<string, unknown>>; file: string };
}

function priorRepo(c: BenchConfigs): Record<string, Component> {
  return {
    '.': { files: { 'model_index.json': { _class_name: 'KandinskyV22PriorPipeline' } } },
    tokenizer: { files: tokenizerFiles() },
    text_encoder: { files: { 'config.json': c.textEncoder }, weights: { kind: 'clip_text', config: c.textEncoder, file: 'model.safetensors' } },
    image_encoder: { files: { 'config.json': c.imageEncoder }, weights: { kind: 'clip_vision', config: c.imageEncoder, file: 'model.safetensors' } },
    prior: { files: { 'config.json': c.prior }, weights: { kind: 'prior_transformer', config: c.prior, file: 'diffusion_pytorch_model.safetensors' } },
    scheduler: { files: { 'scheduler_config.json': PRIOR_SCHEDULER } },
    image_processor: { files: { 'preprocessor_config.json': IMAGE_PROCESSOR } },
  };
}

function decoderRepo(c: BenchConfigs): Record<string, Component> {
  return {
    '.': { files: { 'model_index.json': { _class_name: 'KandinskyV22Pipeline' } } },
    unet: { files: { 'config.json': c.unet }, weights: { kind: 'unet', config: c.unet, file: 'diffusion_pytorch_model.safetensors' } },
    movq: { files: { 'config.json': c.movq }, weights: { kind: 'movq_decoder', config: c.movq, file: 'diffusion_pytorch_model.safetensors' } },
    scheduler: { files: { 'scheduler_config.json': DECODER_SCHEDULER } },
  };
}

/** Writes a repo once (into a fresh folder renamed into place), keyed by everything in it. */
function writeRepo(name: string, components: Record<string, Component>): string {
  const sources = Object.entries(components).map(([dir, c]) => ({ dir, c, weights: c.weights && benchNetwork(c.weights.kind, c.weights.config).checkpoint.source }));
  const key = createHash('sha256').update(JSON.stringify(sources.map(({ dir, c, weights }) => [dir, c.files, weights]))).digest('hex').slice(0, 16);
  const root = join(benchCacheDir(), 'repos', `${name}-${key}`);
  if (existsSync(root)) return root;
  const partial = `${root}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  for (const { dir, c, weights } of sources) {
    const folder = join(partial, dir);
    mkdirSync(folder, { recursive: true });
    for (const [file, content] of Object.entries(c.files)) {
      writeFileSync(join(folder, file), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
    if (weights && c.weights) linkSync(weights, join(folder, c.weights.file));
  }
  renameSync(partial, root);
  return root;
}

/** The prior and decoder repos of `configs` under the bench cache, with their random weights written once. */
export function benchRepos(configs: BenchConfigs): { prior: string; decoder: string } {
  return { prior: writeRepo('kandinsky-2-2-prior', priorRepo(configs)), decoder: writeRepo('kandinsky-2-2-decoder', decoderRepo(configs)) };
}
