import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateNearest, keepMask, prepareMask } from '../../src/pipelines/inpaint.js';
import { tensor } from '../../src/tensor/index.js';

describe('inpainting mask', () => {
  it('binarises at 0.5 and inverts: white repaints (0), black keeps (1)', () => {
    const grey = { width: 3, height: 1, mode: 'L' as const, data: Uint8Array.from([0, 127, 128]) };
    assert.deepEqual([...keepMask([grey], 3, 1).data], [1, 1, 0]);
  });

  it('grows the repaint area up, left, up-left, down, right and down-right only', () => {
    const m = new Float32Array(25).fill(1);
    m[12] = 0; // the centre of a 5x5 latent mask
    const out = prepareMask(tensor(m, [1, 1, 5, 5]));
    const cleared = [...out.data.keys()].filter((i) => out.data[i] === 0).map((i) => [Math.floor(i / 5) - 2, (i % 5) - 2]);
    assert.deepEqual(cleared.sort(), [[-1, -1], [-1, 0], [0, -1], [0, 0], [0, 1], [1, 0], [1, 1]].sort());
  });

  it('judges neighbours on the original mask, not on cells it cleared', () => {
    const m = Float32Array.from([0, 1, 1, 1]);
    assert.deepEqual([...prepareMask(tensor(m, [1, 1, 1, 4])).data], [0, 0, 1, 1]);
  });

  it('samples pixel (8i, 8j) when shrinking by 8, as F.interpolate(mode="nearest")', () => {
    const x = new Float32Array(16 * 16).map((_, i) => i);
    const out = interpolateNearest(tensor(x, [1, 1, 16, 16]), 2, 2);
    assert.deepEqual([...out.data], [0, 8, 8 * 16, 8 * 16 + 8]);
  });
});
