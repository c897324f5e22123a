import { ConfigFields } from '../config/index.js';
import { InputError } from '../errors.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import { f32, sqrtf } from './float32.js';
import { readNoiseSchedule, type NoiseSchedule } from './noise-schedule.js';
import {
  addNoiseByAlphasCumprod,
  checkNumInferenceSteps,
  checkTimestep,
  clampInPlace,
  originalFromEpsilon,
  splitModelOutput,
  type Scheduler,
} from './scheduler.js';
import { readSpacing, spacedTimesteps, type Spacing } from './timestep-spacing.js';

export interface DDIMSchedulerConfig extends Spacing {
  readonly clipSample: boolean;
  readonly clipSampleRange: number;
  readonly setAlphaToOne: boolean;
}

/**
 * diffusers' DDIMScheduler as the Kandinsky pipelines call it: `eta = 0` (their default), so deterministic and
 * without random draws (doc §5.3). Only epsilon prediction.
 */
export class DDIMScheduler implements Scheduler {
  readonly className = 'DDIMScheduler';
  readonly initNoiseSigma = 1;
  timesteps: readonly number[] = [];
  /** `alphas_cumprod` before the first timestep: 1, or `alphas_cumprod[0]` unless `set_alpha_to_one`. */
  readonly finalAlphaCumprod: number;
  private numInferenceSteps = 0;

  constructor(readonly config: DDIMSchedulerConfig, readonly schedule: NoiseSchedule) {
    this.finalAlphaCumprod = config.setAlphaToOne ? 1 : schedule.alphasCumprod[0];
  }

  static fromConfig(json: Record<string, unknown>, source: string): DDIMScheduler {
    const fields = new ConfigFields(json, source);
    fields.exactly('thresholding', false, false);
    fields.oneOf('prediction_type', ['epsilon'], 'epsilon');
    const schedule = readNoiseSchedule(fields);
    const config = {
      ...readSpacing(fields, 'leading'),
      clipSample: fields.bool('clip_sample', true),
      clipSampleRange: fields.positive('clip_sample_range', 1.0),
      setAlphaToOne: fields.bool('set_alpha_to_one', true),
    };
    return new DDIMScheduler(config, schedule);
  }

  setTimesteps(numInferenceSteps: number): void {
    checkNumInferenceSteps(this.className, numInferenceSteps, this.schedule.numTrainTimesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = spacedTimesteps(this.config, this.schedule.numTrainTimesteps, numInferenceSteps);
  }

  step(modelOutput: Float32Tensor, t: number, sample: Float32Tensor): Float32Tensor {
    if (this.numInferenceSteps === 0) throw new InputError(`${this.className}.step: call setTimesteps first`);
    checkTimestep(this.className, t, this.schedule.numTrainTimesteps);
    const { prediction: eps } = splitModelOutput(this.className, modelOutput, sample, false);
    // The previous timestep is computed, not looked up, whatever the spacing (as in diffusers).
    const prev = t - Math.floor(this.schedule.numTrainTimesteps / this.numInferenceSteps);
    const acT = this.schedule.alphasCumprod[t];
    const acPrev = prev >= 0 ? this.schedule.alphasCumprod[prev] : this.finalAlphaCumprod;

    const x0 = originalFromEpsilon(sample.data, eps, acT);
    if (this.config.clipSample) clampInPlace(x0, this.config.clipSampleRange);
    // With eta = 0 the noise std is 0, so the direction term is sqrt(1 - ac_prev - 0) * eps.
    const x0Coeff = sqrtf(acPrev);
    const epsCoeff = sqrtf(f32(1 - acPrev));
    return tensor(x0.map((x, i) => f32(f32(x0Coeff * x) + f32(epsCoeff * eps[i]))), sample.shape);
  }

  addNoise(original: Float32Tensor, noise: Float32Tensor, timesteps: number | readonly number[]): Float32Tensor {
    return addNoiseByAlphasCumprod(this.className, this.schedule, original, noise, timesteps);
  }
}
