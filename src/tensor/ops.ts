import { numel, tensor, type Float32Tensor, type Tensor, type TensorData } from './tensor.js';

/** A new array of the same element type as `like`. */
function alloc<D extends TensorData>(like: D, length: number): D {
  return new (like.constructor as new (n: number) => D)(length);
}

// The few tensor operations the pipelines need between network calls (diffusers does them in torch),
// float32 throughout: every result is rounded as a float32 tensor operation rounds it.

/** Concatenation along `axis` (torch.cat). All other dimensions must agree. */
export function concat<D extends TensorData>(parts: readonly Tensor<D>[], axis = 0): Tensor<D> {
  const first = parts[0].shape;
  const outer = numel(first.slice(0, axis));
  for (const p of parts) {
    if (p.shape.length !== first.length || p.shape.some((d, i) => i !== axis && d !== first[i])) {
      throw new RangeError(`concat: shapes [${p.shape.join(', ')}] and [${first.join(', ')}] differ off axis ${axis}`);
    }
  }
  const inners = parts.map((p) => numel(p.shape.slice(axis)));
  const row = inners.reduce((a, b) => a + b, 0);
  const out = alloc(parts[0].data, outer * row);
  for (let o = 0; o < outer; o++) {
    let at = o * row;
    parts.forEach((p, k) => {
      (out as Float32Array).set((p.data as Float32Array).subarray(o * inners[k], (o + 1) * inners[k]), at);
      at += inners[k];
    });
  }
  const shape = [...first];
  shape[axis] = parts.reduce((a, p) => a + p.shape[axis], 0);
  return tensor(out, shape);
}

/** Rows `start .. end-1` of dimension 0 (a view-free copy of `x[start:end]`). */
export function rows<D extends TensorData>(x: Tensor<D>, start: number, end: number): Tensor<D> {
  const row = numel(x.shape.slice(1));
  return tensor(x.data.slice(start * row, end * row) as D, [end - start, ...x.shape.slice(1)]);
}

/** `x.chunk(n)` along dimension 0 (the batch divides evenly in every use here). */
export function chunk<D extends TensorData>(x: Tensor<D>, n: number): Tensor<D>[] {
  const size = x.shape[0] / n;
  return Array.from({ length: n }, (_, i) => rows(x, i * size, (i + 1) * size));
}

/** `x.repeat_interleave(n, dim=0)`: each row n times in a row. */
export function repeatInterleave<D extends TensorData>(x: Tensor<D>, n: number): Tensor<D> {
  if (n === 1) return x;
  const row = numel(x.shape.slice(1));
  const out = alloc(x.data, x.data.length * n);
  for (let r = 0; r < x.shape[0]; r++) {
    for (let k = 0; k < n; k++) (out as Float32Array).set((x.data as Float32Array).subarray(r * row, (r + 1) * row), (r * n + k) * row);
  }
  return tensor(out, [x.shape[0] * n, ...x.shape.slice(1)]);
}

/** `x.repeat(n, 1, ...)`: the whole batch n times over. */
export function tile<D extends TensorData>(x: Tensor<D>, n: number): Tensor<D> {
  return concat(new Array<Tensor<D>>(n).fill(x));
}

/**
 * Classifier-free guidance on a model output laid out [uncond ; cond]: `u + g * (c - u)` on the first
 * `channels` channels of every row, computed as torch does in float32 (`c - u`, times g, plus u). Channels past
 * `channels` (the UNet's variance) come from the conditional half, as diffusers' pipelines take them.
 */
export function guide(output: Float32Tensor, scale: number, channels = output.shape[1]): Float32Tensor {
  const [u, c] = chunk(output, 2);
  const g = Math.fround(scale);
  const perRow = numel(output.shape.slice(1));
  const guided = numel(output.shape.slice(2)) * channels;
  const out = new Float32Array(c.data);
  for (let r = 0; r < c.shape[0]; r++) {
    for (let i = r * perRow; i < r * perRow + guided; i++) {
      out[i] = Math.fround(Math.fround(Math.fround(c.data[i] - u.data[i]) * g) + u.data[i]);
    }
  }
  return tensor(out, c.shape);
}

/** The first `channels` channels of every row (`x[:, :channels]`). */
export function leadingChannels(x: Float32Tensor, channels: number): Float32Tensor {
  if (channels === x.shape[1]) return x;
  const plane = numel(x.shape.slice(2));
  const out = new Float32Array(x.shape[0] * channels * plane);
  for (let r = 0; r < x.shape[0]; r++) {
    out.set(x.data.subarray(r * x.shape[1] * plane, (r * x.shape[1] + channels) * plane), r * channels * plane);
  }
  return tensor(out, [x.shape[0], channels, ...x.shape.slice(2)]);
}
