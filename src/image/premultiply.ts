import { bandsOf, withPixels, type PilImage } from './image.js';

// Pillow resizes LA/RGBA images as premultiplied La/RGBa and converts back
// (Convert.c: rgbA2rgba / lA2la, then rgba2rgbA / la2lA), so transparent pixels do not bleed colour.

/** Colour bands multiplied by alpha/255, rounded as Pillow's MULDIV255. */
export function premultiplyAlpha(image: PilImage): PilImage {
  return mapColour(image, (v, alpha) => {
    const t = v * alpha + 128;
    return ((t >> 8) + t) >> 8;
  });
}

/** The inverse: `255 * v / alpha` truncated and clipped; alpha 0 and 255 leave the colour as is. */
export function unpremultiplyAlpha(image: PilImage): PilImage {
  return mapColour(image, (v, alpha) => (alpha === 0 || alpha === 255 ? v : Math.min(Math.floor((255 * v) / alpha), 255)));
}

function mapColour(image: PilImage, f: (value: number, alpha: number) => number): PilImage {
  const bands = bandsOf(image.mode);
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i += bands) {
    const alpha = image.data[i + bands - 1];
    for (let c = 0; c < bands - 1; c++) out[i + c] = f(image.data[i + c], alpha);
    out[i + bands - 1] = alpha;
  }
  return withPixels(image, image.width, image.height, out);
}
