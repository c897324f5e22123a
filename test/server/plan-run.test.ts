import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { Engine } from '../../src/generation/index.js';
import { decodePng, encodePng, type PilImage } from '../../src/image/index.js';
import { hintFromImage, type StepEvent } from '../../src/pipelines/index.js';
import {
  Catalogue, checkInput, InputValidationError, InvalidVersionError, planRun, renderOutputs, tqdmLines, type ImageResolver,
} from '../../src/server/models/index.js';
import { tinyModelDir, tinyModelDirWithoutDepth } from './tiny-models.js';

const AD9 = 'ad9d7879fbffa2874e1d909d1d37d9bc682889cc65b31f7bb00d2362619f194a';
const EA1 = 'ea1addaab376f4dc227f5368bbd8eff901820fd1cc14ed8cad63b29249e9d463';
const PRIOR = tinyModelDir('kandinsky-community/kandinsky-2-2-prior')!;
const DECODER = tinyModelDir('kandinsky-community/kandinsky-2-2-decoder')!;

const catalogue = new Catalogue(tinyModelDir);
const hosted = catalogue.model('ai-forever', 'kandinsky-2.2')!;
const own = (name: string) => catalogue.model('kandinsky', `kandinsky-2.2-${name}`)!;
const latest = (name: string) => own(name).definition.versions[0].id;

function grey(width: number, height: number, value: number): PilImage {
  return { width, height, mode: 'RGB', data: new Uint8Array(width * height * 3).fill(value) };
}
const dataUrl = (image: PilImage) => `data:image/png;base64,${encodePng(image).toString('base64')}`;

/** What the HTTP side hands in for data URLs: decode, or refuse with the decoder's own message. */
const resolveImage: ImageResolver = async (field, uri) => {
  const comma = uri.indexOf(',');
  return decodePng(Buffer.from(uri.slice(comma + 1), 'base64'), `input.${field}`);
};

describe('planRun for ai-forever/kandinsky-2.2', () => {
  it('builds the hosted flow with the schema defaults, draws a 16-bit seed and logs it', async () => {
    const plan = await planRun(hosted, AD9, { prompt: 'a red cat' }, resolveImage);
    assert.ok(Number.isInteger(plan.seed) && plan.seed >= 0 && plan.seed < 65536);
    assert.equal(plan.logPrelude, `Using seed: ${plan.seed}\n`);
    assert.deepStrictEqual(plan.request, {
      mode: 'text2img', prior: PRIOR, decoder: DECODER, prompt: 'a red cat', negativePrompt: null, width: 512, height: 512,
      numInferenceSteps: 75, numInferenceStepsPrior: 25, numOutputs: 1, seed: plan.seed, guidanceScale: 4, priorGuidanceScale: 4, flow: 'hosted',
    });
    assert.deepStrictEqual(plan.outputs, { kind: 'images', format: 'webp', names: ['out-0.webp'] });
    const defaults = await planRun(hosted, AD9, {}, resolveImage);
    assert.equal(defaults.request.prompt, 'A moss covered astronaut with a black background');
  });

  it('uses a given seed, negative prompt and format, and names the files out-{i}.{format}', async () => {
    const plan = await planRun(hosted, AD9, { negative_prompt: 'blur', seed: 4697, num_outputs: 2, output_format: 'jpeg' }, resolveImage);
    assert.equal(plan.seed, 4697);
    assert.equal(plan.request.negativePrompt, 'blur');
    assert.deepStrictEqual(plan.outputs, { kind: 'images', format: 'jpeg', names: ['out-0.jpeg', 'out-1.jpeg'] });
  });

  it('writes PNG on the older versions, whatever output_format says', async () => {
    const plan = await planRun(hosted, EA1, { output_format: 'jpeg', num_outputs: 2 }, resolveImage);
    assert.deepStrictEqual(plan.outputs, { kind: 'images', format: 'png', names: ['out-0.png', 'out-1.png'] });
  });

  it('refuses a bad input with its invalid_fields and a version of another model', async () => {
    await assert.rejects(planRun(hosted, AD9, { width: 1000 }, resolveImage), (err: unknown) =>
      err instanceof InputValidationError && err.fields.length === 1 && err.fields[0].field === 'input.width');
    await assert.rejects(planRun(hosted, latest('prior'), {}, resolveImage), InvalidVersionError);
  });
});

describe('planRun for the kandinsky/* models', () => {
  const image = grey(64, 48, 128);
  const mask = grey(64, 48, 255);

  it('img2img: the image and strength', async () => {
    const plan = await planRun(own('img2img'), latest('img2img'), { prompt: 'p', image: dataUrl(image), strength: 0.5, width: 384, height: 384 }, resolveImage);
    assert.equal(plan.request.mode, 'img2img');
    assert.deepStrictEqual(plan.request.image, image);
    assert.equal(plan.request.strength, 0.5);
    assert.equal(plan.request.flow, undefined);
    assert.deepStrictEqual([plan.request.prior, plan.request.decoder, plan.request.guidanceScale], [PRIOR, DECODER, 4]);
  });

  it('inpaint: the image and mask on the inpainting decoder', async () => {
    const plan = await planRun(own('inpaint'), latest('inpaint'), { prompt: 'p', image: dataUrl(image), mask: dataUrl(mask) }, resolveImage);
    assert.equal(plan.request.mode, 'inpaint');
    assert.equal(plan.request.decoder, tinyModelDir('kandinsky-community/kandinsky-2-2-decoder-inpaint'));
    assert.deepStrictEqual([plan.request.image, plan.request.mask], [image, mask]);
  });

  it('controlnet-depth: the hint at the output size, and image-to-image when an image is given', async () => {
    const input = { prompt: 'p', hint: dataUrl(mask), width: 384, height: 512 };
    const plain = await planRun(own('controlnet-depth'), latest('controlnet-depth'), input, resolveImage);
    assert.equal(plain.request.mode, 'controlnet');
    assert.equal(plain.request.decoder, tinyModelDir('kandinsky-community/kandinsky-2-2-controlnet-depth'));
    assert.deepStrictEqual(plain.request.hint, hintFromImage(mask, 384, 512));
    const withImage = await planRun(own('controlnet-depth'), latest('controlnet-depth'), { ...input, image: dataUrl(image), strength: 0.7 }, resolveImage);
    assert.equal(withImage.request.mode, 'controlnet_img2img');
    assert.equal(withImage.request.strength, 0.7);
  });

  it('controlnet-depth: depth_from_image has the engine estimate the hint; the depth map is the last output', async () => {
    const input = { prompt: 'p', depth_from_image: dataUrl(image), width: 384, height: 384, num_inference_steps: 1, num_inference_steps_prior: 2 };
    const plan = await planRun(own('controlnet-depth'), latest('controlnet-depth'), input, resolveImage);
    assert.equal(plan.request.hint, undefined);
    assert.deepStrictEqual(plan.request.hintFrom, { photo: image, depthModel: tinyModelDir('Intel/dpt-large') });
    const engine = new Engine();
    const result = await engine.generate(plan.request);
    await engine.release();
    const outputs = await renderOutputs(plan.outputs, result);
    assert.deepEqual(outputs.map((o) => [o.name, o.contentType]), [['out-0.webp', 'image/webp'], ['depth.png', 'image/png']]);
    const depth = decodePng(Buffer.from(outputs[1].bytes), 'depth.png');
    assert.deepEqual([depth.width, depth.height, depth.mode], [image.width, image.height, 'L']);
  });

  it('controlnet-depth: refuses neither or both of hint and depth_from_image, and a photo without a depth model', async () => {
    const refused = (pattern: RegExp) => (err: unknown) => err instanceof InputValidationError && pattern.test(JSON.stringify(err.fields));
    await assert.rejects(planRun(own('controlnet-depth'), latest('controlnet-depth'), { prompt: 'p' }, resolveImage), refused(/"field":"input","description":"hint is required \(or depth_from_image\)"/));
    await assert.rejects(planRun(own('controlnet-depth'), latest('controlnet-depth'), { prompt: 'p', hint: dataUrl(mask), depth_from_image: dataUrl(image) }, resolveImage),
      refused(/input.depth_from_image.*Give hint or depth_from_image, not both/));
    const noDepth = new Catalogue(tinyModelDirWithoutDepth).model('kandinsky', 'kandinsky-2.2-controlnet-depth')!;
    await assert.rejects(planRun(noDepth, noDepth.definition.versions[0].id, { prompt: 'p', depth_from_image: dataUrl(image) }, resolveImage),
      refused(/Depth estimation is not available on this server \(Intel\/dpt-large/));
  });

  it('fuse: texts then images with their weights, equal weights when none are given', async () => {
    const plan = await planRun(own('fuse'), latest('fuse'), { texts: ['a cat', 'a dog'], images: [dataUrl(image)], weights: [0.2, 0.3, 0.5] }, resolveImage);
    assert.equal(plan.request.mode, 'fuse');
    assert.deepStrictEqual(plan.request.mix, [{ text: 'a cat', weight: 0.2 }, { text: 'a dog', weight: 0.3 }, { image, weight: 0.5 }]);
    const equal = await planRun(own('fuse'), latest('fuse'), { texts: ['a', 'b'] }, resolveImage);
    assert.deepStrictEqual(equal.request.mix, [{ text: 'a', weight: 0.5 }, { text: 'b', weight: 0.5 }]);
    await assert.rejects(planRun(own('fuse'), latest('fuse'), { texts: ['a', 'b'], weights: [1] }, resolveImage), (err: unknown) =>
      err instanceof InputValidationError &&
      JSON.stringify(err.fields) === '[{"type":"array_min_items","field":"input.weights","description":"Array must have at least 2 items"}]');
    await assert.rejects(planRun(own('fuse'), latest('fuse'), {}, resolveImage), (err: unknown) =>
      err instanceof InputValidationError && err.fields[0].field === 'input.texts');
  });

  it('prior: the prior alone, its output one JSON file', async () => {
    const plan = await planRun(own('prior'), latest('prior'), { prompt: 'p', num_inference_steps: 3, num_outputs: 2, seed: 7 }, resolveImage);
    assert.deepStrictEqual(plan.request, {
      mode: 'prior', prior: PRIOR, prompt: 'p', negativePrompt: null, numInferenceStepsPrior: 3, numOutputs: 2, priorGuidanceScale: 4, seed: 7,
    });
    assert.deepStrictEqual(plan.outputs, { kind: 'embeddings', name: 'out.json' });
  });

  it('refuses, as a 422 on input.strength, an img2img whose int(steps x strength) is 0 (no denoising step would run)', async () => {
    const refusedOnStrength = (err: unknown) =>
      err instanceof InputValidationError && err.fields.length === 1 && err.fields[0].type === 'number_gte' && err.fields[0].field === 'input.strength' &&
      /^Must be greater than or equal to 0\.5 \(with num_inference_steps 2, strength 0\.3 leaves no denoising step\)$/.test(err.fields[0].description);
    const input = { prompt: 'p', image: dataUrl(image), num_inference_steps: 2 };
    await assert.rejects(planRun(own('img2img'), latest('img2img'), input, resolveImage), refusedOnStrength);
    await assert.rejects(planRun(own('img2img'), latest('img2img'), { ...input, num_inference_steps: 75, strength: 0 }, resolveImage), InputValidationError);
    assert.equal((await planRun(own('img2img'), latest('img2img'), { ...input, strength: 0.5 }, resolveImage)).request.strength, 0.5);
    const depth = { prompt: 'p', hint: dataUrl(mask), num_inference_steps: 2 };
    await assert.rejects(planRun(own('controlnet-depth'), latest('controlnet-depth'), { ...depth, image: dataUrl(image) }, resolveImage), refusedOnStrength);
    // Without an image, controlnet starts from noise and runs every step: strength does not matter.
    assert.equal((await planRun(own('controlnet-depth'), latest('controlnet-depth'), { ...depth, strength: 0 }, resolveImage)).request.mode, 'controlnet');
  });

  it('turns an image that does not decode into a format entry on its field, every bad one at once', async () => {
    const input = { prompt: 'p', image: 'data:image/png;base64,bm90IGEgcG5n', mask: 'data:image/png;base64,' };
    await assert.rejects(planRun(own('inpaint'), latest('inpaint'), input, resolveImage), (err: unknown) => {
      assert.ok(err instanceof InputValidationError && err instanceof InputError);
      assert.deepEqual(err.fields.map((f) => [f.type, f.field]), [['format', 'input.image'], ['format', 'input.mask']]);
      assert.match(err.fields[0].description, /^Does not match format 'image': input\.image/);
      return true;
    });
  });
});

describe('checkInput', () => {
  it('refuses what planRun refuses, and otherwise gives the values with the defaults and the decoded images, drawing no seed', async () => {
    await assert.rejects(checkInput(hosted, AD9, { width: 1000 }, resolveImage), (err: unknown) => err instanceof InputValidationError && err.fields[0].field === 'input.width');
    await assert.rejects(checkInput(hosted, latest('prior'), {}, resolveImage), InvalidVersionError);
    const checked = await checkInput(hosted, AD9, { prompt: 'a red cat' }, resolveImage);
    assert.equal(checked.version.id, AD9);
    assert.deepStrictEqual(checked.values, {
      prompt: 'a red cat', width: 512, height: 512, num_inference_steps: 75, num_inference_steps_prior: 25, num_outputs: 1, output_format: 'webp',
    });
    const picture = grey(8, 8, 50);
    const img2img = await checkInput(own('img2img'), latest('img2img'), { prompt: 'p', image: dataUrl(picture) }, resolveImage);
    assert.deepStrictEqual(img2img.input.image('image'), picture);
  });
});

describe('a planned run on the engine', () => {
  const engine = new Engine();
  after(() => engine.release());

  it('runs the hosted text2img at 384px with 2 steps: both prior runs, the decoder, and a WebP out-0.webp', async () => {
    const input = { prompt: 'a red cat', width: 384, height: 384, num_inference_steps: 2, num_inference_steps_prior: 2, seed: 42 };
    const plan = await planRun(hosted, AD9, input, resolveImage);
    const events: StepEvent[] = [];
    const result = await engine.generate(plan.request, { onStep: (e) => events.push(e) });
    assert.deepEqual(events.map((e) => `${e.stage} ${e.step}/${e.total}`), ['prior 1/2', 'prior 2/2', 'negative_prior 1/2', 'negative_prior 2/2', 'decoder 1/2', 'decoder 2/2']);
    assert.equal(events.flatMap(tqdmLines).length, 9);
    const [file] = await renderOutputs(plan.outputs, result);
    assert.equal(file.name, 'out-0.webp');
    assert.equal(file.contentType, 'image/webp');
    assert.equal(Buffer.from(file.bytes.subarray(8, 12)).toString('latin1'), 'WEBP');
  });

  it('writes the prior model\'s embeddings as {image_embeds, negative_image_embeds} lists', async () => {
    const plan = await planRun(own('prior'), latest('prior'), { prompt: 'p', num_inference_steps: 2, num_outputs: 2, seed: 1 }, resolveImage);
    const result = await engine.generate(plan.request);
    const [file] = await renderOutputs(plan.outputs, result);
    assert.deepEqual([file.name, file.contentType], ['out.json', 'application/json']);
    const json = JSON.parse(new TextDecoder().decode(file.bytes)) as { image_embeds: number[][]; negative_image_embeds: number[][] };
    const [n, e] = result.imageEmbeds!.shape;
    assert.equal(n, 2);
    assert.deepEqual(json.image_embeds.map((r) => r.length), [e, e]);
    assert.deepEqual(json.image_embeds[1], Array.from(result.imageEmbeds!.data.subarray(e, 2 * e)));
    assert.equal(json.negative_image_embeds.length, 2);
  });
});
