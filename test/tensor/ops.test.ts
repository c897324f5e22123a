import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunk, concat, guide, leadingChannels, repeatInterleave, tensor, tile } from '../../src/tensor/index.js';

const t = (values: number[], shape: number[]) => tensor(Float32Array.from(values), shape);

describe('tensor operations of the pipelines', () => {
  it('concatenates along the batch and along channels as torch.cat does', () => {
    const a = t([1, 2, 3, 4], [1, 2, 2]);
    const b = t([5, 6, 7, 8], [1, 2, 2]);
    assert.deepEqual([...concat([a, b]).data], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(concat([a, b], 1).shape, [1, 4, 2]);
    assert.deepEqual([...concat([a, b], 2).data], [1, 2, 5, 6, 3, 4, 7, 8]);
    assert.throws(() => concat([a, t([1, 2], [1, 1, 2])], 2), /differ off axis 2/);
  });

  it('keeps integer and boolean element types', () => {
    const mask = tensor(Uint8Array.from([1, 0]), [1, 2]);
    const out = repeatInterleave(concat([mask, mask]), 2);
    assert.ok(out.data instanceof Uint8Array);
    assert.deepEqual(out.shape, [4, 2]);
  });

  it('repeat_interleave repeats each row in place; tile repeats the whole batch', () => {
    const x = t([1, 2], [2, 1]);
    assert.deepEqual([...repeatInterleave(x, 2).data], [1, 1, 2, 2]);
    assert.deepEqual([...tile(x, 2).data], [1, 2, 1, 2]);
    assert.deepEqual(chunk(t([1, 2, 3, 4], [4]), 2).map((c) => [...c.data]), [[1, 2], [3, 4]]);
  });

  it('guides the leading channels in float32 and takes the rest from the conditional half', () => {
    // [uncond ; cond], 2 channels of 1 pixel: channel 0 guided, channel 1 (variance) from cond.
    const out = guide(t([0.1, 7, 0.3, 9], [2, 2, 1, 1]), 4, 1);
    assert.deepEqual(out.shape, [1, 2, 1, 1]);
    const f = Math.fround;
    assert.equal(out.data[0], f(f(f(f(0.3) - f(0.1)) * 4) + f(0.1)));
    assert.equal(out.data[1], 9);
    assert.deepEqual([...leadingChannels(out, 1).data], [out.data[0]]);
  });
});
