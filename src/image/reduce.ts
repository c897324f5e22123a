import { bandsOf, withPixels, type PilImage } from './image.js';

/**
 * Pillow's `Image.reduce((factorX, factorY))` for 8-bit images (libImaging/Reduce.c): each output
 * pixel is the rounded mean of a factorX x factorY block; the blocks of the last column and row
 * are cut by the image edge and averaged over the pixels they hold. The size rounds up.
 */
export function reduce(image: PilImage, factorX: number, factorY: number): PilImage {
  const bands = bandsOf(image.mode);
  const { width, height, data } = image;
  const outWidth = Math.ceil(width / factorX);
  const outHeight = Math.ceil(height / factorY);
  const out = new Uint8Array(outWidth * outHeight * bands);
  const sums = new Uint32Array(bands);
  for (let y = 0; y < outHeight; y++) {
    const y0 = y * factorY;
    const y1 = Math.min(y0 + factorY, height);
    for (let x = 0; x < outWidth; x++) {
      const x0 = x * factorX;
      const x1 = Math.min(x0 + factorX, width);
      const n = (x1 - x0) * (y1 - y0);
      sums.fill(n >> 1);
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          for (let c = 0; c < bands; c++) sums[c] += data[(yy * width + xx) * bands + c];
        }
      }
      const multiplier = divisionMultiplier(n);
      for (let c = 0; c < bands; c++) out[(y * outWidth + x) * bands + c] = Math.imul(sums[c], multiplier) >>> 24;
    }
  }
  return withPixels(image, outWidth, outHeight, out);
}

/**
 * `division_UINT32(n, 8)`: 2^32 / (256 n) computed in single precision and truncated, so that
 * `(sum * multiplier) >> 24` (in uint32 arithmetic) divides by n.
 */
function divisionMultiplier(n: number): number {
  return Math.trunc(Math.fround(4294967296 / Math.fround(256 * n)));
}
