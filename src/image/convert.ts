import { InputError } from '../errors.js';
import { bandsOf, type PilImage } from './image.js';

export type ConvertMode = 'RGB' | 'L';

/**
 * Pillow's `Image.convert('RGB' | 'L')` (libImaging/Convert.c): alpha is dropped, never composited;
 * grey is replicated; palette indices are looked up; RGB -> L is ITU-R 601-2 luma in 16-bit fixed point.
 */
export function convert(image: PilImage, mode: ConvertMode): PilImage {
  const pixels = image.width * image.height;
  const out = new Uint8Array(pixels * bandsOf(mode));
  const rgb = rgbSource(image);
  if (mode === 'RGB') {
    for (let i = 0; i < pixels; i++) rgb(i, out, 3 * i);
  } else if (image.mode === 'RGB' || image.mode === 'RGBA' || image.mode === 'P') {
    const px = new Uint8Array(3);
    for (let i = 0; i < pixels; i++) {
      rgb(i, px, 0);
      out[i] = luma(px[0], px[1], px[2]);
    }
  } else {
    const bands = bandsOf(image.mode);
    for (let i = 0; i < pixels; i++) out[i] = image.data[i * bands];
  }
  return { width: image.width, height: image.height, mode, data: out };
}

/** `L24` of Convert.c: `(r*19595 + g*38470 + b*7471 + 0x8000) >> 16`. */
export function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

type RgbWriter = (pixel: number, out: Uint8Array, o: number) => void;

function rgbSource(image: PilImage): RgbWriter {
  const { data } = image;
  switch (image.mode) {
    case 'RGB':
    case 'RGBA': {
      const bands = bandsOf(image.mode);
      return (i, out, o) => { out[o] = data[i * bands]; out[o + 1] = data[i * bands + 1]; out[o + 2] = data[i * bands + 2]; };
    }
    case 'P': {
      const palette = image.palette;
      if (!palette) throw new InputError(`convert: mode P image of ${image.width}x${image.height} has no palette`);
      return (i, out, o) => { const p = 3 * data[i]; out[o] = palette[p]; out[o + 1] = palette[p + 1]; out[o + 2] = palette[p + 2]; };
    }
    default: {
      const bands = bandsOf(image.mode);
      return (i, out, o) => { out[o] = out[o + 1] = out[o + 2] = data[i * bands]; };
    }
  }
}
