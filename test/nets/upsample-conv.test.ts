import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upsampleNearest2xConv3x3 } from '../../src/nets/upsample-conv.js';
import { Graph, NetworkSession } from '../../src/onnx/index.js';
import { tensor } from '../../src/tensor/index.js';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.37 + seed));

async function run(build: (g: Graph, x: string, w: string, b: string) => string, x: Float32Array, shape: number[], w: Float32Array, b: Float32Array) {
  const g = new Graph('t');
  const out = build(g, g.input('x', 'float32', ['b', shape[1], 'h', 'w']), g.constant(w, [4, shape[1], 3, 3]), g.constant(b, [4]));
  g.output(out, 'y');
  const s = await NetworkSession.create(g, { cacheDir: null });
  const y = (await s.run({ x: tensor(x, shape) })).y;
  await s.release();
  return y;
}

describe('upsampleNearest2xConv3x3', () => {
  for (const shape of [[1, 3, 5, 7], [2, 3, 4, 4], [1, 3, 1, 1]]) {
    it(`equals a 3x3 conv of the nearest-upsampled map for ${shape.join('x')}`, async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = values(n, 1);
      const w = values(4 * shape[1] * 9, 2);
      const b = values(4, 3);
      const direct = await run((g, xv, wv, bv) => g.conv2d(g.upsampleNearest(xv, 2, 2), wv, bv, { pad: 1 }), x, shape, w, b);
      const phased = await run((g, xv, wv, bv) => upsampleNearest2xConv3x3(g, xv, wv, bv), x, shape, w, b);
      assert.deepEqual(phased.shape, [shape[0], 4, 2 * shape[2], 2 * shape[3]]);
      assert.deepEqual(phased.shape, direct.shape);
      let max = 0;
      for (let i = 0; i < direct.data.length; i++) max = Math.max(max, Math.abs(direct.data[i] - phased.data[i]));
      assert.ok(max < 1e-5, `max difference ${max}`);
    });
  }
});
