import { ConfigFields } from '../config/index.js';
import { InputError } from '../errors.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import { expf, f32, logf, roundHalfEven, sqrtf } from './float32.js';
import { betasFor, noiseSchedule, type NoiseSchedule } from './noise-schedule.js';
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

export interface UnCLIPSchedulerConfig {
  readonly numTrainTimesteps: number;
  readonly varianceType: 'fixed_small_log' | 'learned_range';
  readonly clipSample: boolean;
  readonly clipSampleRange: number;
  readonly predictionType: 'epsilon' | 'sample';
}

// The smallest variance whose log is taken ("hacks - were probably added for training stability").
const MIN_VARIANCE = f32(1e-20);

/** diffusers' UnCLIPScheduler: the prior's DDPM variant with its own step ratio and per-jump betas (doc §5.1). */
export class UnCLIPScheduler implements Scheduler {
  readonly className = 'UnCLIPScheduler';
  readonly initNoiseSigma = 1;
  readonly schedule: NoiseSchedule;
  timesteps: readonly number[] = [];

  constructor(readonly config: UnCLIPSchedulerConfig) {
    this.schedule = noiseSchedule(betasFor('squaredcos_cap_v2', 0, 0, config.numTrainTimesteps));
  }

  static fromConfig(json: Record<string, unknown>, source: string): UnCLIPScheduler {
    const fields = new ConfigFields(json, source);
    fields.oneOf('beta_schedule', ['squaredcos_cap_v2'], 'squaredcos_cap_v2');
    return new UnCLIPScheduler({
      numTrainTimesteps: fields.int('num_train_timesteps', 1000),
      varianceType: fields.oneOf('variance_type', ['fixed_small_log', 'learned_range'], 'fixed_small_log'),
      clipSample: fields.bool('clip_sample', true),
      clipSampleRange: fields.positive('clip_sample_range', 1.0),
      predictionType: fields.oneOf('prediction_type', ['epsilon', 'sample'], 'epsilon'),
    });
  }

  /** `round((numTrain - 1) / (N - 1) * i)` for i = N-1 .. 0: every schedule ends at 0. */
  setTimesteps(numInferenceSteps: number): void {
    checkNumInferenceSteps(this.className, numInferenceSteps, this.config.numTrainTimesteps);
    if (numInferenceSteps === 1) {
      throw new InputError(`${this.className}: num_inference_steps must be at least 2 (its step ratio (num_train_timesteps - 1) / (steps - 1) divides by zero at 1)`);
    }
    const ratio = (this.config.numTrainTimesteps - 1) / (numInferenceSteps - 1);
    this.timesteps = Array.from({ length: numInferenceSteps }, (_, i) => roundHalfEven((numInferenceSteps - 1 - i) * ratio));
  }

  step(modelOutput: Float32Tensor, t: number, sample: Float32Tensor, options: StepOptions = {}): Float32Tensor {
    const { numTrainTimesteps, varianceType } = this.config;
    const { betas, alphas, alphasCumprod } = this.schedule;
    checkTimestep(this.className, t, numTrainTimesteps);
    const prev = options.prevTimestep ?? t - 1;
    if (prev >= 0) checkTimestep(this.className, prev, numTrainTimesteps, 'prevTimestep');
    const { prediction, variance: predictedVariance } = splitModelOutput(this.className, modelOutput, sample, varianceType === 'learned_range');

    const acT = alphasCumprod[t];
    const acPrev = prev >= 0 ? alphasCumprod[prev] : 1;
    const betaProdT = f32(1 - acT);
    const betaProdPrev = f32(1 - acPrev);
    // A jump of one timestep uses the trained beta; a longer jump recomputes it from the cumulative products.
    const beta = prev === t - 1 ? betas[t] : f32(1 - f32(acT / acPrev));
    const alpha = prev === t - 1 ? alphas[t] : f32(1 - beta);

    const x0 = this.config.predictionType === 'epsilon' ? originalFromEpsilon(sample.data, prediction, acT) : prediction.slice();
    if (this.config.clipSample) clampInPlace(x0, this.config.clipSampleRange);
    const x0Coeff = f32(f32(sqrtf(acPrev) * beta) / betaProdT);
    const sampleCoeff = f32(f32(sqrtf(alpha) * betaProdPrev) / betaProdT);
    const out = sample.data.map((x, i) => f32(f32(x0Coeff * x0[i]) + f32(sampleCoeff * x)));

    if (t > 0) {
      const noise = varianceNoise(this.className, sample, options);
      const variance = f32(f32(betaProdPrev / betaProdT) * beta);
      if (varianceType === 'fixed_small_log') {
        addScaledNoise(out, noise, expf(f32(0.5 * logf(Math.max(variance, MIN_VARIANCE)))));
      } else {
        // Unlike DDPM's, UnCLIP's learned_range takes the log of the unclamped variance.
        addLearnedRangeNoise(out, noise, predictedVariance!, logf(variance), logf(beta));
      }
    }
    return tensor(out, sample.shape);
  }

  addNoise(original: Float32Tensor, noise: Float32Tensor, timesteps: number | readonly number[]): Float32Tensor {
    return addNoiseByAlphasCumprod(this.className, this.schedule, original, noise, timesteps);
  }
}
