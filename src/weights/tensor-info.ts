import { WeightsError } from '../errors.js';
import { formatShape } from '../tensor/index.js';

/** Element types of checkpoint tensors, spelled as safetensors spells them. */
export type WeightDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const BYTES_PER_ELEMENT: Record<WeightDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/**
 * True when `name` is one of our dtypes. Own keys only: a file naming its dtype "constructor" or
 * "__proto__" must not find Object.prototype's members.
 */
export function isWeightDType(name: string): name is WeightDType {
  return Object.hasOwn(BYTES_PER_ELEMENT, name);
}

/**
 * The most tensors one checkpoint file (or one shard index) may list. The largest published checkpoints
 * hold about 100k (mixture-of-experts models with one tensor per expert, over all shards); a larger count
 * is a hostile header, refused before it costs memory in proportion.
 */
export const MAX_TENSORS = 200_000;

/** The floating-point types: what readFloat32 decodes and what a network's weights may be. */
export function isFloatDType(dtype: WeightDType): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

/**
 * Where one tensor of a checkpoint lives. Weights are never copied: `file` + `offset` + `byteLength`
 * is a contiguous little-endian run of a file on disk that onnxruntime reads in place as external data.
 * `data` is set only when no such run exists (a strided view inside a PyTorch checkpoint): then the
 * bytes were gathered into memory once.
 */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  /** Real path (symlinks resolved) of the file holding the bytes. */
  readonly file: string;
  /** Absolute byte offset of the first element inside `file`. */
  readonly offset: number;
  readonly byteLength: number;
  readonly data?: Uint8Array;
}

/** All tensors of one component (one network), possibly spread over several files (shards). */
export interface Checkpoint {
  /** Human-readable origin for error messages, e.g. the component folder. */
  readonly source: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /**
   * Answers for tensors the map lacks, given the shape the network asks for. Only synthetic checkpoints
   * have it (the benchmark records what a published config needs before writing random weights).
   */
  readonly synthesize?: (name: string, shape: readonly number[]) => TensorInfo;
}

/**
 * The tensor `name` of a checkpoint, which must have the shape the config implies: the one check every
 * network makes of its weights, naming the file and the tensor when it fails.
 */
export function checkpointTensor(checkpoint: Checkpoint, name: string, shape: readonly number[]): TensorInfo {
  const info = checkpoint.tensors.get(name) ?? checkpoint.synthesize?.(name, shape);
  if (!info) throw new WeightsError(`${checkpoint.source}: weight "${name}" ${formatShape(shape)} is missing from the checkpoint`);
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new WeightsError(`${info.file}: weight "${name}" has shape ${formatShape(info.shape)}, the config implies ${formatShape(shape)}`);
  }
  return info;
}
