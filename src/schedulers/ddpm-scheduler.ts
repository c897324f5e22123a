import { ConfigFields } from '../config/index.js';
import { InputError } from '../errors.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import { expf, f32, logf, sqrtf } from './float32.js';
import { readNoiseSchedule, type NoiseSchedule } from './noise-schedule.js';
import {
  addLearnedRangeNoise,
  addNoiseByAlphasCumprod,
  addScaledNoise,
  checkNumInferenceSteps,
  checkTimestep,
  clampInPlace,
  originalFromEpsilon,
  splitModelOutput,
  varianceNoise,
  type Scheduler,
  type StepOptions,
} from './scheduler.js';
import { readSpacing, spacedTimesteps, type Spacing } from './timestep-spacing.js';

export const DDPM_VARIANCE_TYPES = ['fixed_small', 'fixed_small_log', 'fixed_large', 'learned_range'] as const;

export interface DDPMSchedulerConfig extends Spacing {
  readonly varianceType: (typeof DDPM_VARIANCE_TYPES)[number];
  readonly clipSample: boolean;
  readonly clipSampleRange: number;
  readonly predictionType: 'epsilon' | 'sample';
}

const MIN_VARIANCE = f32(1e-20);

/** diffusers' DDPMScheduler, the decoder's (doc §5.2). */
export class DDPMScheduler implements Scheduler {
  readonly className = 'DDPMScheduler';
  readonly initNoiseSigma = 1;
  timesteps: readonly number[] = [];

  constructor(readonly config: DDPMSchedulerConfig, readonly schedule: NoiseSchedule) {}

  static fromConfig(json: Record<string, unknown>, source: string): DDPMScheduler {
    const fields = new ConfigFields(json, source);
    fields.exactly('thresholding', false, false);
    const schedule = readNoiseSchedule(fields);
    const config = {
      ...readSpacing(fields, 'leading'),
      varianceType: fields.oneOf('variance_type', DDPM_VARIANCE_TYPES, 'fixed_small'),
      clipSample: fields.bool('clip_sample', true),
      clipSampleRange: fields.positive('clip_sample_range', 1.0),
      predictionType: fields.oneOf('prediction_type', ['epsilon', 'sample'], 'epsilon'),
    };
    return new DDPMScheduler(config, schedule);
  }

  setTimesteps(numInferenceSteps: number): void {
    checkNumInferenceSteps(this.className, numInferenceSteps, this.schedule.numTrainTimesteps);
    this.timesteps = spacedTimesteps(this.config, this.schedule.numTrainTimesteps, numInferenceSteps);
  }

  /** The entry after `t` in the schedule (-1 after the last): img2img keeps the full list, so this holds there too. */
  previousTimestep(t: number): number {
    const i = this.timesteps.indexOf(t);
    if (i < 0) throw new InputError(`${this.className}.step: timestep ${t} is not in the schedule set by setTimesteps (${this.timesteps.length} steps)`);
    return i + 1 < this.timesteps.length ? this.timesteps[i + 1] : -1;
  }

  step(modelOutput: Float32Tensor, t: number, sample: Float32Tensor, options: StepOptions = {}): Float32Tensor {
    const { varianceType } = this.config;
    const { alphasCumprod } = this.schedule;
    checkTimestep(this.className, t, this.schedule.numTrainTimesteps);
    const prev = this.previousTimestep(t);
    const { prediction, variance: predictedVariance } = splitModelOutput(this.className, modelOutput, sample, varianceType === 'learned_range');

    const acT = alphasCumprod[t];
    const acPrev = prev >= 0 ? alphasCumprod[prev] : 1;
    const betaProdT = f32(1 - acT);
    const betaProdPrev = f32(1 - acPrev);
    const currentAlpha = f32(acT / acPrev);
    const currentBeta = f32(1 - currentAlpha);

    const x0 = this.config.predictionType === 'epsilon' ? originalFromEpsilon(sample.data, prediction, acT) : prediction.slice();
    if (this.config.clipSample) clampInPlace(x0, this.config.clipSampleRange);
    const x0Coeff = f32(f32(sqrtf(acPrev) * currentBeta) / betaProdT);
    const sampleCoeff = f32(f32(sqrtf(currentAlpha) * betaProdPrev) / betaProdT);
    const out = sample.data.map((x, i) => f32(f32(x0Coeff * x0[i]) + f32(sampleCoeff * x)));

    if (t > 0) {
      const noise = varianceNoise(this.className, sample, options);
      const variance = Math.max(f32(f32(betaProdPrev / betaProdT) * currentBeta), MIN_VARIANCE);
      if (varianceType === 'learned_range') addLearnedRangeNoise(out, noise, predictedVariance!, logf(variance), logf(currentBeta));
      else if (varianceType === 'fixed_small') addScaledNoise(out, noise, sqrtf(variance));
      else if (varianceType === 'fixed_small_log') addScaledNoise(out, noise, expf(f32(0.5 * logf(variance))));
      else addScaledNoise(out, noise, sqrtf(currentBeta));
    }
    return tensor(out, sample.shape);
  }

  addNoise(original: Float32Tensor, noise: Float32Tensor, timesteps: number | readonly number[]): Float32Tensor {
    return addNoiseByAlphasCumprod(this.className, this.schedule, original, noise, timesteps);
  }
}
