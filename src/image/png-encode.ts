import { writeFileSync } from 'node:fs';
import { PNG, type ColorType } from 'pngjs';
import { InputError } from '../errors.js';
import type { PilImage } from './image.js';

const COLOR_TYPES: Partial<Record<PilImage['mode'], ColorType>> = { L: 0, RGB: 2, LA: 4, RGBA: 6 };

/** Encodes an 8-bit L, LA, RGB or RGBA image as a PNG file (lossless; other modes: convert first). */
export function encodePng(image: PilImage): Buffer {
  const colorType = COLOR_TYPES[image.mode];
  if (colorType === undefined) {
    throw new InputError(`cannot write mode ${image.mode} as PNG; expected L, LA, RGB or RGBA (convert it first)`);
  }
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: colorType >= 4 });
}

export function writePng(path: string, image: PilImage): void {
  writeFileSync(path, encodePng(image));
}
