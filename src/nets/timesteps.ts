import type { Graph, Value, Weights } from '../onnx/index.js';
import { fmaf32 } from '../random/index.js';

// diffusers' Timesteps / get_timestep_embedding and TimestepEmbedding (kandinsky-2.2-architecture.md §3.5).

interface TimestepsOptions {
  /** Put the cosines first (diffusers' flip_sin_to_cos). */
  flipSinToCos: boolean;
  /** diffusers' downscale_freq_shift: the frequencies are exp(-ln(10000) j / (half - shift)). */
  downscaleFreqShift: number;
}

export type TimeEmbedActivation = 'silu' | 'swish' | 'gelu';

export interface TimeEmbeddingOptions extends TimestepsOptions {
  /** The width of the sinusoidal projection, which is linear_1's input. */
  readonly inChannels: number;
  readonly timeEmbedDim: number;
  /** linear_2's width; `timeEmbedDim` when absent, as in diffusers. */
  readonly outDim?: number;
  readonly act: TimeEmbedActivation;
}

/**
 * timestep int64 [batch] -> [batch, outDim]: diffusers' Timesteps then TimestepEmbedding (linear_1, activation,
 * linear_2), the UNet's and the prior's `time_embedding`. linear_1's weight [timeEmbedDim, inChannels] is checked
 * first, so the checkpoint vouches for the width before the frequency table is built from it.
 */
export function timeEmbedding(g: Graph, w: Weights, timestep: Value, o: TimeEmbeddingOptions): Value {
  w.at('linear_1.weight', [o.timeEmbedDim, o.inChannels]);
  const h = w.linear(timestepProjection(g, timestep, o.inChannels, o), 'linear_1', o.inChannels, o.timeEmbedDim);
  return w.linear(o.act === 'gelu' ? g.gelu(h) : g.silu(h), 'linear_2', o.timeEmbedDim, o.outDim ?? o.timeEmbedDim);
}

/**
 * timestep int64 [batch] -> [batch, dim]: sin and cos of t * f_j. Past a few hundred radians one ulp of f_j
 * shows in the fourth decimal, so the f_j are the float32 values torch computes, not the exact ones.
 */
function timestepProjection(g: Graph, timestep: Value, dim: number, o: TimestepsOptions): Value {
  const half = Math.floor(dim / 2);
  const args = g.mul(g.unsqueeze(g.cast(timestep, 'float32'), [1]), g.constant(timestepFrequencies(half, o.downscaleFreqShift), [1, half]));
  const [sin, cos] = [g.sin(args), g.cos(args)];
  const emb = g.concat(o.flipSinToCos ? [cos, sin] : [sin, cos], 1);
  return dim % 2 ? g.pad(emb, [0, 0, 0, 1]) : emb;
}

/** torch, in float32: exponent = f32(-ln 10000) * j, divided by (half - shift), then exp. */
export function timestepFrequencies(half: number, downscaleFreqShift: number): Float32Array {
  const lnPeriod = Math.fround(-Math.log(10000));
  const divisor = Math.fround(half - downscaleFreqShift);
  return Float32Array.from({ length: half }, (_, j) => torchExpf(Math.fround(Math.fround(lnPeriod * j) / divisor)));
}

const f32 = Math.fround;
const LOG2E = f32(1.442695040888963407359924681001892137426645954152985934135449406931);
const LN2_HI = f32(0.693145751953125);
const LN2_LO = f32(1.428606765330187045e-6);
const EXP_POLY = [
  0.000198527617612853646278381, 0.00139304355252534151077271, 0.00833336077630519866943359,
  0.0416664853692054748535156, 0.166666671633720397949219, 0.5,
].map(f32);

/**
 * torch.exp of a float32 on x86 CPUs: SLEEF's expf (1-ulp accuracy, fused multiply-adds), which is not
 * always the correctly rounded value (98 of the 1024 frequencies of the published prior differ by an ulp).
 * For the arguments used here (-10 < x <= 0) the special cases (overflow, underflow) cannot occur.
 */
function torchExpf(x: number): number {
  const q = roundHalfEven(f32(x * LOG2E));
  const s = fmaf32(q, -LN2_LO, fmaf32(q, -LN2_HI, x));
  let u = EXP_POLY[0];
  for (let i = 1; i < EXP_POLY.length; i++) u = fmaf32(u, s, EXP_POLY[i]);
  return f32(1 + fmaf32(f32(s * s), u, s)) * 2 ** q;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
