import type { ConfigFields } from '../config/index.js';
import { f32 } from './float32.js';

/** The training noise schedule every scheduler here indexes by timestep; float32 tables as in diffusers. */
export interface NoiseSchedule {
  readonly numTrainTimesteps: number;
  readonly betas: Float32Array;
  /** `1 - betas`. */
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;
}

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

/** The fields DDPM, DDIM and DPM-Solver share, with their (common) diffusers defaults. */
export function readNoiseSchedule(fields: ConfigFields): NoiseSchedule {
  fields.oneOf('trained_betas', [null], null);
  fields.exactly('rescale_betas_zero_snr', false, false);
  const numTrainTimesteps = fields.int('num_train_timesteps', 1000);
  const schedule = fields.oneOf<BetaSchedule>('beta_schedule', BETA_SCHEDULES, 'linear');
  const betaStart = fields.positive('beta_start', 0.0001);
  const betaEnd = fields.positive('beta_end', 0.02);
  return noiseSchedule(betasFor(schedule, betaStart, betaEnd, numTrainTimesteps));
}

export function betasFor(schedule: BetaSchedule, betaStart: number, betaEnd: number, numTrainTimesteps: number): Float32Array {
  switch (schedule) {
    case 'linear':
      return torchLinspaceFloat32(betaStart, betaEnd, numTrainTimesteps);
    case 'scaled_linear':
      return torchLinspaceFloat32(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps).map((b) => f32(b * b));
    case 'squaredcos_cap_v2':
      return betasForAlphaBar(numTrainTimesteps);
  }
}

export function noiseSchedule(betas: Float32Array): NoiseSchedule {
  const alphas = betas.map((b) => f32(1 - b));
  // torch's CPU cumprod of a float32 tensor accumulates in double and rounds each output.
  const alphasCumprod = new Float32Array(alphas.length);
  let product = 1;
  alphas.forEach((a, i) => {
    product *= a;
    alphasCumprod[i] = product;
  });
  return { numTrainTimesteps: betas.length, betas, alphas, alphasCumprod };
}

// torch 1.13's CPU linspace kernel (RangeFactoriesKernel.cpp), which made the goldens: the front half counts up
// from `start`, the back half down from `end`; below the last multiple of 16 the values come in 8-lane AVX2
// vectors, `base + k * step` per lane, with `base` taken from the vector's first index (doc §5.2).
const VECTOR_LANES = 8;
const UNROLLED = 2 * VECTOR_LANES;

export function torchLinspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const serial = (i: number): number => (i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1))));
  const vectorized = steps - (steps % UNROLLED);
  for (let idx = 0; idx < vectorized; idx += VECTOR_LANES) {
    const base = serial(idx);
    for (let k = 0; k < VECTOR_LANES; k++) out[idx + k] = f32(base + f32(k * step));
  }
  for (let i = vectorized; i < steps; i++) out[i] = serial(i);
  return out;
}

/** diffusers' `betas_for_alpha_bar` (cosine): computed in Python double, stored as float32. */
function betasForAlphaBar(numTrainTimesteps: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number): number => {
    const c = Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2);
    return c * c;
  };
  const betas = new Float32Array(numTrainTimesteps);
  for (let i = 0; i < numTrainTimesteps; i++) {
    betas[i] = Math.min(1 - alphaBar((i + 1) / numTrainTimesteps) / alphaBar(i / numTrainTimesteps), maxBeta);
  }
  return betas;
}
