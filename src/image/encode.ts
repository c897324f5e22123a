import sharp from 'sharp';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../files/index.js';
import { exifParameters, pngParameterChunks } from './embedded-parameters.js';
import { replaceExif } from './exif-container.js';
import type { GenerationParameters } from './generation-parameters.js';
import { bandsOf, type ImageMode, type PilImage } from './image.js';
import type { ImageFormat } from './image-format.js';
import { insertPngChunks } from './png-text.js';

export interface EncodeOptions {
  /** JPEG and WebP, 1..100; Pillow's defaults: JPEG 75, WebP 80 (lossy). */
  readonly quality?: number;
  /** Embedded as described in embedded-parameters.ts. */
  readonly metadata?: GenerationParameters;
}

const DEFAULT_QUALITY = { jpeg: 75, webp: 80 } as const;

/** The modes each format stores; others need `convert` first (Pillow refuses them too). */
const WRITABLE: Record<ImageFormat, readonly ImageMode[]> = {
  png: ['L', 'LA', 'RGB', 'RGBA'],
  jpeg: ['L', 'RGB'],
  webp: ['L', 'LA', 'RGB', 'RGBA'],
};

// libvips only writes EXIF it was given; a placeholder makes it lay out the container (WebP's VP8X
// flags included), and replaceExif swaps in our block, whose UserComment may be UTF-16 (libvips'
// own UserComment is ASCII, transliterating the rest).
const EXIF_PLACEHOLDER = { IFD0: { Software: 'kandinsky' } };

/** Encodes like Pillow's `Image.save` with default settings, plus the generation parameters. */
export async function encodeImage(image: PilImage, format: ImageFormat, options: EncodeOptions = {}): Promise<Buffer> {
  if (!WRITABLE[format].includes(image.mode)) {
    throw new InputError(`cannot write mode ${image.mode} as ${format.toUpperCase()}; expected ${WRITABLE[format].join(', ')} (convert it first)`);
  }
  const channels = bandsOf(image.mode) as 1 | 2 | 3 | 4;
  const { width, height } = image;
  if (!(width >= 1 && height >= 1 && image.data.length === width * height * channels)) {
    throw new InputError(`cannot write a ${width}x${height} ${image.mode} image from ${image.data.length} bytes; expected ${width * height * channels}`);
  }
  if (format === 'png' && options.quality !== undefined) {
    throw new InputError(`quality applies to JPEG and WebP; PNG is lossless (got quality ${options.quality})`);
  }
  const quality = format === 'png' ? undefined : checkQuality(options.quality ?? DEFAULT_QUALITY[format]);
  const { metadata } = options;
  // libvips turns grey into sRGB on output unless told to keep it.
  const input = sharp(image.data, { raw: { width, height, channels } }).toColourspace(channels <= 2 ? 'b-w' : 'srgb');
  let encoded: Buffer;
  try {
    encoded = await (format === 'png'
      ? // Adaptive filtering as Pillow (and libpng) choose by default: photographs compress far better.
        input.png({ adaptiveFiltering: true })
      : (metadata ? input.withExif(EXIF_PLACEHOLDER) : input)[format]({ quality })
    ).toBuffer();
  } catch (err) {
    throw new InputError(`cannot encode a ${width}x${height} ${image.mode} image as ${format.toUpperCase()} (${(err as Error).message})`);
  }
  if (!metadata) return encoded;
  return format === 'png'
    ? insertPngChunks(encoded, pngParameterChunks(metadata))
    : replaceExif(encoded, format, exifParameters(metadata), `${format.toUpperCase()} output`);
}

/** Encodes and writes atomically: a temporary file in the same folder renamed over `path`, never a half-written image. */
export async function writeImageFile(path: string, image: PilImage, format: ImageFormat, options: EncodeOptions = {}): Promise<void> {
  const bytes = await encodeImage(image, format, options);
  try {
    writeFileAtomic(path, bytes);
  } catch (err) {
    throw new InputError(`${path}: cannot write image (${(err as Error).message})`);
  }
}

function checkQuality(quality: number): number {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new InputError(`image quality must be an integer from 1 to 100, got ${quality}`);
  return quality;
}
