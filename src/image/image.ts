/**
 * An 8-bit image as Pillow presents it after `Image.open`: the pixel values of its own mode,
 * interleaved row-major (`data[(y * width + x) * bands + band]`).
 *
 * Modes (Pillow's names): '1' bilevel stored as 0/255, 'L' grey, 'LA' grey + alpha,
 * 'P' palette indices, 'RGB', 'RGBA'.
 */
export type ImageMode = '1' | 'L' | 'LA' | 'P' | 'RGB' | 'RGBA';

export interface PilImage {
  readonly width: number;
  readonly height: number;
  readonly mode: ImageMode;
  readonly data: Uint8Array;
  /**
   * Mode 'P' only: 256 RGB entries (768 bytes). Entries past the file's PLTE keep Pillow's
   * default grey ramp `(i, i, i)`, so an out-of-range index converts the way Pillow converts it.
   */
  readonly palette?: Uint8Array;
}

const BANDS: Record<ImageMode, number> = { '1': 1, L: 1, LA: 2, P: 1, RGB: 3, RGBA: 4 };

export function bandsOf(mode: ImageMode): number {
  return BANDS[mode];
}

/** Pillow's palette before `putpalette`: a grey ramp; `entries` (RGB triples) overwrite its start. */
export function paletteFrom(entries: Uint8Array): Uint8Array {
  const palette = new Uint8Array(768);
  for (let i = 0; i < 256; i++) palette.fill(i, 3 * i, 3 * i + 3);
  // Like Pillow's putpalette, only whole RGB triples count.
  palette.set(entries.subarray(0, Math.min(768, entries.length - (entries.length % 3))));
  return palette;
}

/** A new image of the same mode (and palette) as `like`, with the given size and pixels. */
export function withPixels(like: PilImage, width: number, height: number, data: Uint8Array): PilImage {
  return like.palette
    ? { width, height, mode: like.mode, data, palette: like.palette }
    : { width, height, mode: like.mode, data };
}
