import { ConfigFields } from '../config/index.js';
import { InputError } from '../errors.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import { expf, f32, logf, sqrtf } from './float32.js';
import { readNoiseSchedule, type NoiseSchedule } from './noise-schedule.js';
import { checkNumInferenceSteps, mixRows, perRow, splitModelOutput, type Scheduler } from './scheduler.js';
import { readSpacing, spacedTimesteps, type Spacing } from './timestep-spacing.js';

export interface DPMSolverMultistepSchedulerConfig extends Spacing {
  readonly solverOrder: 1 | 2;
  readonly predictionType: 'epsilon' | 'sample';
  readonly lowerOrderFinal: boolean;
  readonly eulerAtFinal: boolean;
  readonly finalSigmasType: 'zero' | 'sigma_min';
}

/** A sigma's point on the VP path: `alpha = 1 / sqrt(sigma^2 + 1)`, `sigma_t = sigma * alpha`, `lambda = log(alpha / sigma_t)`. */
interface PathPoint {
  readonly alpha: number;
  readonly sigma: number;
  readonly lambda: number;
}

function pathPoint(s: number): PathPoint {
  const alpha = f32(1 / sqrtf(f32(f32(s * s) + 1)));
  const sigma = f32(s * alpha);
  return { alpha, sigma, lambda: f32(logf(alpha) - logf(sigma)) };
}

// Sequences shorter than this also take first order at the last step when lower_order_final is on (diffusers).
const LOWER_ORDER_FINAL_BELOW = 15;

/**
 * diffusers' DPMSolverMultistepScheduler, algorithm `dpmsolver++` with the midpoint second-order solver
 * (DPM-Solver++ 2M; doc §5.4). Deterministic: no random draws. The step counter and the last data
 * predictions are state, reset by `setTimesteps`.
 */
export class DPMSolverMultistepScheduler implements Scheduler {
  readonly className = 'DPMSolverMultistepScheduler';
  readonly initNoiseSigma = 1;
  timesteps: readonly number[] = [];
  /** Per schedule entry, then the final sigma: `sqrt((1 - ac) / ac)` in float32. */
  sigmas = new Float32Array(0);
  private stepIndex: number | undefined;
  private lowerOrderNums = 0;
  private previousX0: Float32Array | undefined;

  constructor(readonly config: DPMSolverMultistepSchedulerConfig, readonly schedule: NoiseSchedule) {}

  static fromConfig(json: Record<string, unknown>, source: string): DPMSolverMultistepScheduler {
    const fields = new ConfigFields(json, source);
    fields.oneOf('algorithm_type', ['dpmsolver++'], 'dpmsolver++');
    fields.oneOf('solver_type', ['midpoint'], 'midpoint');
    fields.exactly('thresholding', false, false);
    for (const key of ['use_karras_sigmas', 'use_exponential_sigmas', 'use_beta_sigmas', 'use_lu_lambdas']) fields.exactly(key, false, false);
    // diffusers keeps only 3 channels of an epsilon output under a learned variance; nothing here produces that.
    fields.oneOf('variance_type', [null, 'fixed_small', 'fixed_small_log', 'fixed_large'], null);
    // Only the default -inf (no clipping) is supported; JSON cannot even write it, so the key must be absent.
    fields.require(json.lambda_min_clipped === undefined, `field "lambda_min_clipped" is ${JSON.stringify(json.lambda_min_clipped)}, expected it absent (-inf, the only value supported)`);
    const schedule = readNoiseSchedule(fields);
    const config = {
      ...readSpacing(fields, 'linspace'),
      solverOrder: fields.oneOf<1 | 2>('solver_order', [1, 2], 2),
      predictionType: fields.oneOf('prediction_type', ['epsilon', 'sample'], 'epsilon'),
      lowerOrderFinal: fields.bool('lower_order_final', true),
      eulerAtFinal: fields.bool('euler_at_final', false),
      finalSigmasType: fields.oneOf('final_sigmas_type', ['zero', 'sigma_min'], 'zero'),
    };
    return new DPMSolverMultistepScheduler(config, schedule);
  }

  setTimesteps(numInferenceSteps: number): void {
    const numTrain = this.schedule.numTrainTimesteps;
    checkNumInferenceSteps(this.className, numInferenceSteps, numTrain);
    // linspace and leading place N + 1 points and drop the last (t = 0 side); trailing places N.
    this.timesteps =
      this.config.timestepSpacing === 'trailing'
        ? spacedTimesteps(this.config, numTrain, numInferenceSteps)
        : spacedTimesteps(this.config, numTrain, numInferenceSteps + 1).slice(0, -1);
    const sigmaAt = (t: number): number => {
      const ac = this.schedule.alphasCumprod[t];
      return sqrtf(f32(f32(1 - ac) / ac));
    };
    const last = this.config.finalSigmasType === 'zero' ? 0 : sigmaAt(0);
    this.sigmas = Float32Array.from([...this.timesteps.map(sigmaAt), last]);
    this.stepIndex = undefined;
    this.lowerOrderNums = 0;
    this.previousX0 = undefined;
  }

  step(modelOutput: Float32Tensor, t: number, sample: Float32Tensor): Float32Tensor {
    if (this.timesteps.length === 0) throw new InputError(`${this.className}.step: call setTimesteps first`);
    const { prediction } = splitModelOutput(this.className, modelOutput, sample, false);
    const i = (this.stepIndex ??= this.indexForTimestep(t));
    if (i >= this.timesteps.length) throw new InputError(`${this.className}.step: all ${this.timesteps.length} steps of the schedule are done; call setTimesteps again`);
    const n = this.timesteps.length;
    const { lowerOrderFinal, eulerAtFinal, finalSigmasType, solverOrder } = this.config;
    const firstOrderAtEnd = i === n - 1 && (eulerAtFinal || (lowerOrderFinal && n < LOWER_ORDER_FINAL_BELOW) || finalSigmasType === 'zero');

    const s0 = pathPoint(this.sigmas[i]);
    const x0 =
      this.config.predictionType === 'epsilon'
        ? sample.data.map((x, k) => f32(f32(x - f32(s0.sigma * prediction[k])) / s0.alpha))
        : prediction.slice();
    const target = pathPoint(this.sigmas[i + 1]);
    const h = f32(target.lambda - s0.lambda);
    const sampleCoeff = f32(target.sigma / s0.sigma);
    const x0Coeff = f32(target.alpha * f32(expf(-h) - 1));

    let out: Float32Array;
    if (solverOrder === 1 || this.lowerOrderNums < 1 || firstOrderAtEnd || !this.previousX0) {
      out = sample.data.map((x, k) => f32(f32(sampleCoeff * x) - f32(x0Coeff * x0[k])));
    } else {
      // Midpoint rule: D1 = (x0_i - x0_{i-1}) / r0 with r0 = h_{i-1} / h_i.
      const s1 = pathPoint(this.sigmas[i - 1]);
      const r0 = f32(f32(s0.lambda - s1.lambda) / h);
      const invR0 = f32(1 / r0);
      const halfX0Coeff = f32(0.5 * x0Coeff);
      const prev = this.previousX0;
      out = sample.data.map((x, k) => {
        const d1 = f32(invR0 * f32(x0[k] - prev[k]));
        return f32(f32(f32(sampleCoeff * x) - f32(x0Coeff * x0[k])) - f32(halfX0Coeff * d1));
      });
    }
    this.previousX0 = x0;
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, solverOrder);
    this.stepIndex = i + 1;
    return tensor(out, sample.shape);
  }

  /** `alpha_t * x0 + sigma_t * noise` at the sigma of each row's timestep in the schedule. */
  addNoise(original: Float32Tensor, noise: Float32Tensor, timesteps: number | readonly number[]): Float32Tensor {
    const points = perRow(this.className, original, noise, timesteps).map((t) => pathPoint(this.sigmas[this.indexForTimestep(t)]));
    return mixRows(original, noise, points.map((p) => p.alpha), points.map((p) => p.sigma));
  }

  // diffusers' index_for_timestep: the second match when the schedule repeats `t` (so img2img does not skip a
  // sigma), the last entry when `t` is not in it.
  private indexForTimestep(t: number): number {
    if (this.timesteps.length === 0) throw new InputError(`${this.className}: call setTimesteps first`);
    const matches = this.timesteps.flatMap((s, k) => (s === t ? [k] : []));
    if (matches.length === 0) return this.timesteps.length - 1;
    return matches.length > 1 ? matches[1] : matches[0];
  }
}
