import { bandsOf, withPixels, type PilImage } from './image.js';

/**
 * Pillow's NEAREST resize of the whole image (`ImagingScaleAffine`, libImaging/Geometry.c): the
 * source position of each output column/row is accumulated in double, `pos += in/out`, from
 * `in/out * 0.5`, and truncated. Accumulating (not multiplying) is what makes it match Pillow.
 */
export function resizeNearest(image: PilImage, width: number, height: number): PilImage {
  const bands = bandsOf(image.mode);
  const stepX = image.width / width;
  const stepY = image.height / height;
  const sourceX = new Int32Array(width);
  let pos = stepX * 0.5;
  for (let x = 0; x < width; x++, pos += stepX) sourceX[x] = Math.min(Math.trunc(pos), image.width - 1);
  const out = new Uint8Array(width * height * bands);
  pos = stepY * 0.5;
  for (let y = 0; y < height; y++, pos += stepY) {
    const row = Math.min(Math.trunc(pos), image.height - 1) * image.width;
    for (let x = 0; x < width; x++) {
      const from = (row + sourceX[x]) * bands;
      for (let c = 0; c < bands; c++) out[(y * width + x) * bands + c] = image.data[from + c];
    }
  }
  return withPixels(image, width, height, out);
}
