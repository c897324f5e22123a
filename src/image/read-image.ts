import sharp from 'sharp';
import { InputError } from '../errors.js';
import type { ImageMode, PilImage } from './image.js';
import { readImageBytes } from './image-file.js';
import { describeContent, sniffImageFormat } from './image-format.js';
import { decodePng } from './png-decode.js';

/** Pillow's decompression-bomb guard, rounded: more pixels than 8192x8192 is refused before decoding. */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

const MODES: Record<number, ImageMode> = { 1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA' };

/** An input image (init image, mask, hint) read from a file, in its own mode: see decodeImage. */
export async function readImage(path: string): Promise<PilImage> {
  return decodeImage(readImageBytes(path).bytes, path);
}

/**
 * An input image from its bytes, in its own mode; `source` names it in refusals (a path, `input.image`).
 * PNG goes through our Pillow-exact decoder; JPEG and WebP through libvips, turned upright by their EXIF
 * orientation as diffusers' `load_image` does; CMYK JPEGs come out RGB. The format is told by magic bytes,
 * never by a name.
 */
export async function decodeImage(bytes: Uint8Array, source: string): Promise<PilImage> {
  const format = sniffImageFormat(bytes);
  if (!format) throw new InputError(`${source}: not a PNG, JPEG or WebP image (found ${describeContent(bytes)})`);
  if (format === 'png') {
    checkPixels(source, pngSize(bytes));
    return decodePng(bytes, source);
  }
  const label = format === 'jpeg' ? 'JPEG' : 'WebP';
  try {
    // Header only: libvips' own pixel limit would refuse with a vaguer message.
    const header = await sharp(bytes, { limitInputPixels: false }).metadata();
    checkPixels(source, { width: header.width, height: header.height });
    // Pillow opens a grey JPEG as L; libvips would hand it over as sRGB.
    const grey = header.channels !== undefined && header.channels <= 2;
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS })
      .autoOrient()
      .toColourspace(grey ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, mode: MODES[info.channels], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${source}: broken ${label} file (${(err as Error).message})`);
  }
}

/** IHDR's size, read before anything is inflated; a file without IHDR first is left to the decoder to refuse. */
function pngSize(bytes: Uint8Array): { width?: number; height?: number } {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function checkPixels(source: string, { width, height }: { width?: number; height?: number }): void {
  if (width === undefined || height === undefined) return;
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new InputError(
      `${source}: image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} megapixels); ` +
        `refusing more than ${MAX_IMAGE_PIXELS} pixels (8192x8192) as a possible decompression bomb`,
    );
  }
}
