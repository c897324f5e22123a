import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { schedulerFromConfig, timestepsForStrength, type Scheduler } from '../../src/schedulers/index.js';

// The decoder's published DDPM scheduler_config.json, as the golden cases pass it.
const DECODER = {
  _class_name: 'DDPMScheduler',
  num_train_timesteps: 1000,
  beta_schedule: 'linear',
  beta_start: 0.00085,
  beta_end: 0.012,
  clip_sample: true,
  set_alpha_to_one: false,
  steps_offset: 1,
  prediction_type: 'epsilon',
  thresholding: false,
};
const PRIOR = { _class_name: 'UnCLIPScheduler', clip_sample: true, clip_sample_range: 10.0, num_train_timesteps: 1000, prediction_type: 'sample', variance_type: 'fixed_small_log' };

function timesteps(className: string, json: Record<string, unknown>, steps: number): readonly number[] {
  const s: Scheduler = schedulerFromConfig(className, json, 'test config');
  s.setTimesteps(steps);
  return s.timesteps;
}

function headAndTail(list: readonly number[]): number[] {
  return [...list.slice(0, 3), ...list.slice(-2)];
}

describe('set_timesteps (architecture doc §5)', () => {
  it('gives the prior its 25-step UnCLIP schedule, ending at 0', () => {
    assert.deepEqual(timesteps('UnCLIPScheduler', PRIOR, 25), [999, 957, 916, 874, 832, 791, 749, 708, 666, 624, 583, 541, 500, 458, 416, 375, 333, 291, 250, 208, 166, 125, 83, 42, 0]);
    assert.deepEqual(headAndTail(timesteps('UnCLIPScheduler', PRIOR, 50)), [999, 979, 958, 20, 0]);
  });

  it('spaces DDPM "leading" by 1000 // N plus steps_offset, ending at 1', () => {
    assert.deepEqual(headAndTail(timesteps('DDPMScheduler', DECODER, 100)), [991, 981, 971, 11, 1]);
    assert.deepEqual(headAndTail(timesteps('DDPMScheduler', DECODER, 75)), [963, 950, 937, 14, 1]);
    assert.deepEqual(headAndTail(timesteps('DDPMScheduler', DECODER, 50)), [981, 961, 941, 21, 1]);
    assert.deepEqual(headAndTail(timesteps('DDPMScheduler', DECODER, 25)), [961, 921, 881, 41, 1]);
  });

  it('spaces "linspace" and "trailing" as numpy rounds them (half to even)', () => {
    assert.deepEqual(timesteps('DDPMScheduler', { ...DECODER, timestep_spacing: 'linspace' }, 4), [999, 666, 333, 0]);
    assert.deepEqual(headAndTail(timesteps('DDPMScheduler', { ...DECODER, timestep_spacing: 'trailing' }, 25)), [999, 959, 919, 79, 39]);
    // trailing counts down from num_train_timesteps by 1000 / N, then subtracts 1.
    assert.deepEqual(timesteps('DDIMScheduler', { ...DECODER, timestep_spacing: 'trailing' }, 8), [999, 874, 749, 624, 499, 374, 249, 124]);
  });

  it('gives DPM-Solver++ N + 1 points minus the last, "linspace" from the raw DDPM JSON', () => {
    assert.deepEqual(headAndTail(timesteps('DPMSolverMultistepScheduler', DECODER, 25)), [999, 959, 919, 80, 40]);
    const leading = { ...DECODER, timestep_spacing: 'leading' };
    assert.deepEqual(headAndTail(timesteps('DPMSolverMultistepScheduler', leading, 25)), [951, 913, 875, 77, 39]);
    assert.deepEqual(headAndTail(timesteps('DPMSolverMultistepScheduler', leading, 50)), [951, 932, 913, 39, 20]);
    assert.deepEqual(headAndTail(timesteps('DPMSolverMultistepScheduler', leading, 100)), [901, 892, 883, 19, 10]);
  });

  it('refuses step counts outside [1, num_train_timesteps], and one step for UnCLIP (its ratio divides by zero)', () => {
    for (const steps of [0, 1001, 2.5]) {
      assert.throws(() => timesteps('DDPMScheduler', DECODER, steps), (e: Error) => e instanceof InputError && /num_inference_steps must be an integer in \[1, 1000\]/.test(e.message));
    }
    assert.throws(() => timesteps('UnCLIPScheduler', PRIOR, 1), (e: Error) => e instanceof InputError && /at least 2/.test(e.message));
  });
});

describe('the img2img / emb2emb strength cut', () => {
  const list = [901, 801, 701, 601, 501, 401, 301, 201, 101, 1];

  it('keeps the last int(steps * strength) timesteps', () => {
    assert.deepEqual(timestepsForStrength(list, 10, 0.3), [201, 101, 1]);
    assert.deepEqual(timestepsForStrength(list, 10, 0.75), [601, 501, 401, 301, 201, 101, 1]);
    assert.deepEqual(timestepsForStrength(list, 10, 1), list);
  });

  it('refuses a strength outside [0, 1] or one that leaves no step', () => {
    assert.throws(() => timestepsForStrength(list, 10, 1.5), InputError);
    assert.throws(() => timestepsForStrength(list, 10, 0.05), (e: Error) => e instanceof InputError && /leaves no denoising step/.test(e.message));
  });
});
