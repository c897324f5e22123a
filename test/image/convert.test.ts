import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { convert, type PilImage } from '../../src/image/index.js';

function image(mode: PilImage['mode'], width: number, data: number[], palette?: number[]): PilImage {
  const bands = { '1': 1, L: 1, LA: 2, P: 1, RGB: 3, RGBA: 4 }[mode];
  const height = data.length / bands / width;
  return palette ? { width, height, mode, data: Uint8Array.from(data), palette: Uint8Array.from(palette) } : { width, height, mode, data: Uint8Array.from(data) };
}

describe("convert(image, 'RGB')", () => {
  it('drops alpha without compositing onto any background', () => {
    const out = convert(image('RGBA', 2, [200, 100, 50, 0, 1, 2, 3, 128]), 'RGB');
    assert.deepEqual([out.mode, out.width, out.height, ...out.data], ['RGB', 2, 1, 200, 100, 50, 1, 2, 3]);
  });

  it('replicates grey into the three channels (L, LA, 1)', () => {
    assert.deepEqual([...convert(image('L', 2, [7, 250]), 'RGB').data], [7, 7, 7, 250, 250, 250]);
    assert.deepEqual([...convert(image('LA', 1, [9, 0]), 'RGB').data], [9, 9, 9]);
    assert.deepEqual([...convert(image('1', 2, [255, 0]), 'RGB').data], [255, 255, 255, 0, 0, 0]);
  });

  it('looks palette indices up in the palette', () => {
    const palette = new Array(768).fill(0);
    palette.splice(3 * 5, 3, 11, 22, 33);
    const out = convert(image('P', 2, [5, 0], palette), 'RGB');
    assert.deepEqual([...out.data], [11, 22, 33, 0, 0, 0]);
  });

  it('refuses a palette image without a palette', () => {
    assert.throws(() => convert(image('P', 1, [0]), 'RGB'), InputError);
  });
});

describe("convert(image, 'L')", () => {
  it('uses ITU-R 601-2 luma in fixed point: (r*19595 + g*38470 + b*7471 + 0x8000) >> 16', () => {
    // Pure red, green, blue, white and a grey: 76.7 -> 76, 150.2 -> 150, 29.6 -> 29, 255, 128.
    const out = convert(image('RGB', 5, [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 128, 128, 128]), 'L');
    assert.deepEqual([out.mode, ...out.data], ['L', 76, 150, 29, 255, 128]);
  });

  it('ignores alpha of RGBA and LA', () => {
    assert.deepEqual([...convert(image('RGBA', 1, [255, 0, 0, 3]), 'L').data], [76]);
    assert.deepEqual([...convert(image('LA', 1, [42, 0]), 'L').data], [42]);
  });

  it('takes the luma of the palette colour for mode P', () => {
    const palette = new Array(768).fill(0);
    palette.splice(3, 3, 0, 255, 0);
    assert.deepEqual([...convert(image('P', 1, [1], palette), 'L').data], [150]);
  });
});
