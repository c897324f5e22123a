import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { Engine, GenerationWorker, type GenerationRequest } from '../../src/generation/index.js';
import { networkBytes } from '../../src/nets/index.js';
import { AbortedError, type StepEvent } from '../../src/pipelines/index.js';
import { readPng } from '../../src/image/index.js';
import { goldenDir, modelsDir, tinyDptDir } from '../helpers/fixtures.js';

const text2img: GenerationRequest = {
  mode: 'text2img',
  prior: join(modelsDir, 'kandinsky-2-2-prior'),
  decoder: join(modelsDir, 'kandinsky-2-2-decoder'),
  prompt: 'a moss covered astronaut',
  width: 64,
  height: 64,
  numInferenceSteps: 3,
  numInferenceStepsPrior: 2,
  seed: 42,
};

describe('generation in a worker thread', () => {
  const worker = new GenerationWorker();
  after(() => worker.close());

  it('makes the same images as the engine in this thread, reporting each step as it happens', async () => {
    const events: StepEvent[] = [];
    const ticks: number[] = [];
    // The host's event loop stays free while the worker computes.
    const timer = setInterval(() => ticks.push(Date.now()), 5);
    const remote = await worker.generate(text2img, { onStep: (e) => events.push(e) }).finally(() => clearInterval(timer));
    const engine = new Engine();
    const local = await engine.generate(text2img);
    await engine.release();
    assert.deepEqual(remote.images!.shape, [1, 64, 64, 3]);
    assert.deepEqual([...remote.images!.data], [...local.images!.data]);
    assert.deepEqual(events.map((e) => `${e.stage} ${e.step}`), ['prior 1', 'prior 2', 'decoder 1', 'decoder 2', 'decoder 3']);
    assert.ok(ticks.length > 0);
  });

  it('stops between steps on abort and can run again afterwards', async () => {
    const controller = new AbortController();
    const steps: string[] = [];
    await assert.rejects(
      worker.generate({ ...text2img, numInferenceSteps: 20 }, {
        signal: controller.signal,
        onStep: (e) => { steps.push(`${e.stage} ${e.step}`); if (e.stage === 'decoder' && e.step === 1) controller.abort(); },
      }),
      AbortedError,
    );
    assert.ok(steps.length < 2 + 20, `ran ${steps.length} steps`);
    const again = await worker.generate(text2img);
    assert.deepEqual(again.images!.shape, [1, 64, 64, 3]);
  });

  it('keeps the class of a refusal made in the worker', async () => {
    await assert.rejects(worker.generate({ ...text2img, numInferenceSteps: 0 }), (err: unknown) => err instanceof InputError && /numInferenceSteps/.test(err.message));
  });

  it('runs the prior alone and every decoder mode it is given', async () => {
    const prior = await worker.generate({ ...text2img, mode: 'prior', numOutputs: 2 });
    assert.deepEqual(prior.imageEmbeds!.shape, [2, 32]);
    assert.equal(prior.images, undefined);
    const fused = await worker.generate({ ...text2img, mode: 'fuse', prompt: undefined, mix: [{ text: 'a cat', weight: 0.5 }, { text: 'a dog', weight: 0.5 }] });
    assert.deepEqual(fused.images!.shape, [1, 64, 64, 3]);
    const given = await worker.generate({ ...text2img, prior: undefined, imageEmbeds: { imageEmbeds: prior.imageEmbeds!, negativeImageEmbeds: prior.negativeImageEmbeds! } });
    assert.deepEqual(given.images!.shape, [2, 64, 64, 3]);
  });
});

describe('depth from a photo in the engine', () => {
  it('estimates the hint from a photo first and hands back the depth map', async () => {
    const engine = new Engine();
    const photo = readPng(join(goldenDir, 'images/inputs/rgb_150x90.png'));
    const request: GenerationRequest = {
      ...text2img, mode: 'controlnet', decoder: join(modelsDir, 'kandinsky-2-2-controlnet-depth'), numInferenceSteps: 1,
      hintFrom: { photo, depthModel: tinyDptDir },
    };
    const result = await engine.generate(request);
    await engine.release();
    assert.deepEqual([result.depth!.width, result.depth!.height, result.depth!.mode], [150, 90, 'L']);
    assert.deepEqual(result.images!.shape, [1, 64, 64, 3]);
  });
});

describe('the engine\'s memory budget', () => {
  it('keeps networks loaded within the budget and releases each after its stage past it', async () => {
    const within = new Engine({ memoryBudget: 1024 ** 3 });
    const past = new Engine({ memoryBudget: 1024 });
    await within.generate(text2img);
    await past.generate(text2img);
    const held = (e: Engine) => [...(e as unknown as { pipelines: Map<string, { unet?: { value?: unknown }; prior?: { value?: unknown } }> }).pipelines.values()]
      .map((p) => (p.unet ?? p.prior)!.value !== undefined);
    assert.deepEqual(held(within), [true, true]);
    assert.deepEqual(held(past), [false, false]);
    await within.release();
    await past.release();
  });

  it('spends a budget across both repos on the networks slowest to load again: the UNet, then the prior', async () => {
    const unet = networkBytes(join(modelsDir, 'kandinsky-2-2-decoder', 'unet'));
    const prior = networkBytes(join(modelsDir, 'kandinsky-2-2-prior', 'prior'));
    const engine = new Engine({ memoryBudget: unet + prior });
    await engine.generate(text2img);
    const pipelines = [...(engine as unknown as { pipelines: Map<string, Record<string, { value?: unknown }>> }).pipelines.values()];
    const loaded = (name: string) => pipelines.some((p) => p[name] !== undefined && p[name].value !== undefined);
    assert.deepEqual(['unet', 'prior', 'textEncoder', 'movq'].map(loaded), [true, true, false, false]);
    await engine.release();
  });
});
