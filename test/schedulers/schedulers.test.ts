import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, InputError } from '../../src/errors.js';
import { TorchGenerator } from '../../src/random/index.js';
import {
  DDIMScheduler,
  DDPMScheduler,
  DPMSolverMultistepScheduler,
  UnCLIPScheduler,
  loadScheduler,
  schedulerFromConfig,
  torchLinspaceFloat32,
} from '../../src/schedulers/index.js';
import { tensor, type Float32Tensor } from '../../src/tensor/index.js';
import { modelsDir } from '../helpers/fixtures.js';

const f = Math.fround;

describe('noise schedule tables', () => {
  it('makes linear betas with torch 1.13 linspace: 8-lane vectors from a per-vector base, a serial tail', () => {
    const betas = torchLinspaceFloat32(0.00085, 0.012, 1000);
    const start = f(0.00085);
    const end = f(0.012);
    const step = f(f(end - start) / 999);
    assert.equal(betas[0], start);
    assert.equal(betas[999], end);
    // index 13: vector from 8 (front half), lane 5
    assert.equal(betas[13], f(f(start + f(step * 8)) + f(5 * step)));
    // index 503: vector from 496 (still front half: the base decides), lane 7
    assert.equal(betas[503], f(f(start + f(step * 496)) + f(7 * step)));
    // index 700: vector from 696 (back half), lane 4
    assert.equal(betas[700], f(f(end - f(step * (1000 - 696 - 1))) + f(4 * step)));
    // indices from 992 on are serial, counted down from the end
    assert.equal(betas[995], f(end - f(step * 4)));
  });

  it('caps the last squaredcos_cap_v2 beta at 0.999 and keeps cumulative products in float32', () => {
    const s = new UnCLIPScheduler({ numTrainTimesteps: 1000, varianceType: 'fixed_small_log', clipSample: true, clipSampleRange: 10, predictionType: 'sample' });
    assert.equal(s.schedule.betas[999], f(0.999));
    assert.equal(s.schedule.alphasCumprod[0], s.schedule.alphas[0]);
    assert.equal(s.schedule.alphasCumprod[1], f(s.schedule.alphas[0] * s.schedule.alphas[1]));
  });
});

const DECODER = { _class_name: 'DDPMScheduler', beta_schedule: 'linear', beta_start: 0.00085, beta_end: 0.012, clip_sample: true, set_alpha_to_one: false, steps_offset: 1 };

describe('add_noise', () => {
  it('mixes sqrt(ac[t]) * x0 + sqrt(1 - ac[t]) * noise per batch row (DDPM, UnCLIP, DDIM)', () => {
    const s = schedulerFromConfig('DDPMScheduler', DECODER, 'test') as DDPMScheduler;
    const x0 = tensor(Float32Array.from([1, 2, -1, 0.5]), [2, 2]);
    const noise = tensor(Float32Array.from([0.25, -1, 2, 1]), [2, 2]);
    const out = s.addNoise(x0, noise, [10, 500]);
    [10, 10, 500, 500].forEach((t, i) => {
      const ac = s.schedule.alphasCumprod[t];
      assert.equal(out.data[i], f(f(f(Math.sqrt(ac)) * x0.data[i]) + f(f(Math.sqrt(f(1 - ac))) * noise.data[i])));
    });
    assert.deepEqual(s.addNoise(x0, noise, 10).data.subarray(0, 2), out.data.subarray(0, 2));
  });

  it('uses the schedule sigma for DPM-Solver++ (alpha_t * x0 + sigma_t * noise)', () => {
    const s = schedulerFromConfig('DPMSolverMultistepScheduler', DECODER, 'test') as DPMSolverMultistepScheduler;
    s.setTimesteps(10);
    const out = s.addNoise(tensor(Float32Array.from([1]), [1]), tensor(Float32Array.from([0]), [1]), s.timesteps[3]);
    const sigma = s.sigmas[3];
    assert.equal(out.data[0], f(1 / f(Math.sqrt(f(f(sigma * sigma) + 1)))));
  });

  it('refuses a noise of another shape or a timestep count that is not one per row', () => {
    const s = schedulerFromConfig('DDPMScheduler', DECODER, 'test');
    const x0 = tensor(new Float32Array(4), [2, 2]);
    assert.throws(() => s.addNoise(x0, tensor(new Float32Array(2), [1, 2]), 5), InputError);
    assert.throws(() => s.addNoise(x0, x0, [5, 6, 7]), (e: Error) => e instanceof InputError && /3 timesteps for 2 batch rows/.test(e.message));
  });
});

describe('step', () => {
  const sample = tensor(Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1), [1, 4, 2, 2]);
  const eps = tensor(Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)), [1, 4, 2, 2]);

  it('draws from the generator in DDPM steps with t > 0, and never in DDIM or DPM-Solver++', () => {
    for (const [className, draws] of [['DDPMScheduler', true], ['DDIMScheduler', false], ['DPMSolverMultistepScheduler', false]] as const) {
      const s = schedulerFromConfig(className, DECODER, 'test');
      s.setTimesteps(5);
      const g = new TorchGenerator().manualSeed(7);
      let x: Float32Tensor = sample;
      for (const t of s.timesteps) x = s.step(eps, t, x, { generator: g });
      const next = g.random();
      const fresh = new TorchGenerator().manualSeed(7);
      if (draws) for (let i = 0; i < 5; i++) fresh.randn([1, 4, 2, 2]);
      assert.equal(next, fresh.random(), className);
    }
  });

  it('ends DPM-Solver++ on the data prediction (final sigma 0)', () => {
    const s = schedulerFromConfig('DPMSolverMultistepScheduler', DECODER, 'test') as DPMSolverMultistepScheduler;
    s.setTimesteps(1);
    const out = s.step(eps, s.timesteps[0], sample);
    const sigma = s.sigmas[0];
    const alpha = f(1 / f(Math.sqrt(f(f(sigma * sigma) + 1))));
    assert.equal(out.data[3], f(f(sample.data[3] - f(f(sigma * alpha) * eps.data[3])) / alpha));
  });

  it('splits a learned_range output into prediction and variance channels, and refuses it without them', () => {
    const s = schedulerFromConfig('DDPMScheduler', { ...DECODER, variance_type: 'learned_range' }, 'test');
    s.setTimesteps(2);
    const both = tensor(new Float32Array(32), [1, 8, 2, 2]);
    assert.equal(s.step(both, s.timesteps[0], sample, { generator: new TorchGenerator() }).shape.join(), '1,4,2,2');
    assert.throws(() => s.step(eps, s.timesteps[0], sample, { generator: new TorchGenerator() }), (e: Error) => e instanceof InputError && /8 channels/.test(e.message));
  });

  it('refuses a step that must draw noise without a generator, or at a timestep not in the schedule', () => {
    const s = schedulerFromConfig('DDPMScheduler', DECODER, 'test');
    s.setTimesteps(4);
    assert.throws(() => s.step(eps, s.timesteps[0], sample), (e: Error) => e instanceof InputError && /generator is required/.test(e.message));
    assert.throws(() => s.step(eps, 500, sample, { generator: new TorchGenerator() }), (e: Error) => e instanceof InputError && /timestep 500 is not in the schedule/.test(e.message));
    const d = schedulerFromConfig('DDIMScheduler', DECODER, 'test');
    assert.throws(() => d.step(eps, 10, sample), (e: Error) => e instanceof InputError && /setTimesteps first/.test(e.message));
  });
});

describe('schedulerFromConfig / loadScheduler', () => {
  it('loads the published scheduler of every tiny repo, by its _class_name or as another class', () => {
    assert.ok(loadScheduler(join(modelsDir, 'kandinsky-2-2-prior', 'scheduler')) instanceof UnCLIPScheduler);
    const ddpm = loadScheduler(join(modelsDir, 'kandinsky-2-2-decoder-inpaint', 'scheduler')) as DDPMScheduler;
    assert.equal(ddpm.config.clipSample, false);
    const ddim = loadScheduler(join(modelsDir, 'kandinsky-2-2-decoder', 'scheduler'), 'DDIMScheduler') as DDIMScheduler;
    assert.equal(ddim.config.setAlphaToOne, false);
    assert.equal(ddim.finalAlphaCumprod, ddim.schedule.alphasCumprod[0]);
    const dpm = loadScheduler(join(modelsDir, 'kandinsky-2-2-controlnet-depth', 'scheduler'), 'DPMSolverMultistepScheduler') as DPMSolverMultistepScheduler;
    assert.equal(dpm.config.timestepSpacing, 'linspace');
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ['DDPMScheduler', { thresholding: true }, /field "thresholding" is true, expected false/],
    ['DDPMScheduler', { beta_schedule: 'sigmoid' }, /field "beta_schedule" is "sigmoid", expected one of "linear", "scaled_linear", "squaredcos_cap_v2"/],
    ['DDPMScheduler', { prediction_type: 'v_prediction' }, /field "prediction_type" is "v_prediction", expected one of "epsilon", "sample"/],
    ['DDPMScheduler', { variance_type: 'learned' }, /field "variance_type" is "learned"/],
    ['DDPMScheduler', { timestep_spacing: 'karras' }, /field "timestep_spacing" is "karras", expected one of "leading", "linspace", "trailing"/],
    ['DDPMScheduler', { trained_betas: [0.1, 0.2] }, /field "trained_betas"/],
    ['DDPMScheduler', { num_train_timesteps: 0 }, /field "num_train_timesteps" is 0, expected a positive integer/],
    ['UnCLIPScheduler', { beta_schedule: 'linear' }, /field "beta_schedule" is "linear", expected one of "squaredcos_cap_v2"/],
    ['DPMSolverMultistepScheduler', { algorithm_type: 'sde-dpmsolver++' }, /field "algorithm_type" is "sde-dpmsolver\+\+", expected one of "dpmsolver\+\+"/],
    ['DPMSolverMultistepScheduler', { solver_order: 3 }, /field "solver_order" is 3, expected one of 1, 2/],
    ['DPMSolverMultistepScheduler', { use_karras_sigmas: true }, /field "use_karras_sigmas" is true, expected false/],
    ['DDIMScheduler', { prediction_type: 'sample' }, /field "prediction_type" is "sample", expected one of "epsilon"/],
    ['EulerDiscreteScheduler', {}, /scheduler class "EulerDiscreteScheduler" is not supported; supported: UnCLIPScheduler, DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler/],
  ];
  for (const [className, edit, message] of refusals) {
    it(`refuses ${className} with ${JSON.stringify(edit)}, naming the file and field`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'kandinsky-scheduler-'));
      writeFileSync(join(dir, 'scheduler_config.json'), JSON.stringify({ ...DECODER, _class_name: className, ...edit }));
      assert.throws(
        () => loadScheduler(dir),
        (e: Error) => e instanceof ConfigError && e.message.startsWith(join(dir, 'scheduler_config.json')) && message.test(e.message),
      );
    });
  }

  it('refuses a folder without scheduler_config.json, or a config naming no class', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kandinsky-scheduler-'));
    assert.throws(() => loadScheduler(dir), (e: Error) => e instanceof ConfigError && /scheduler_config.json not found/.test(e.message));
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'scheduler_config.json'), '{"beta_start": 0.001}');
    assert.throws(() => loadScheduler(join(dir, 'x')), (e: Error) => e instanceof ConfigError && /"_class_name" is undefined/.test(e.message));
  });
});
