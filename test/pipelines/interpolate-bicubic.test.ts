import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateBicubic } from '../../src/pipelines/interpolate-bicubic.js';

describe('interpolateBicubic (PyTorch, align_corners=False)', () => {
  it('is the identity at the same size', () => {
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i));
    assert.deepEqual(interpolateBicubic(x, 3, 4, 3, 4), x);
  });

  it('keeps a constant plane constant, borders included (taps clamped, weights summing to 1)', () => {
    const out = interpolateBicubic(new Float32Array(6).fill(2), 2, 3, 5, 7);
    assert.ok(out.every((v) => Math.abs(v - 2) < 1e-5));
  });

  it('overshoots past a step, as Keys\' kernel with A = -0.75 does', () => {
    // [0, 0, 1, 1] to 8: source indices -0.25, 0.25, ..., 3.25; at 1.25 (t = 0.25) the taps 0, 0, 1, 1 weigh
    // cubic1(0.75) + cubic2(1.75) = 0.26171875 - 0.03515625.
    const out = interpolateBicubic(Float32Array.from([0, 0, 1, 1]), 1, 4, 1, 8);
    assert.ok(Math.abs(out[3] - (0.26171875 - 0.03515625)) < 1e-7, String(out[3]));
    assert.ok(out[1] < 0, 'undershoot before the step');
  });
});
