import { bandsOf, withPixels, type PilImage } from './image.js';
import type { Kernel } from './resample-filters.js';

/** The source region to resample, in source pixels; single precision, as Pillow hands it to C. */
export interface SourceBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** Weights of every output sample along one axis: `count` taps from input index `first`. */
interface AxisWeights {
  readonly taps: number;
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `taps` coefficients per output sample, fixed point with PRECISION_BITS fractional bits. */
  readonly coeffs: Int32Array;
}

/** 32 bits minus 8 for the sample and 2 of headroom for kernels whose lobes overshoot. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/**
 * Pillow's `ImagingResample` for 8-bit images (libImaging/Resample.c), bit for bit: a horizontal
 * pass over only the rows the vertical pass reads, rounded to an 8-bit intermediate, then a
 * vertical pass; either is skipped when its axis is unchanged. See architecture doc §3.3.
 */
export function resample(image: PilImage, width: number, height: number, kernel: Kernel, box: SourceBox): PilImage {
  const bands = bandsOf(image.mode);
  const needHorizontal = width !== image.width || box.x0 !== 0 || box.x1 !== width;
  const needVertical = height !== image.height || box.y0 !== 0 || box.y1 !== height;
  const horizontal = axisWeights(image.width, box.x0, box.x1, width, kernel);
  const vertical = axisWeights(image.height, box.y0, box.y1, height, kernel);

  // When an axis is unchanged its output size equals the input's, so the result is width x height.
  let data = image.data;
  if (needHorizontal) {
    const firstRow = vertical.first[0];
    const endRow = vertical.first[height - 1] + vertical.count[height - 1];
    for (let i = 0; i < height; i++) vertical.first[i] -= firstRow;
    data = resampleRows(data, image.width, bands, firstRow, endRow - firstRow, width, horizontal);
  }
  if (needVertical) data = resampleColumns(data, width, bands, height, vertical);
  return withPixels(image, width, height, data === image.data ? data.slice() : data);
}

function axisWeights(inSize: number, in0: number, in1: number, outSize: number, kernel: Kernel): AxisWeights {
  // (in1 - in0) is a float subtraction in C before the widening to double.
  const scale = Math.fround(in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = kernel.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const inverse = 1 / filterScale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const coeffs = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let i = 0; i < outSize; i++) {
    const center = in0 + (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      w[k] = kernel.at((k + lo - center + 0.5) * inverse);
      sum += w[k];
    }
    for (let k = 0; k < n; k++) {
      const v = sum !== 0 ? w[k] / sum : w[k];
      coeffs[i * taps + k] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    first[i] = lo;
    count[i] = n;
  }
  return { taps, first, count, coeffs };
}

/** `clip8`: the accumulator's integer part, clamped to 0..255. */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resampleRows(
  src: Uint8Array, srcWidth: number, bands: number, firstRow: number, rows: number, outWidth: number, ax: AxisWeights,
): Uint8Array {
  const out = new Uint8Array(outWidth * rows * bands);
  const acc = new Float64Array(bands);
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + firstRow) * srcWidth;
    for (let x = 0; x < outWidth; x++) {
      acc.fill(HALF);
      for (let k = 0; k < ax.count[x]; k++) {
        const c = ax.coeffs[x * ax.taps + k];
        const from = (rowBase + ax.first[x] + k) * bands;
        for (let b = 0; b < bands; b++) acc[b] += src[from + b] * c;
      }
      for (let b = 0; b < bands; b++) out[(y * outWidth + x) * bands + b] = clip8(acc[b]);
    }
  }
  return out;
}

function resampleColumns(src: Uint8Array, width: number, bands: number, outHeight: number, ax: AxisWeights): Uint8Array {
  const stride = width * bands;
  const out = new Uint8Array(stride * outHeight);
  // Whole source rows are accumulated one tap at a time, so memory is read in order.
  const acc = new Float64Array(stride);
  for (let y = 0; y < outHeight; y++) {
    acc.fill(HALF);
    for (let k = 0; k < ax.count[y]; k++) {
      const c = ax.coeffs[y * ax.taps + k];
      const row = (ax.first[y] + k) * stride;
      for (let i = 0; i < stride; i++) acc[i] += src[row + i] * c;
    }
    for (let i = 0; i < stride; i++) out[y * stride + i] = clip8(acc[i]);
  }
  return out;
}
