import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, InputError } from '../../src/errors.js';
import { CLIPImageProcessor, readPng, type PilImage } from '../../src/image/index.js';
import { readFloat32, readSafetensors } from '../../src/weights/safetensors.js';
import { goldenDir, modelsDir } from '../helpers/fixtures.js';

interface ProcessorCase {
  name: string;
  kind: string;
  model: string;
  component: string;
  tensors: string;
  inputs: { image: { image: string } };
  expected: { pixel_values: { tensor: string } };
  tolerance: { max_abs: number };
}

const manifest = JSON.parse(readFileSync(join(goldenDir, 'manifest.json'), 'utf8')) as { models_dir: string; cases: ProcessorCase[] };
const cases = manifest.cases.filter((c) => c.kind === 'clip_image_processor');
const priorProcessorDir = join(modelsDir, 'kandinsky-2-2-prior', 'image_processor');

function expectedTensor(c: ProcessorCase, key: string): { shape: readonly number[]; data: Float32Array } {
  const info = readSafetensors(join(goldenDir, c.tensors)).tensors.find((t) => t.name === key);
  assert.ok(info, `${c.tensors} has no tensor ${key}`);
  return { shape: info.shape, data: readFloat32(info) };
}

function withConfig(config: object, run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'kandinsky-processor-'));
  try {
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(config));
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLIPImageProcessor golden cases', () => {
  it('has clip_image_processor cases to run', () => {
    assert.ok(cases.length > 0);
  });

  for (const c of cases) {
    it(`${c.name}: pixel_values within ${c.tolerance.max_abs}`, () => {
      const processor = CLIPImageProcessor.fromPretrained(join(goldenDir, manifest.models_dir, c.model, c.component));
      const actual = processor.preprocess([readPng(join(goldenDir, c.inputs.image.image))]);
      const expected = expectedTensor(c, c.expected.pixel_values.tensor);
      assert.deepEqual(actual.shape, expected.shape);
      let maxAbs = 0;
      for (let i = 0; i < expected.data.length; i++) {
        assert.ok(!Number.isNaN(actual.data[i]), `NaN at ${i}`);
        maxAbs = Math.max(maxAbs, Math.abs(actual.data[i] - expected.data[i]));
      }
      assert.ok(maxAbs <= c.tolerance.max_abs, `max |actual - expected| = ${maxAbs}`);
    });
  }
});

describe('CLIPImageProcessor', () => {
  it("reads the published legacy config: size 224 is the shortest edge, bicubic, CLIP mean/std", () => {
    const { config } = CLIPImageProcessor.fromPretrained(priorProcessorDir);
    assert.deepEqual(config.size, { shortestEdge: 224 });
    assert.deepEqual(config.cropSize, { height: 224, width: 224 });
    assert.equal(config.resample, 'bicubic');
    assert.equal(config.doConvertRgb, true);
    assert.equal(config.doRescale, true);
    assert.equal(config.rescaleFactor, 1 / 255);
    assert.deepEqual(config.imageStd, [0.26862954, 0.26130258, 0.27577711]);
  });

  it('stacks a batch in order: [N, 3, crop, crop]', () => {
    const processor = CLIPImageProcessor.fromPretrained(priorProcessorDir);
    const a = readPng(join(goldenDir, 'images', 'inputs', 'rgb_64.png'));
    const b = readPng(join(goldenDir, 'images', 'inputs', 'gray_50x70.png'));
    const batch = processor.preprocess([a, b]);
    assert.deepEqual(batch.shape, [2, 3, 224, 224]);
    const plane = 3 * 224 * 224;
    assert.deepEqual(batch.data.subarray(plane), processor.preprocess([b]).data);
    assert.deepEqual(batch.data.subarray(0, plane), processor.preprocess([a]).data);
  });

  it('rescales and normalises in float32: f32(f32(p/255) - f32(mean)) / f32(std)', () => {
    withConfig({ size: 2, crop_size: 2, image_mean: [0.5, 0.25, 0.125], image_std: [0.5, 0.5, 0.5] }, (dir) => {
      const image: PilImage = { width: 2, height: 2, mode: 'RGB', data: Uint8Array.from([0, 255, 51, 0, 255, 51, 0, 255, 51, 0, 255, 51]) };
      const out = CLIPImageProcessor.fromPretrained(dir).preprocess([image]);
      const f = Math.fround;
      const at = (p: number, mean: number) => f(f(f(p * (1 / 255)) - f(mean)) / f(0.5));
      assert.deepEqual([out.data[0], out.data[4], out.data[8]], [at(0, 0.5), at(255, 0.25), at(51, 0.125)]);
      assert.equal(out.data[0], -1);
    });
  });

  it('pads with zero pixels when the crop is larger than the resized image', () => {
    withConfig({ size: 2, crop_size: 4, image_mean: [0, 0, 0], image_std: [1, 1, 1] }, (dir) => {
      const image: PilImage = { width: 2, height: 2, mode: 'L', data: Uint8Array.from([255, 255, 255, 255]) };
      const out = CLIPImageProcessor.fromPretrained(dir).preprocess([image]);
      // top = (2 - 4) // 2 = -1: the 2x2 image lands at rows/columns 1..2 of the 4x4 crop.
      const red = [...out.data.subarray(0, 16)];
      assert.deepEqual(red, [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    });
  });

  it('resizes a portrait image to the shortest edge with the long side int(224 * long / short)', () => {
    withConfig({ do_center_crop: false, do_normalize: false, do_rescale: false, size: { shortest_edge: 20 } }, (dir) => {
      const image: PilImage = { width: 30, height: 47, mode: 'L', data: new Uint8Array(30 * 47).fill(200) };
      const out = CLIPImageProcessor.fromPretrained(dir).preprocess([image]);
      assert.deepEqual(out.shape, [1, 3, Math.trunc((20 * 47) / 30), 20]);
      assert.ok(out.data.every((v) => v === 200));
    });
  });

  it('refuses a config with a resample filter it does not implement', () => {
    withConfig({ resample: 5 }, (dir) => {
      assert.throws(() => CLIPImageProcessor.fromPretrained(dir), (e: unknown) => e instanceof ConfigError && /preprocessor_config\.json: field "resample" is 5, expected 0 \(nearest\), 1 \(lanczos\), 2 \(bilinear\) or 3 \(bicubic\)/.test(e.message));
    });
  });

  it('refuses a malformed field and names it', () => {
    withConfig({ image_mean: [0.5, 0.5] }, (dir) => {
      assert.throws(() => CLIPImageProcessor.fromPretrained(dir), (e: unknown) => e instanceof ConfigError && /preprocessor_config\.json: field "image_mean" is \[0\.5,0\.5\], expected a list of 3 finite numbers/.test(e.message));
    });
  });

  it('refuses a resize or crop side beyond 4096, before any image is touched', () => {
    for (const config of [{ size: 1e6 }, { size: { shortest_edge: 1e9 } }, { crop_size: { height: 224, width: 5000 } }]) {
      withConfig(config, (dir) => {
        assert.throws(() => CLIPImageProcessor.fromPretrained(dir), (e: unknown) => e instanceof ConfigError && /field "(size|crop_size)" is .*, expected a side of 1 to 4096/.test(e.message));
      });
    }
  });

  it('refuses a folder without preprocessor_config.json', () => {
    assert.throws(() => CLIPImageProcessor.fromPretrained(join(tmpdir(), 'no-such-processor')), ConfigError);
  });

  it('refuses an empty batch and a batch of different sizes', () => {
    withConfig({ do_center_crop: false }, (dir) => {
      const processor = CLIPImageProcessor.fromPretrained(dir);
      assert.throws(() => processor.preprocess([]), InputError);
      const square: PilImage = { width: 4, height: 4, mode: 'RGB', data: new Uint8Array(48) };
      const wide: PilImage = { width: 8, height: 4, mode: 'RGB', data: new Uint8Array(96) };
      assert.throws(() => processor.preprocess([square, wide]), (e: unknown) => e instanceof InputError && /different sizes/.test(e.message));
    });
  });
});
