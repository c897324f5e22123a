/**
 * `log256_ps` and `sincos256_ps` from PyTorch's aten/src/ATen/native/cpu/avx_mathfun.h (Cephes-style
 * float32 polynomials), with the FMA contractions of the reference x86-64 build
 * (fixtures/golden/README.md, kind `torch_randn`; architecture doc §6.4). Every step is one float32
 * rounding: products and sums of two float32 values are rounded once by Math.fround (a double holds
 * them exactly or rounds innocuously), contracted multiply-adds go through fmaf32.
 *
 * Both work on lanes, as the AVX2 code does, but on up to MAX_LANES of them at once (float32 values
 * held in the first `n` entries of Float64Arrays), one step across all lanes at a time. Lanes are
 * independent, so the CPU overlaps them; following one lane's long chain of dependent roundings to the
 * end (or calling fmaf32 from more sites than V8 will inline) makes the transform several times slower.
 */
import { fmaf32 } from './fma.js';

export const MAX_LANES = 512;

const f = Math.fround;

const SQRTHF = f(0.707106781186547524);
const LOG_P0 = f(7.0376836292e-2);
// p1..p8 of the Horner chain y = fma(y, x, p).
const LOG_P = [
  -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1,
  -2.4999993993e-1, 3.3333331174e-1,
].map(f);
const LOG_Q1 = f(-2.1219444e-4);
const LOG_Q2 = f(0.693359375);

const FOPI = f(1.27323954473516);
// pi/4 in three float32 pieces (Cody–Waite), negated.
const MINUS_DP = [-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8].map(f);
const SIN_P0 = f(-1.9515295891e-4);
const SIN_P1 = f(8.3321608736e-3);
const SIN_P2 = f(-1.6666654611e-1);
const COS_P0 = f(2.443315711809948e-5);
const COS_P1 = f(-1.388731625493765e-3);
const COS_P2 = f(4.166664568298827e-2);

const floatBits = new Float32Array(1);
const intBits = new Int32Array(floatBits.buffer);

// Scratch lanes, reused so that the transform allocates nothing.
const exponent = new Float64Array(MAX_LANES);
const reduced = new Float64Array(MAX_LANES);
const square = new Float64Array(MAX_LANES);
const logPoly = new Float64Array(MAX_LANES);
const cosPoly = new Float64Array(MAX_LANES);
const sinPoly = new Float64Array(MAX_LANES);
const octant = new Int32Array(MAX_LANES);

/** Natural log of `n` positive normal float32 lanes (Box–Muller gives it 1 - u in (0, 1]). */
export function log256(input: Float64Array, out: Float64Array, n: number): void {
  const e = exponent;
  const x = reduced;
  const y = logPoly;
  for (let i = 0; i < n; i++) {
    floatBits[0] = input[i];
    const bits = intBits[0];
    // The mantissa with the exponent of 0.5, so m is in [0.5, 1).
    intBits[0] = (bits & ~0x7f800000) | 0x3f000000;
    const m = floatBits[0];
    if (m < SQRTHF) {
      e[i] = (bits >>> 23) - 127;
      x[i] = m - 1 + m; // exact: 2m - 1 fits in a float32
    } else {
      e[i] = (bits >>> 23) - 126;
      x[i] = m - 1; // exact (Sterbenz)
    }
    y[i] = LOG_P0;
  }
  for (const p of LOG_P) fmaLanes(y, x, p, n);
  for (let i = 0; i < n; i++) {
    const z = f(x[i] * x[i]);
    let v = f(y[i] * x[i]);
    v = fmaf32(v, z, f(e[i] * LOG_Q1));
    v = fmaf32(z, -0.5, v);
    out[i] = fmaf32(e[i], LOG_Q2, f(x[i] + v));
  }
}

/** sin and cos of `n` non-negative float32 lanes. */
export function sincos256(angle: Float64Array, sinOut: Float64Array, cosOut: Float64Array, n: number): void {
  const x = reduced;
  const z = square;
  for (let i = 0; i < n; i++) {
    octant[i] = (Math.trunc(f(angle[i] * FOPI)) + 1) & ~1;
    x[i] = angle[i];
  }
  for (const dp of MINUS_DP) {
    for (let i = 0; i < n; i++) x[i] = fmaf32(octant[i], dp, x[i]);
  }
  for (let i = 0; i < n; i++) {
    z[i] = f(x[i] * x[i]);
    cosPoly[i] = fmaf32(COS_P0, z[i], COS_P1);
    sinPoly[i] = fmaf32(SIN_P0, z[i], SIN_P1);
  }
  fmaLanes(cosPoly, z, COS_P2, n);
  fmaLanes(sinPoly, z, SIN_P2, n);
  for (let i = 0; i < n; i++) {
    const zi = z[i];
    const c = f(fmaf32(f(cosPoly[i] * zi), zi, -f(zi * 0.5)) + 1);
    const s = fmaf32(f(sinPoly[i] * zi), x[i], x[i]);
    const j = octant[i];
    const sinFromSinPoly = (j & 2) === 0;
    const sin = sinFromSinPoly ? s : c;
    const cos = sinFromSinPoly ? c : s;
    sinOut[i] = (j & 4) !== 0 ? -sin : sin;
    cosOut[i] = ((j - 2) & 4) === 0 ? -cos : cos;
  }
}

// y[i] = fma(y[i], x[i], c) on the first n lanes.
function fmaLanes(y: Float64Array, x: Float64Array, c: number, n: number): void {
  for (let i = 0; i < n; i++) y[i] = fmaf32(y[i], x[i], c);
}
