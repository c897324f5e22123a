import { fmaf32 } from '../random/index.js';

// Scheduler coefficients in diffusers are 0-dim float32 tensors: every operation rounds to float32
// (architecture doc §5, "Numerics"). These name that rounding where the formulas use it.

export const f32 = Math.fround;
const f = Math.fround;

/** `x ** 0.5` on a float32 tensor: an exact sqrt (the double sqrt of a float32 rounds correctly). */
export function sqrtf(x: number): number {
  return Math.fround(Math.sqrt(x));
}

// torch's log may also go through Sleef; a correctly rounded log reproduces every golden case bit for bit.
export function logf(x: number): number {
  return Math.fround(Math.log(x));
}

/** numpy's `round` (rint): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const R_LN2 = f(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2U = f(0.693145751953125);
const L2L = f(1.428606765330187045e-6);
const EXP_POLY = [0.00139304355252534151077271, 0.00833336077630519866943359, 0.0416664853692054748535156, 0.166666671633720397949219, 0.5].map(f);

/**
 * `torch.exp` of a float32 tensor on the reference build: Sleef's 1-ulp `expf` (AVX2 with FMA), used even for
 * 0-dim tensors — not a correctly rounded exp; Math.exp differs from it in the last bit now and then.
 * Port of Sleef `xexpf` (src/libm/sleefsimdsp.c), float32 throughout; `vmla` is an FMA on that build.
 */
export function expf(d: number): number {
  if (Number.isNaN(d)) return NaN;
  if (d > 100) return Infinity;
  if (d < -104) return 0;
  const q = roundHalfEven(f(d * R_LN2));
  let s = fmaf32(q, -L2U, d);
  s = fmaf32(q, -L2L, s);
  let u = f(0.000198527617612853646278381);
  for (const c of EXP_POLY) u = fmaf32(u, s, c);
  u = f(1 + fmaf32(f(s * s), u, s));
  // vldexp2: two power-of-two factors, so that q near the exponent limits does not overflow one of them.
  const half = q >> 1;
  return f(f(u * 2 ** half) * 2 ** (q - half));
}
