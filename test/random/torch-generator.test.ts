import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SEED, MT19937, TorchGenerator } from '../../src/random/index.js';
import { readFloat32, readSafetensors } from '../../src/weights/safetensors.js';
import { goldenDir } from '../helpers/fixtures.js';

interface Draw {
  op: 'randn' | 'rand';
  shape: number[];
}

interface RandnCase {
  name: string;
  kind: string;
  tensors: string;
  inputs: { seed: number; draws: Draw[] };
  expected: Record<string, { tensor: string }>;
}

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = bitsOf(actual);
  const e = bitsOf(expected);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      assert.fail(
        `${what}: first mismatch at element ${i}: got ${actual[i]} (0x${a[i].toString(16)}), ` +
          `expected ${expected[i]} (0x${e[i].toString(16)})`,
      );
    }
  }
}

const manifest = JSON.parse(readFileSync(join(goldenDir, 'manifest.json'), 'utf8')) as { cases: RandnCase[] };
const goldenCases = manifest.cases.filter((c) => c.kind === 'torch_randn');

describe('TorchGenerator against the golden torch_randn cases', () => {
  it('finds golden cases to check', () => {
    assert.ok(goldenCases.length > 0);
  });

  for (const c of goldenCases) {
    it(`reproduces ${c.name} bit for bit (seed ${c.inputs.seed})`, () => {
      // JSON numbers above 2^53 would already have lost bits; the seeds in the set are all safe integers.
      assert.ok(Number.isSafeInteger(c.inputs.seed), `${c.name}: seed ${c.inputs.seed} is not a safe integer`);
      const file = readSafetensors(join(goldenDir, c.tensors));
      const g = new TorchGenerator().manualSeed(c.inputs.seed);
      c.inputs.draws.forEach((draw, i) => {
        const key = c.expected[`draw${i}`].tensor;
        const info = file.tensors.find((t) => t.name === key);
        assert.ok(info, `${c.name}: tensor ${key} missing from ${c.tensors}`);
        const out = draw.op === 'randn' ? g.randn(draw.shape) : g.rand(draw.shape);
        assert.deepEqual(out.shape, info.shape, `${c.name} draw${i}: shape`);
        assertSameBits(out.data, readFloat32(info), `${c.name} draw${i} (${draw.op} [${draw.shape.join(', ')}])`);
      });
    });
  }
});

describe('MT19937', () => {
  it('gives 2357136044, 2546248239, 3071714933, 3626093760 first after seed 0', () => {
    const mt = new MT19937(0n);
    assert.deepEqual([mt.nextUint32(), mt.nextUint32(), mt.nextUint32(), mt.nextUint32()], [
      2357136044, 2546248239, 3071714933, 3626093760,
    ]);
  });

  it('gives the reference 10000th output for the classic seed 5489', () => {
    const mt = new MT19937(5489n);
    let last = 0;
    for (let i = 0; i < 10000; i++) last = mt.nextUint32();
    assert.equal(last, 4123659995);
  });

  it('uses only the low 32 bits of the seed', () => {
    const a = new MT19937(7n);
    const b = new MT19937((1n << 40n) + 7n);
    for (let i = 0; i < 700; i++) assert.equal(a.nextUint32(), b.nextUint32());
  });
});

describe('TorchGenerator', () => {
  it('draws rand(1) = 0.4962566 after manualSeed(0)', () => {
    const [x] = new TorchGenerator().manualSeed(0).rand([1]).data;
    assert.equal(x, 8325804 / 2 ** 24);
    assert.equal(x.toFixed(7), '0.4962566');
  });

  it('starts from seed 67280421310721 when never seeded', () => {
    const fresh = new TorchGenerator();
    const seeded = new TorchGenerator().manualSeed(DEFAULT_SEED);
    for (let i = 0; i < 10; i++) assert.equal(fresh.random(), seeded.random());
  });

  it('reads a negative seed as its two’s complement', () => {
    const a = new TorchGenerator().manualSeed(-1);
    const b = new TorchGenerator().manualSeed(2n ** 64n - 1n);
    const c = new TorchGenerator().manualSeed(0xffffffff);
    const first = a.random();
    assert.equal(first, b.random());
    assert.equal(first, c.random());
  });

  it('refuses seeds PyTorch refuses', () => {
    assert.throws(() => new TorchGenerator().manualSeed(2n ** 64n), /\[-2\^63, 2\^64\)/);
    assert.throws(() => new TorchGenerator().manualSeed(-(2n ** 63n) - 1n), /\[-2\^63, 2\^64\)/);
    assert.throws(() => new TorchGenerator().manualSeed(1.5), /integer/);
  });

  it('makes random64 of two outputs, the first as the high word', () => {
    const g = new TorchGenerator().manualSeed(0);
    assert.equal(g.random64(), (2357136044n << 32n) | 2546248239n);
  });

  it('clears the cached normal sample on manualSeed', () => {
    const g = new TorchGenerator().manualSeed(3);
    const [first] = g.randn([1]).data;
    g.manualSeed(3);
    assert.equal(g.randn([1]).data[0], first);
  });

  it('keeps the cached normal sample across a vectorised draw', () => {
    const a = new TorchGenerator().manualSeed(5);
    const b = new TorchGenerator().manualSeed(5);
    const pair = a.randn([2]).data;
    b.randn([1]);
    b.randn([32]);
    // b's cached sine comes out without touching the engine, and the engine is 32 outputs further on.
    assert.equal(b.randn([1]).data[0], pair[1]);
    a.randn([32]);
    assert.equal(a.random(), b.random());
  });

  it('consumes n engine outputs for randn of a multiple of 16, n + 16 otherwise', () => {
    for (const [n, used] of [[16, 16], [32, 32], [17, 33], [1280, 1280], [999, 1015]]) {
      const g = new TorchGenerator().manualSeed(11);
      g.randn([n]);
      const ref = new MT19937(11n);
      for (let i = 0; i < used; i++) ref.nextUint32();
      assert.equal(g.random(), ref.nextUint32(), `randn(${n})`);
    }
  });

  it('refuses a shape with a negative or fractional size', () => {
    assert.throws(() => new TorchGenerator().randn([2, -1]), /randn: shape \[2, -1\]/);
    assert.throws(() => new TorchGenerator().rand([1.5]), /rand: shape \[1.5\]/);
  });

  it('returns an empty tensor for a zero-sized shape without drawing', () => {
    const g = new TorchGenerator().manualSeed(0);
    assert.equal(g.randn([0, 4]).data.length, 0);
    assert.equal(g.random(), 2357136044);
  });
});
