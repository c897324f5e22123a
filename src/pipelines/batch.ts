import { InputError } from '../errors.js';
import { concat, tensor, type Float32Tensor } from '../tensor/index.js';

// Argument checks and batch shaping shared by the pipelines.

/** diffusers' "one or a list": a single value becomes a list of one. */
export function asList<T>(x: T | readonly T[]): T[] {
  return Array.isArray(x) ? [...(x as readonly T[])] : [x as T];
}

/** One tensor, or a list of them concatenated on dimension 0 (diffusers' `torch.cat` of list arguments). */
export function asBatch(name: string, x: Float32Tensor | readonly Float32Tensor[]): Float32Tensor {
  const list = asList(x);
  if (list.length === 0) throw new InputError(`${name}: an empty list`);
  return list.length === 1 ? list[0] : concat(list);
}

export function checkCount(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new InputError(`${name} must be an integer of at least ${min}, got ${value}`);
  return value;
}

export function checkLatents(latents: Float32Tensor, shape: readonly number[]): Float32Tensor {
  if (latents.shape.length !== shape.length || latents.shape.some((d, i) => d !== shape[i])) {
    throw new InputError(`latents: shape [${latents.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return latents;
}

/** `latents * init_noise_sigma` (1.0 for every scheduler here: a no-op kept for configs that differ). */
export function scaled(latents: Float32Tensor, sigma: number): Float32Tensor {
  return sigma === 1 ? latents : scale(latents, sigma);
}

export function scale(x: Float32Tensor, w: number): Float32Tensor {
  const f = Math.fround(w);
  return tensor(Float32Array.from(x.data, (v) => Math.fround(v * f)), x.shape);
}

/** `torch.cat([x] * k)` up to `batch` rows (`prepare_latents` of img2img and emb2emb); `batch` must be a multiple. */
export function repeatToBatch(x: Float32Tensor, batch: number, what: string): Float32Tensor {
  if (batch <= x.shape[0]) return x;
  if (batch % x.shape[0] !== 0) throw new InputError(`${what}: cannot duplicate ${x.shape[0]} rows to a batch of ${batch} (not a multiple)`);
  return concat(new Array<Float32Tensor>(batch / x.shape[0]).fill(x));
}
