import { InputError } from '../errors.js';
import { withPixels, type PilImage } from './image.js';
import { resizeNearest } from './nearest.js';
import { premultiplyAlpha, unpremultiplyAlpha } from './premultiply.js';
import { reduce } from './reduce.js';
import { resample, type SourceBox } from './resample.js';
import { KERNELS, type ResampleFilter } from './resample-filters.js';

export interface ResizeOptions {
  /** Default 'bicubic', Pillow's default for 8-bit modes. Modes '1' and 'P' always use 'nearest'. */
  readonly filter?: ResampleFilter;
  /**
   * Pillow's `reducing_gap`: when set, first box-reduce by the integer factor
   * `int(in / out / reducingGap)` per axis (if above 1), then resample the rest (doc §3.3, §4.5).
   */
  readonly reducingGap?: number;
}

/** `Image.resize((width, height), filter, reducing_gap=...)` of Pillow 9.4, bit for bit on 8-bit images. */
export function resize(image: PilImage, width: number, height: number, options: ResizeOptions = {}): PilImage {
  const { reducingGap } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`resize: size must be positive integers, got ${width}x${height}`);
  }
  if (reducingGap !== undefined && !(reducingGap >= 1)) {
    throw new InputError(`resize: reducingGap must be 1.0 or greater, got ${reducingGap}`);
  }
  if (width === image.width && height === image.height) {
    return withPixels(image, width, height, image.data.slice());
  }
  const filter = image.mode === '1' || image.mode === 'P' ? 'nearest' : (options.filter ?? 'bicubic');
  if (filter === 'nearest') return resizeNearest(image, width, height);
  if (image.mode === 'LA' || image.mode === 'RGBA') {
    // Pillow's recursive call on the premultiplied image does not pass reducing_gap on.
    return unpremultiplyAlpha(resizeFiltered(premultiplyAlpha(image), width, height, filter, undefined));
  }
  return resizeFiltered(image, width, height, filter, reducingGap);
}

function resizeFiltered(
  image: PilImage, width: number, height: number, filter: Exclude<ResampleFilter, 'nearest'>, reducingGap: number | undefined,
): PilImage {
  let source = image;
  let box: SourceBox = { x0: 0, y0: 0, x1: image.width, y1: image.height };
  if (reducingGap !== undefined) {
    const factorX = Math.trunc(image.width / width / reducingGap) || 1;
    const factorY = Math.trunc(image.height / height / reducingGap) || 1;
    if (factorX > 1 || factorY > 1) {
      // With the whole image as the box, Pillow's "safe box" for the reduce is the whole image too.
      source = reduce(image, factorX, factorY);
      box = { x0: 0, y0: 0, x1: Math.fround(image.width / factorX), y1: Math.fround(image.height / factorY) };
    }
  }
  return resample(source, width, height, KERNELS[filter], box);
}
