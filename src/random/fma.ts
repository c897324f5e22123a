/**
 * Single-rounding float32 fused multiply-add, for reproducing kernels that a C++ compiler contracted
 * into FMA instructions. `Math.fround(a * b + c)` is not enough: the double sum can land exactly on a
 * float32 midpoint that the exact sum is not on, and the second rounding then breaks the tie the wrong way.
 */

/**
 * `fma(a, b, c)` on float32 operands, rounded once to float32 (round to nearest, ties to even).
 * Arguments must be float32 values (results of Math.fround or reads from a Float32Array).
 *
 * Why it is exact: the product of two 24-bit significands fits in a double, so `p = a*b` is exact, and
 * the double sum `s` is within half an ulp of `p + c`. Float32 midpoints are doubles, so none lies
 * strictly between `s` and `p + c`: `fround(s)` is the answer unless `s` itself is a midpoint. `s` is one
 * exactly when `other = 2s - fround(s)` is a float32 (the float32 neighbour on the far side; the
 * expression is exact, being a multiple of ulp(s) no larger than that neighbour). Only then is the
 * rounding error of `s` needed (Knuth's TwoSum), to break the tie towards the exact sum.
 */
export function fmaf32(a: number, b: number, c: number): number {
  const s = a * b + c;
  const rounded = Math.fround(s);
  const d = s - rounded;
  const other = rounded + 2 * d;
  // Kept small so that V8 inlines it into the long polynomial chains; infinite or NaN sums leave here too.
  if (d === 0 || Math.fround(other) !== other) return rounded;
  return breakTie(a * b, c, s, rounded, other);
}

// s = p + c is a float32 midpoint between rounded and other: pick the side the exact sum lies on.
function breakTie(p: number, c: number, s: number, rounded: number, other: number): number {
  const v = s - p;
  const err = (p - (s - v)) + (c - v);
  if (err === 0) return rounded;
  return err > 0 === other > s ? other : rounded;
}
