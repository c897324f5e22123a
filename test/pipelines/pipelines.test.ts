import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { readPng } from '../../src/image/index.js';
import {
  AbortedError, generateCombined, HOSTED_NEGATIVE_SUFFIX, KandinskyV22ControlnetImg2ImgPipeline, KandinskyV22InpaintPipeline,
  KandinskyV22Pipeline, KandinskyV22PriorPipeline, priorEmbeddings, type StepEvent,
} from '../../src/pipelines/index.js';
import { TorchGenerator } from '../../src/random/index.js';
import { rows, tensor, type Float32Tensor } from '../../src/tensor/index.js';
import { goldenDir, modelsDir } from '../helpers/fixtures.js';

const prior = new KandinskyV22PriorPipeline(join(modelsDir, 'kandinsky-2-2-prior'), { keepLoaded: true });
const decoder = new KandinskyV22Pipeline(join(modelsDir, 'kandinsky-2-2-decoder'), { keepLoaded: true });
after(() => Promise.all([prior.release(), decoder.release()]));

const seeded = (seed: number) => new TorchGenerator().manualSeed(seed);
const embeds = (rowsCount: number, seed: number): Float32Tensor => seeded(seed).randn([rowsCount, 32]);
const maxDiff = (a: Float32Tensor, b: Float32Tensor) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i])), 0);

describe('pipelines: progress and cancellation', () => {
  it('reports every step of every stage, in order', async () => {
    const events: StepEvent[] = [];
    await generateCombined(prior, decoder, { prompt: 'a cat', priorNumInferenceSteps: 2, generator: seeded(1), onStep: (e) => events.push(e) },
      { height: 64, width: 64, numInferenceSteps: 3 });
    assert.deepEqual(events.map((e) => `${e.stage} ${e.step}/${e.total}`), ['prior 1/2', 'prior 2/2', 'decoder 1/3', 'decoder 2/3', 'decoder 3/3']);
    assert.ok(events.every((e) => e.elapsed >= 0));
  });

  it('stops between steps when its signal aborts, and releases what it loaded', async () => {
    const own = new KandinskyV22Pipeline(join(modelsDir, 'kandinsky-2-2-decoder'));
    const controller = new AbortController();
    const steps: number[] = [];
    await assert.rejects(own.call({
      imageEmbeds: embeds(1, 2), negativeImageEmbeds: embeds(1, 3), height: 64, width: 64, numInferenceSteps: 5, generator: seeded(4),
      signal: controller.signal,
      onStep: (e) => { steps.push(e.step); if (e.step === 2) controller.abort(); },
    }), AbortedError);
    assert.deepEqual(steps, [1, 2]);
    // Nothing is held: the next load is a fresh one (a released session cannot be run).
    assert.equal((own.unet as unknown as { value?: unknown }).value, undefined);
  });

  it('refuses a signal that is already aborted before loading anything', async () => {
    await assert.rejects(decoder.call({ imageEmbeds: embeds(1, 2), negativeImageEmbeds: embeds(1, 3), height: 64, width: 64, numInferenceSteps: 2, signal: AbortSignal.abort() }), AbortedError);
  });
});

describe('pipelines: generators and batches', () => {
  it('draws row i from generator i when given a list, as diffusers\' randn_tensor does', async () => {
    const common = { imageEmbeds: embeds(1, 5), negativeImageEmbeds: embeds(1, 6), height: 64, width: 64, numInferenceSteps: 2, outputType: 'latent' as const };
    const both = await decoder.call({ ...common, numImagesPerPrompt: 2, generator: [seeded(7), seeded(8)] });
    const first = await decoder.call({ ...common, generator: seeded(7) });
    const second = await decoder.call({ ...common, generator: seeded(8) });
    assert.ok(maxDiff(rows(both.images, 0, 1), first.images) < 1e-5);
    assert.ok(maxDiff(rows(both.images, 1, 2), second.images) < 1e-5);
    await assert.rejects(decoder.call({ ...common, generator: [seeded(1), seeded(2), seeded(3)] }), /3 generators, but the batch has 1 rows/);
  });

  it('starts from given latents instead of drawing them', async () => {
    const common = { imageEmbeds: embeds(1, 5), negativeImageEmbeds: embeds(1, 6), height: 64, width: 64, numInferenceSteps: 2, outputType: 'latent' as const };
    // The same draws taken by hand: latents first, then the steps' noise from the same generator.
    const g = seeded(9);
    const latents = g.randn([1, 4, 8, 8]);
    const given = await decoder.call({ ...common, latents, generator: g });
    const drawn = await decoder.call({ ...common, generator: seeded(9) });
    assert.deepEqual([...given.images.data], [...drawn.images.data]);
    await assert.rejects(decoder.call({ ...common, latents: seeded(9).randn([1, 4, 4, 4]) }), /latents: shape \[1, 4, 4, 4\], expected \[1, 4, 8, 8\]/);
  });

  it('refuses bad arguments before any work', async () => {
    const common = { imageEmbeds: embeds(1, 5), negativeImageEmbeds: embeds(1, 6), height: 64, width: 64 };
    await assert.rejects(decoder.call({ ...common, numInferenceSteps: 0 }), /numInferenceSteps must be an integer of at least 1, got 0/);
    await assert.rejects(decoder.call({ ...common, numImagesPerPrompt: 1.5 }), InputError);
    await assert.rejects(decoder.call({ ...common, negativeImageEmbeds: embeds(2, 6) }), /must both be \[B, E\]/);
    await assert.rejects(prior.call({ prompt: ['a', 'b'], negativePrompt: ['c'] }), /1 negative prompts for 2 prompts/);
  });
});

describe('pipelines: flows without a golden case', () => {
  it('the hosted flow runs the prior on the negative text plus its fixed suffix', async () => {
    const hosted = await priorEmbeddings(prior, { prompt: 'a cat', negativePrompt: 'blurry, ', priorNumInferenceSteps: 2, generator: seeded(11), flow: 'hosted' });
    const g = seeded(11);
    const positive = await prior.call({ prompt: 'a cat', numInferenceSteps: 2, generator: g });
    const negative = await prior.call({ prompt: `blurry, ${HOSTED_NEGATIVE_SUFFIX}`, numInferenceSteps: 2, generator: g });
    assert.deepEqual([...hosted.imageEmbeds.data], [...positive.imageEmbeds.data]);
    assert.deepEqual([...hosted.negativeImageEmbeds.data], [...negative.imageEmbeds.data]);
  });

  it('ControlNet image-to-image runs the strength-cut schedule with the hint', async () => {
    const pipe = new KandinskyV22ControlnetImg2ImgPipeline(join(modelsDir, 'kandinsky-2-2-controlnet-depth'));
    const events: StepEvent[] = [];
    const hint = tensor(new Float32Array(3 * 64 * 64).fill(0.5), [1, 3, 64, 64]);
    const out = await pipe.call({
      imageEmbeds: embeds(1, 12), negativeImageEmbeds: embeds(1, 13), hint, image: readPng(join(goldenDir, 'images/inputs/rgb_64.png')),
      strength: 0.5, height: 64, width: 64, numInferenceSteps: 6, generator: seeded(14), onStep: (e) => events.push(e),
    });
    assert.deepEqual(out.images.shape, [1, 64, 64, 3]);
    assert.deepEqual(events.map((e) => e.total), [3, 3, 3]);
    assert.ok(out.images.data.every((v) => v >= 0 && v <= 1));
    await assert.rejects(pipe.call({ imageEmbeds: embeds(1, 12), negativeImageEmbeds: embeds(1, 13), hint, image: readPng(join(goldenDir, 'images/inputs/rgb_64.png')), height: 128, width: 64, numInferenceSteps: 2 }),
      /hint: 64x64 pixels, expected the output size 64x128/);
  });

  it('refuses a repo whose UNet is not the form the pipeline drives, before loading it', async () => {
    const common = { imageEmbeds: embeds(1, 1), negativeImageEmbeds: embeds(1, 2), height: 64, width: 64, numInferenceSteps: 1 };
    await assert.rejects(new KandinskyV22Pipeline(join(modelsDir, 'kandinsky-2-2-decoder-inpaint')).call(common),
      /this pipeline needs a plain decoder \(kandinsky-2-2-decoder\); its UNet is an inpainting decoder/);
    await assert.rejects(new KandinskyV22InpaintPipeline(join(modelsDir, 'kandinsky-2-2-controlnet-depth')).call({ ...common, image: readPng(join(goldenDir, 'images/inputs/rgb_64.png')), maskImage: readPng(join(goldenDir, 'images/inputs/mask_64.png')) }),
      /needs an inpainting decoder .*; its UNet is a ControlNet decoder/);
  });

  it('inpainting refuses a size whose latents would not line up with the mask', async () => {
    const pipe = new KandinskyV22InpaintPipeline(join(modelsDir, 'kandinsky-2-2-decoder-inpaint'));
    const img = readPng(join(goldenDir, 'images/inputs/rgb_64.png'));
    await assert.rejects(pipe.call({ imageEmbeds: embeds(1, 1), negativeImageEmbeds: embeds(1, 2), image: img, maskImage: img, height: 72, width: 64, numInferenceSteps: 1 }),
      /multiples of 64/);
  });
});
