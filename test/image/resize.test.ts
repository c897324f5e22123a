import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { convert, readPng, resize, type PilImage } from '../../src/image/index.js';
import { goldenDir } from '../helpers/fixtures.js';

const inputs = join(goldenDir, 'images', 'inputs');

function grey(width: number, height: number, f: (x: number, y: number) => number): PilImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y) % 256;
  return { width, height, mode: 'L', data };
}

function sha256(image: PilImage): string {
  return createHash('sha256').update(image.data).digest('hex');
}

/** Architecture doc §3.3 written out for one row: kernel weights, normalised, 22-bit fixed point. */
function lanczosRow(src: number[], outWidth: number): number[] {
  const sinc = (x: number) => (x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI));
  const kernel = (x: number) => (-3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0);
  const scale = src.length / outWidth;
  const fs = Math.max(scale, 1);
  const support = 3 * fs;
  return Array.from({ length: outWidth }, (_, i) => {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), src.length);
    const w = Array.from({ length: hi - lo }, (_, k) => kernel((k + lo - center + 0.5) / fs));
    const sum = w.reduce((a, b) => a + b, 0);
    const fixed = w.map((v) => Math.sign(v) * Math.trunc(Math.abs(v / sum) * 2 ** 22 + 0.5));
    const acc = fixed.reduce((a, c, k) => a + c * src[lo + k], 2 ** 21);
    return Math.min(255, Math.max(0, Math.floor(acc / 2 ** 22)));
  });
}

describe('resize', () => {
  it('returns an equal copy when the size is unchanged', () => {
    const image = grey(5, 4, (x, y) => x * 50 + y * 3);
    const out = resize(image, 5, 4, { filter: 'lanczos', reducingGap: 1 });
    assert.deepEqual([...out.data], [...image.data]);
    assert.notEqual(out.data, image.data);
  });

  it('keeps a flat image flat when upscaling with bicubic (weights are normalised)', () => {
    const out = resize(grey(3, 2, () => 77), 10, 7);
    assert.ok(out.data.every((v) => v === 77));
    assert.deepEqual([out.width, out.height], [10, 7]);
  });

  it('computes a lanczos downscale as the fixed-point formula does', () => {
    const src = [0, 40, 200, 255, 90, 10];
    const row: PilImage = { width: 6, height: 1, mode: 'L', data: Uint8Array.from(src) };
    for (const [width, pillow] of [[2, [104, 133]], [4, [0, 162, 215, 21]]] as const) {
      const out = [...resize(row, width, 1, { filter: 'lanczos' }).data];
      assert.deepEqual(out, lanczosRow(src, width));
      assert.deepEqual(out, pillow, 'Pillow 9.4 gives these values');
    }
  });

  it('clips bicubic overshoot to 0..255', () => {
    const out = resize({ width: 6, height: 1, mode: 'L', data: Uint8Array.from([0, 40, 200, 255, 90, 10]) }, 9, 1);
    assert.deepEqual([...out.data], [0, 9, 61, 178, 248, 239, 115, 38, 5]);
  });

  it('with reducingGap 1 and an exact factor, box-reduces only: rounded block means', () => {
    const image = grey(8, 8, (x, y) => x * 31 + y * 17);
    const out = resize(image, 2, 2, { reducingGap: 1 });
    const blockMean = (bx: number, by: number) => {
      let sum = 0;
      for (let y = 4 * by; y < 4 * by + 4; y++) for (let x = 4 * bx; x < 4 * bx + 4; x++) sum += image.data[y * 8 + x];
      return (sum + 8) >> 4;
    };
    assert.deepEqual([...out.data], [blockMean(0, 0), blockMean(1, 0), blockMean(0, 1), blockMean(1, 1)]);
    assert.deepEqual([...out.data], [72, 180, 140, 120], 'Pillow 9.4 gives these values');
    assert.deepEqual([...resize(image, 2, 2).data], [82, 182, 147, 128], 'without the gap: a true bicubic downscale');
  });

  it('with reducingGap, resamples the reduced image over a fractional box (partial edge blocks)', () => {
    const image = grey(10, 10, (x, y) => x * 25 + y * 7 + ((x * y) % 13));
    // 10 / 3 / 1 -> factor 3: reduce to 4x4 (last row/column from 1-pixel blocks), then box 0..3.33.
    assert.deepEqual([...resize(image, 3, 3, { reducingGap: 1 }).data], [40, 125, 203, 65, 157, 172, 89, 172, 141]);
    assert.deepEqual([...resize(image, 3, 3).data], [41, 126, 208, 67, 156, 185, 90, 180, 143]);
  });

  it('resizes RGBA premultiplied, so a transparent neighbour does not bleed its colour', () => {
    const image: PilImage = { width: 2, height: 1, mode: 'RGBA', data: Uint8Array.from([255, 0, 0, 255, 0, 0, 255, 0]) };
    assert.deepEqual([...resize(image, 1, 1, { filter: 'bilinear' }).data], [255, 0, 0, 128]);
  });

  it('picks nearest source pixels by accumulating in/out steps', () => {
    const out = resize({ width: 3, height: 1, mode: 'L', data: Uint8Array.from([10, 20, 30]) }, 5, 1, { filter: 'nearest' });
    assert.deepEqual([...out.data], [10, 10, 20, 30, 30]);
  });

  it('always uses nearest for palette images and keeps the palette', () => {
    const palette = new Uint8Array(768).fill(9);
    const image: PilImage = { width: 2, height: 1, mode: 'P', data: Uint8Array.from([3, 200]), palette };
    const out = resize(image, 4, 1, { filter: 'bicubic' });
    assert.deepEqual([out.mode, ...out.data], ['P', 3, 3, 200, 200]);
    assert.equal(out.palette, palette);
  });

  it('matches Pillow 9.4 on the golden inputs, as the pipelines resize them', () => {
    // Digests of Pillow 9.4.0's `Image.resize` output bytes for the same calls.
    const mask = readPng(join(inputs, 'mask_soft_100x60.png'));
    assert.equal(sha256(resize(mask, 128, 64, { filter: 'lanczos' })), '08e571cbe6d8023dfe54673b2757691724d81dd9cbe6ed14eb014e982e4e3e63');
    const rgb = readPng(join(inputs, 'rgb_150x90.png'));
    assert.equal(sha256(resize(rgb, 128, 64, { reducingGap: 1 })), '19dade8c656d73de795d1553c0e4578ec06ad4ae642932c4bd2bbe047aef27ef');
    const pal = convert(readPng(join(inputs, 'pal_397x261.png')), 'RGB');
    assert.equal(sha256(resize(pal, 128, 64, { reducingGap: 1 })), '03dbcc67121c2dec211d6a64aef89ef40d95aeeedaeef3a850cc66e14cd0731d');
    assert.equal(sha256(resize(pal, 61, 40, { filter: 'lanczos', reducingGap: 2 })), '84b817b2f787557e392123a81c165ffaad058883b628877a0826bac67f2c6879');
    const rgba = readPng(join(inputs, 'rgba_120x80.png'));
    assert.equal(sha256(resize(rgba, 50, 33, { reducingGap: 1 })), 'cd5541812dc0ae8789e8b9aecb10ced68bc092d615b141d549bc36f748b0d015');
  });

  it('refuses a size that is not a positive integer, and a gap below 1', () => {
    const image = grey(2, 2, () => 0);
    assert.throws(() => resize(image, 0, 2), InputError);
    assert.throws(() => resize(image, 2.5, 2), InputError);
    assert.throws(() => resize(image, 1, 1, { reducingGap: 0.5 }), (e: unknown) => e instanceof InputError && /reducingGap/.test(e.message));
  });
});
