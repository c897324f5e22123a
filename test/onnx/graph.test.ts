import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WeightsError } from '../../src/errors.js';
import { Graph, NetworkSession, Weights } from '../../src/onnx/index.js';
import { tensor } from '../../src/tensor/index.js';
import { readFloat32, readSafetensors, writeSafetensors, type Checkpoint, type WeightDType } from '../../src/weights/index.js';

const W = [0.5, -1.25, 2, 0.125, -3, 1.5]; // [out 2, in 3], exact in every float format below
const B = [0.25, -0.5];

function encode(dtype: WeightDType, values: number[]): Uint8Array {
  const f32 = new Float32Array(values);
  const bits = new Uint32Array(f32.buffer);
  switch (dtype) {
    case 'F32': return new Uint8Array(f32.buffer);
    case 'F64': return new Uint8Array(new Float64Array(values).buffer);
    case 'BF16': return new Uint8Array(Uint16Array.from(bits, (b) => b >>> 16).buffer);
    case 'F16': return new Uint8Array(Uint16Array.from(values, toHalf).buffer);
    default: throw new Error(dtype);
  }
}

// Exact for the small dyadic values used here.
function toHalf(x: number): number {
  if (x === 0) return 0;
  const sign = x < 0 ? 0x8000 : 0;
  const e = Math.floor(Math.log2(Math.abs(x)));
  const frac = Math.abs(x) / 2 ** e - 1;
  return sign | ((e + 15) << 10) | Math.round(frac * 1024);
}

describe('Graph weights', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'kandinsky-graph-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const dtype of ['F32', 'F16', 'BF16', 'F64'] as WeightDType[]) {
    it(`runs a Linear whose ${dtype} weights stay in the file`, async () => {
      const path = join(dir, `linear-${dtype}.safetensors`);
      writeSafetensors(path, {
        // A leading odd-sized tensor puts the weights at unaligned offsets, as in real checkpoints.
        pad: { dtype: 'U8', shape: [3], bytes: new Uint8Array(3) },
        'fc.weight': { dtype, shape: [2, 3], bytes: encode(dtype, W) },
        'fc.bias': { dtype, shape: [2], bytes: encode(dtype, B) },
      });
      const tensors = new Map(readSafetensors(path).tensors.map((t) => [t.name, t]));
      assert.deepEqual([...readFloat32(tensors.get('fc.weight')!)], W);
      const g = new Graph('linear');
      const x = g.input('x', 'float32', ['batch', 3]);
      g.output(new Weights(g, { source: path, tensors }).linear(x, 'fc', 3, 2), 'y');
      const session = await NetworkSession.create(g, { cacheDir: null });
      const y = (await session.run({ x: tensor(new Float32Array([1, 2, 3]), [1, 3]) })).y;
      assert.deepEqual([...y.data], [0.5 - 2.5 + 6 + 0.25, 0.125 - 6 + 4.5 - 0.5]);
      await session.release();
    });
  }

  it('names the file, tensor and both shapes when a weight does not fit', () => {
    const info = { name: 'fc.weight', dtype: 'F32' as const, shape: [3, 2], file: '/models/x.safetensors', offset: 8, byteLength: 24 };
    const checkpoint: Checkpoint = { source: '/models', tensors: new Map([['fc.weight', info]]) };
    const w = new Weights(new Graph('t'), checkpoint);
    assert.throws(() => w.at('fc.weight', [2, 3]), (e: Error) => e instanceof WeightsError && e.message === '/models/x.safetensors: weight "fc.weight" has shape [3, 2], the config implies [2, 3]');
    assert.throws(() => w.sub('fc').at('bias', [2]), /\/models: weight "fc\.bias" \[2\] is missing from the checkpoint/);
  });

  it('refuses an integer tensor where a weight is expected', () => {
    const info = { name: 'ids', dtype: 'I64' as const, shape: [2], file: '/m/x.safetensors', offset: 8, byteLength: 16 };
    const w = new Weights(new Graph('t'), { source: '/m', tensors: new Map([['ids', info]]) });
    assert.throws(() => w.at('ids', [2]), /weight "ids" is I64, expected a floating-point tensor/);
  });
});

describe('Graph constants', () => {
  it('shares a constant made twice with the same type, dims and values', () => {
    const g = new Graph('t');
    assert.equal(g.constant([1, 2.5]), g.constant(new Float32Array([1, 2.5])));
    assert.equal(g.ints([0, -1], [1, 2]), g.ints([0, -1], [1, 2]));
  });

  it('tells apart constants whose values join to the same text', () => {
    const g = new Graph('t');
    // String(-0) is "0": a key made of the joined values would hand -0 out for 0.
    assert.notEqual(g.scalar(0), g.scalar(-0));
    assert.notEqual(g.constant([1, 2], [2]), g.constant([1, 2], [1, 2]));
    assert.notEqual(g.constant([1, 2]), g.ints([1, 2]));
    assert.notEqual(g.constant([0.1]), g.constant([0.2]));
  });

  it('keys a large constant by a short digest, not by its values as text', () => {
    const g = new Graph('t');
    const n = 1 << 22;
    const big = new Float32Array(n).fill(1 / 3);
    const name = g.constant(big);
    assert.equal(g.constant(big), name);
    big[n - 1] = 0;
    assert.notEqual(g.constant(big), name);
    const keys = [...(g as unknown as { constants: Map<string, string> }).constants.keys()];
    assert.equal(keys.length, 2);
    for (const key of keys) assert.ok(key.length < 100, `a key of ${key.length} characters`);
  });
});
