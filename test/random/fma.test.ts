import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmaf32 } from '../../src/random/index.js';

const bits = new Float32Array(1);
const word = new Uint32Array(bits.buffer);

/** A finite float32 as sign * m * 2^e with integer m. */
function decompose(x: number): { m: bigint; e: number } {
  bits[0] = x;
  const w = word[0];
  const sign = w >>> 31 ? -1n : 1n;
  const exp = (w >>> 23) & 0xff;
  const frac = BigInt(w & 0x7fffff);
  return exp === 0 ? { m: sign * frac, e: -149 } : { m: sign * (frac | 0x800000n), e: exp - 150 };
}

/** a*b + c computed exactly with big integers, rounded once to float32 (ties to even). Finite results only. */
function exactFma(a: number, b: number, c: number): number {
  const pa = decompose(a);
  const pb = decompose(b);
  const pc = decompose(c);
  const ep = pa.e + pb.e;
  const e = Math.min(ep, pc.e);
  const total = ((pa.m * pb.m) << BigInt(ep - e)) + (pc.m << BigInt(pc.e - e));
  if (total === 0n) return 0; // zero signs are not what these tests are about
  const negative = total < 0n;
  const n = negative ? -total : total;
  const length = n.toString(2).length;
  const shift = Math.max(length - 24, -149 - e);
  let q = n;
  if (shift > 0) {
    q = n >> BigInt(shift);
    const rest = n - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  }
  const magnitude = Number(q) * 2 ** (e + Math.max(shift, 0));
  return negative ? -magnitude : magnitude;
}

describe('fmaf32', () => {
  it('rounds once where fround(a*b + c) lands on a midpoint and breaks the tie the wrong way', () => {
    // a*b = 2^-24 - 2^-70: the 2^-70 is lost in the double sum, which lands on a float32 midpoint.
    const a = 1 + 2 ** -23;
    const b = 2 ** -24 - 2 ** -47;
    const c = 1 + 2 ** -23;
    // Exact 1 + 2^-23 + 2^-24 - 2^-70 is just below the midpoint; the double sum ties up to even 1 + 2^-22.
    assert.equal(Math.fround(a * b + c), 1 + 2 ** -22);
    assert.equal(fmaf32(a, b, c), 1 + 2 ** -23);
    // Exact 1 + 2^-24 + 2^-70 is just above the midpoint; the double sum ties down to even 1.
    assert.equal(Math.fround(a * -b + c), 1);
    assert.equal(fmaf32(a, -b, c), 1 + 2 ** -23);
    assert.equal(fmaf32(-a, b, -c), -(1 + 2 ** -23));
  });

  it('rounds correctly when the exact sum is a hair below a power of two', () => {
    const a = 1 + 2 ** -23;
    assert.equal(fmaf32(a, -(2 ** -60), 2), 2);
    assert.equal(fmaf32(2 ** -24 + 2 ** -47, -a, 2), exactFma(2 ** -24 + 2 ** -47, -a, 2));
  });

  it('keeps the exact result of a cancelling product', () => {
    const a = Math.fround(1 + 2 ** -12);
    const b = Math.fround(1 - 2 ** -12);
    assert.equal(fmaf32(a, b, -1), -(2 ** -24));
    const tenth = Math.fround(0.1);
    assert.equal(fmaf32(3, tenth, -Math.fround(3 * tenth)), exactFma(3, tenth, -Math.fround(3 * tenth)));
  });

  it('handles subnormal results and infinities', () => {
    const tiny = 2 ** -149;
    assert.equal(fmaf32(tiny, 0.5, tiny), exactFma(tiny, 0.5, tiny));
    assert.equal(fmaf32(2 ** -75, 2 ** -75, 0), 0);
    assert.equal(fmaf32(Infinity, 1, 1), Infinity);
    assert.ok(Number.isNaN(fmaf32(Infinity, 0, 1)));
  });

  it('agrees with exact big-integer rounding on random triples, ties included', () => {
    let state = 12345;
    const next = (): number => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
    // Short significands make exact sums and float32 midpoints common, which is where double rounding bites.
    const randomFloat = (spread: number): number => {
      const width = 1 + (next() % 24);
      const significand = (next() >>> (32 - width)) | 1;
      const sign = next() & 1 ? -1 : 1;
      return sign * significand * 2 ** ((next() % (2 * spread + 1)) - spread - width + 1);
    };
    let naiveWrong = 0;
    for (let i = 0; i < 100000; i++) {
      const a = randomFloat(20);
      const b = randomFloat(20);
      // Every other c is scaled from the product, so that the two overlap and cancel.
      const c = i % 2 === 0 ? randomFloat(40) : Math.fround(a * b) * (next() & 1 ? -1 : 1) * 2 ** ((next() % 60) - 30);
      const exact = exactFma(a, b, c);
      assert.equal(fmaf32(a, b, c), exact, `fma(${a}, ${b}, ${c})`);
      if (Math.fround(a * b + c) !== exact) naiveWrong++;
    }
    assert.ok(naiveWrong > 0, 'the sample should contain cases that fround(a*b + c) gets wrong');
  });
});
