import { InputError } from '../errors.js';
import { formatShape, numel, tensor, type Float32Tensor } from '../tensor/index.js';
import { expf, f32, sqrtf } from './float32.js';
import type { NoiseSchedule } from './noise-schedule.js';

/** What draws a step's noise: a TorchGenerator, or the pipelines' one-generator-per-row source. */
export interface NoiseGenerator {
  randn(shape: readonly number[]): Float32Tensor;
}

export interface StepOptions {
  /** Source of the noise UnCLIP and DDPM add in every step with `t > 0`; required there. */
  readonly generator?: NoiseGenerator;
  /** UnCLIP only: the timestep stepped to (the prior pipelines pass the next one; `t - 1` when absent). */
  readonly prevTimestep?: number;
}

/** What the pipelines need of a diffusers scheduler, under diffusers' names. */
export interface Scheduler {
  readonly className: string;
  /** Standard deviation of the initial noise (1 for every scheduler here). */
  readonly initNoiseSigma: number;
  /** The schedule of the last `setTimesteps`, descending. */
  readonly timesteps: readonly number[];
  setTimesteps(numInferenceSteps: number): void;
  /** `step(...).prev_sample`: the sample at the previous timestep. */
  step(modelOutput: Float32Tensor, t: number, sample: Float32Tensor, options?: StepOptions): Float32Tensor;
  /** `add_noise`: `timesteps` holds one timestep per batch row, or one for all rows. */
  addNoise(original: Float32Tensor, noise: Float32Tensor, timesteps: number | readonly number[]): Float32Tensor;
}

/**
 * The img2img / emb2emb schedule cut (their `get_timesteps`): the last `min(int(steps * strength), steps)` timesteps.
 * A strength that leaves no step is refused, since the pipelines would noise at a timestep that does not exist.
 */
export function timestepsForStrength(timesteps: readonly number[], numInferenceSteps: number, strength: number): number[] {
  if (!(strength >= 0 && strength <= 1)) throw new InputError(`strength must be in [0, 1], got ${strength}`);
  const init = Math.min(Math.trunc(numInferenceSteps * strength), numInferenceSteps);
  const start = Math.max(numInferenceSteps - init, 0);
  if (start >= timesteps.length) {
    throw new InputError(`strength ${strength} with ${numInferenceSteps} inference steps leaves no denoising step (int(steps * strength) = ${init})`);
  }
  return timesteps.slice(start);
}

export function checkNumInferenceSteps(className: string, steps: number, numTrainTimesteps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > numTrainTimesteps) {
    throw new InputError(`${className}: num_inference_steps must be an integer in [1, ${numTrainTimesteps}] (num_train_timesteps), got ${steps}`);
  }
}

export function checkTimestep(className: string, t: number, numTrainTimesteps: number, what = 'timestep'): void {
  if (!Number.isInteger(t) || t < 0 || t >= numTrainTimesteps) {
    throw new InputError(`${className}: ${what} must be an integer in [0, ${numTrainTimesteps}), got ${t}`);
  }
}

/**
 * The model output as the step uses it: the sample's shape, or, for a learned variance, twice the sample's
 * channels (dim 1), split into the prediction and the variance values as diffusers' `torch.split` does.
 */
export function splitModelOutput(className: string, modelOutput: Float32Tensor, sample: Float32Tensor, learnedVariance: boolean): { prediction: Float32Array; variance?: Float32Array } {
  const s = sample.shape;
  const m = modelOutput.shape;
  const channels = learnedVariance ? 2 * s[1] : s[1];
  if (s.length < 2 || m.length !== s.length || m[0] !== s[0] || m[1] !== channels || m.some((d, i) => i > 1 && d !== s[i])) {
    const want = learnedVariance ? `the sample's with ${channels} channels (prediction and learned variance)` : `the sample's ${formatShape(s)}`;
    throw new InputError(`${className}.step: model output shape ${formatShape(m)}, expected ${want}`);
  }
  if (!learnedVariance) return { prediction: modelOutput.data };
  const half = numel(s.slice(1));
  const prediction = new Float32Array(sample.data.length);
  const variance = new Float32Array(sample.data.length);
  for (let b = 0; b < s[0]; b++) {
    prediction.set(modelOutput.data.subarray(2 * b * half, (2 * b + 1) * half), b * half);
    variance.set(modelOutput.data.subarray((2 * b + 1) * half, (2 * b + 2) * half), b * half);
  }
  return { prediction, variance };
}

/** The step's noise: `randn(sample.shape, generator)`, drawn exactly where the reference draws it. */
export function varianceNoise(className: string, sample: Float32Tensor, options: StepOptions): Float32Array {
  if (!options.generator) throw new InputError(`${className}.step: a generator is required for the noise of steps with t > 0`);
  return options.generator.randn(sample.shape).data;
}

/** One coefficient per batch row, from `add_noise`'s timesteps argument. */
export function perRow(className: string, original: Float32Tensor, noise: Float32Tensor, timesteps: number | readonly number[]): number[] {
  const rows = original.shape[0] ?? 1;
  if (noise.shape.length !== original.shape.length || noise.shape.some((d, i) => d !== original.shape[i])) {
    throw new InputError(`${className}.addNoise: noise shape ${formatShape(noise.shape)} differs from the sample's ${formatShape(original.shape)}`);
  }
  const list = typeof timesteps === 'number' ? new Array<number>(rows).fill(timesteps) : [...timesteps];
  if (list.length !== rows) throw new InputError(`${className}.addNoise: ${list.length} timesteps for ${rows} batch rows`);
  return list;
}

/** `a_row * original + b_row * noise`, elementwise in float32 with per-row coefficients. */
export function mixRows(original: Float32Tensor, noise: Float32Tensor, a: readonly number[], b: readonly number[]): Float32Tensor {
  const out = new Float32Array(original.data.length);
  const row = original.data.length / a.length;
  for (let i = 0; i < out.length; i++) {
    const r = Math.floor(i / row);
    out[i] = f32(f32(a[r] * original.data[i]) + f32(b[r] * noise.data[i]));
  }
  return tensor(out, original.shape);
}

/** DDPM's `add_noise` (shared by UnCLIP and DDIM): `sqrt(ac[t]) * x0 + sqrt(1 - ac[t]) * noise`. */
export function addNoiseByAlphasCumprod(className: string, schedule: NoiseSchedule, original: Float32Tensor, noise: Float32Tensor, timesteps: number | readonly number[]): Float32Tensor {
  const ts = perRow(className, original, noise, timesteps);
  ts.forEach((t) => checkTimestep(className, t, schedule.numTrainTimesteps));
  const ac = ts.map((t) => schedule.alphasCumprod[t]);
  return mixRows(original, noise, ac.map(sqrtf), ac.map((a) => sqrtf(f32(1 - a))));
}

/** Shared by the schedulers that predict x0 from an epsilon output: `(x - sqrt(1 - ac) * eps) / sqrt(ac)`. */
export function originalFromEpsilon(sample: Float32Array, eps: Float32Array, alphaProd: number): Float32Array {
  const a = sqrtf(alphaProd);
  const b = sqrtf(f32(1 - alphaProd));
  return sample.map((x, i) => f32(f32(x - f32(b * eps[i])) / a));
}

export function clampInPlace(x: Float32Array, range: number): void {
  const r = f32(range);
  for (let i = 0; i < x.length; i++) x[i] = Math.min(Math.max(x[i], -r), r);
}

/** `out += std * noise`, the fixed-variance noise term. */
export function addScaledNoise(out: Float32Array, noise: Float32Array, std: number): void {
  for (let i = 0; i < out.length; i++) out[i] = f32(out[i] + f32(std * noise[i]));
}

/**
 * The `learned_range` noise term: per element `exp(0.5 * (frac * maxLog + (1 - frac) * minLog)) * noise` with
 * `frac = (v + 1) / 2`, interpolating between the posterior's log-variance (minLog) and log beta (maxLog).
 */
export function addLearnedRangeNoise(out: Float32Array, noise: Float32Array, predictedVariance: Float32Array, minLog: number, maxLog: number): void {
  for (let i = 0; i < out.length; i++) {
    const frac = f32(f32(predictedVariance[i] + 1) / 2);
    const logVariance = f32(f32(frac * maxLog) + f32(f32(1 - frac) * minLog));
    out[i] = f32(out[i] + f32(expf(f32(0.5 * logVariance)) * noise[i]));
  }
}
