import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { toPilImages } from '../../src/image/index.js';
import { tensor } from '../../src/tensor/index.js';

describe('toPilImages (diffusers numpy_to_pil)', () => {
  it('makes one RGB image per batch row', () => {
    const values = Float32Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => (i % 2 ? 1 : 0));
    const images = toPilImages(tensor(values, [2, 3, 4, 3]));
    assert.equal(images.length, 2);
    for (const image of images) {
      assert.deepEqual([image.mode, image.width, image.height, image.data.length], ['RGB', 4, 3, 36]);
      assert.deepEqual([...image.data.subarray(0, 4)], [0, 255, 0, 255]);
    }
  });

  it('rounds x * 255 half to even, as numpy .round() does', () => {
    // Each product is exactly k + 0.5 in float32.
    const values = Float32Array.of(0.5 / 255, 1.5 / 255, 2.5 / 255, 3.5 / 255, 0.5, 254.5 / 255);
    const [image] = toPilImages(tensor(values, [1, 1, 2, 3]));
    assert.deepEqual([...image.data], [0, 2, 2, 4, 128, 254]);
  });

  it('multiplies in float32 before rounding: 0.50784314f * 255 is 129.5 in float32, 129.49999988 in float64', () => {
    const x = Math.fround(129.5 / 255);
    assert.ok(x * 255 < 129.5);
    const [image] = toPilImages(tensor(Float32Array.of(x, 0, 1), [1, 1, 1, 3]));
    assert.deepEqual([...image.data], [130, 0, 255]);
  });

  it('refuses a tensor that is not [batch, height, width, 3] (NCHW, say)', () => {
    assert.throws(
      () => toPilImages(tensor(new Float32Array(48), [1, 3, 4, 4])),
      (e: unknown) => e instanceof InputError && /expected images of shape \[batch, height, width, 3\], got \[1, 3, 4, 4\]/.test(e.message),
    );
  });
});
