/**
 * The Box–Muller transform of `normal_fill_16_AVX2` (aten/src/ATen/native/cpu/DistributionKernels.cpp):
 * what `torch.randn` does to float32 uniforms in blocks of 16 (architecture doc §6.4).
 */
import { MAX_LANES, log256, sincos256 } from './avx-mathfun.js';

export const BLOCK = 16;
const HALF = BLOCK / 2;

// PyTorch builds 2*pi in double and rounds it to float once; theta is then a float32 product.
const TWO_PI = Math.fround(2 * Math.PI);

const u1 = new Float64Array(MAX_LANES);
const logU1 = new Float64Array(MAX_LANES);
const theta = new Float64Array(MAX_LANES);
const sin = new Float64Array(MAX_LANES);
const cos = new Float64Array(MAX_LANES);

/**
 * Turns the uniforms in `data[from..to)` (whole blocks of 16) into normals in place. In each block the
 * first 8 values supply u1 and the last 8 u2; outputs 0..7 are the cosines, 8..15 the sines.
 */
export function normalFill(data: Float32Array, from: number, to: number): void {
  const chunk = (MAX_LANES / HALF) * BLOCK;
  for (let start = from; start < to; start += chunk) {
    const end = Math.min(to, start + chunk);
    let lane = 0;
    for (let b = start; b < end; b += BLOCK) {
      for (let i = b; i < b + HALF; i++, lane++) {
        u1[lane] = 1 - data[i]; // exact: data holds multiples of 2^-24 in [0, 1)
        theta[lane] = Math.fround(TWO_PI * data[i + HALF]);
      }
    }
    log256(u1, logU1, lane);
    sincos256(theta, sin, cos, lane);
    lane = 0;
    for (let b = start; b < end; b += BLOCK) {
      for (let i = b; i < b + HALF; i++, lane++) {
        const radius = Math.fround(Math.sqrt(-2 * logU1[lane]));
        // fma(r*c, std = 1, mean = 0): the product is rounded by the store, and "+ 0" turns -0 into +0 as the fma does.
        data[i] = radius * cos[lane] + 0;
        data[i + HALF] = radius * sin[lane] + 0;
      }
    }
  }
}
