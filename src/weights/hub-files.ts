// Which files of a hub repository a pipeline needs. The published Kandinsky repos carry every weight twice
// (.bin and .safetensors, ~10 GB each for the decoder), so pulling the whole tree would double the download;
// like diffusers, we take the configs and tokenizer files plus ONE weight format per component folder.
import { posix } from 'node:path';
import { ConfigError } from '../errors.js';

/** One entry of `siblings` in the hub's revision API answer (`?blobs=true` adds size, blobId and lfs). */
export interface HubSibling {
  rfilename: string;
  size?: number;
  /** The git object id; the hub's ETag for files stored in git. */
  blobId?: string;
  /** Present for files stored in git-lfs; `sha256` is then the hub's ETag and the content digest. */
  lfs?: { sha256: string; size: number };
}

type WeightFormat = 'safetensors' | 'bin';

interface WeightFile {
  sibling: HubSibling;
  format: WeightFormat;
  /** `fp16` in `diffusion_pytorch_model.fp16.safetensors`; undefined for the default weights. */
  variant: string | undefined;
}

// `model.safetensors`, `diffusion_pytorch_model.fp16.bin`, `model.fp16-00001-of-00002.safetensors`.
const WEIGHT = /^[^.]+(?:\.([^.]+))?\.(safetensors|bin)$/;
// `model.safetensors.index.json`, `diffusion_pytorch_model.safetensors.index.fp16.json`.
const WEIGHT_INDEX = /^[^.]+\.(safetensors|bin)\.index(?:\.([^.]+))?\.json$/;
const SHARD_SUFFIX = /-\d+-of-\d+$/;
const CONFIG = /\.(json|txt|md)$/;

/**
 * The files to download: every json/txt/md (configs, tokenizer, model card) and, in each folder that
 * holds weights, the `variant` files when asked for and present (else the default ones), in safetensors
 * when present (shards and index included), else in .bin.
 */
export function selectFiles(siblings: readonly HubSibling[], variant?: string): HubSibling[] {
  const weightsByFolder = new Map<string, WeightFile[]>();
  const chosen = new Set<HubSibling>();
  for (const sibling of siblings) {
    const weight = parseWeightFile(sibling);
    if (weight === undefined) {
      if (CONFIG.test(sibling.rfilename)) chosen.add(sibling);
      continue;
    }
    const folder = posix.dirname(sibling.rfilename);
    weightsByFolder.set(folder, [...(weightsByFolder.get(folder) ?? []), weight]);
  }
  for (const [folder, weights] of weightsByFolder) {
    for (const weight of chooseWeights(folder, weights, variant)) chosen.add(weight.sibling);
  }
  return siblings.filter((sibling) => chosen.has(sibling));
}

function chooseWeights(folder: string, weights: WeightFile[], variant: string | undefined): WeightFile[] {
  const asked = weights.filter((w) => w.variant === variant);
  // A variant is often published for the big components only; the others fall back to the default weights.
  const pool = asked.length > 0 || variant === undefined ? asked : weights.filter((w) => w.variant === undefined);
  if (pool.length === 0) {
    const variants = [...new Set(weights.map((w) => w.variant))].join(', ');
    throw new ConfigError(
      `${folder === '.' ? 'the repository root' : folder} has weights only in variant(s) ${variants}; ` +
        `ask for one of them (variant: '${weights[0].variant}')`,
    );
  }
  const format: WeightFormat = pool.some((w) => w.format === 'safetensors') ? 'safetensors' : 'bin';
  return pool.filter((w) => w.format === format);
}

function parseWeightFile(sibling: HubSibling): WeightFile | undefined {
  const name = posix.basename(sibling.rfilename);
  const weight = WEIGHT.exec(name);
  if (weight !== null) {
    return { sibling, format: weight[2] as WeightFormat, variant: weight[1]?.replace(SHARD_SUFFIX, '') };
  }
  const index = WEIGHT_INDEX.exec(name);
  if (index !== null) return { sibling, format: index[1] as WeightFormat, variant: index[2] };
  return undefined;
}
