/** PyTorch's bicubic constant (`get_cubic_upsample_coefficients`), Keys' kernel with A = -0.75. */
const A = -0.75;
const f = Math.fround;

/**
 * `F.interpolate(x[None, None], size=(outH, outW), mode="bicubic", align_corners=False)` of one float32 plane,
 * as PyTorch's CPU kernel computes it in float32: source index `(dst + 0.5) * (in / out) - 0.5` (not clamped),
 * four taps with indices clamped to the border, rows of taps weighted then summed over columns first.
 */
export function interpolateBicubic(x: Float32Array, inH: number, inW: number, outH: number, outW: number): Float32Array {
  const rows = taps(inH, outH);
  const cols = taps(inW, outW);
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    for (let xo = 0; xo < outW; xo++) {
      let acc = 0;
      for (let i = 0; i < 4; i++) {
        const row = rows.index[4 * y + i] * inW;
        let inner = 0;
        for (let j = 0; j < 4; j++) {
          const term = f(x[row + cols.index[4 * xo + j]] * cols.weight[4 * xo + j]);
          inner = j === 0 ? term : f(inner + term);
        }
        const term = f(inner * rows.weight[4 * y + i]);
        acc = i === 0 ? term : f(acc + term);
      }
      out[y * outW + xo] = acc;
    }
  }
  return out;
}

/** compute_indices_weights_cubic: per output index, four clamped source indices and their float32 weights. */
function taps(inSize: number, outSize: number): { index: Int32Array; weight: Float32Array } {
  const scale = f(inSize / outSize);
  const index = new Int32Array(4 * outSize);
  const weight = new Float32Array(4 * outSize);
  for (let d = 0; d < outSize; d++) {
    const real = f(scale * (d + 0.5) - 0.5);
    const base = Math.min(Math.floor(real), inSize - 1);
    const t = Math.min(Math.max(f(real - base), 0), 1);
    const coeffs = [cubic2(f(t + 1)), cubic1(t), cubic1(f(1 - t)), cubic2(f(f(1 - t) + 1))];
    for (let j = 0; j < 4; j++) {
      index[4 * d + j] = Math.max(Math.min(base - 1 + j, inSize - 1), 0);
      weight[4 * d + j] = coeffs[j];
    }
  }
  return { index, weight };
}

/** `((A + 2) * x - (A + 3)) * x * x + 1`, for |x| <= 1. */
function cubic1(x: number): number {
  return f(f(f(f(f(f(A + 2) * x) - f(A + 3)) * x) * x) + 1);
}

/** `((A * x - 5A) * x + 8A) * x - 4A`, for 1 < |x| < 2. */
function cubic2(x: number): number {
  return f(f(f(f(f(f(f(A * x) - f(5 * A)) * x) + f(8 * A)) * x)) - f(4 * A));
}
