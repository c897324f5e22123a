import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { Float32Tensor } from '../tensor/index.js';
import { centerCrop } from './center-crop.js';
import { convert } from './convert.js';
import type { PilImage } from './image.js';
import { readImageProcessorConfig, type CLIPImageProcessorConfig, type ResizeTarget } from './image-processor-config.js';
import { pixelValues } from './pixel-values.js';
import { resize } from './resize.js';

/**
 * transformers' `CLIPImageProcessor` on PIL images (architecture doc §3.3): RGB conversion,
 * Pillow resize of the uint8 image, center crop, then rescale and normalize in float32 exactly as
 * numpy does them, so the pixel values match the reference bit for bit.
 */
export class CLIPImageProcessor {
  constructor(readonly config: CLIPImageProcessorConfig) {}

  /** Reads `preprocessor_config.json` from a model's image processor folder. */
  static fromPretrained(dir: string): CLIPImageProcessor {
    return new CLIPImageProcessor(readImageProcessorConfig(join(dir, 'preprocessor_config.json')));
  }

  /** `pixel_values` `[N, 3, H, W]` float32 for a batch of images. */
  preprocess(images: readonly PilImage[]): Float32Tensor {
    if (images.length === 0) throw new InputError('CLIPImageProcessor: no images to preprocess');
    const prepared = images.map((image) => this.prepareUint8(image));
    const { width, height } = prepared[0];
    const odd = prepared.find((p) => p.width !== width || p.height !== height);
    if (odd) {
      throw new InputError(
        `CLIPImageProcessor: images of different sizes (${width}x${height} and ${odd.width}x${odd.height}) cannot form one batch`,
      );
    }
    return pixelValues(prepared, this.config);
  }

  /** Convert, resize and crop: the uint8 steps, done by Pillow and numpy slicing in the reference. */
  private prepareUint8(image: PilImage): PilImage {
    const { config } = this;
    let img = image;
    if (img.mode !== 'RGB') {
      if (!config.doConvertRgb) {
        throw new InputError(`CLIPImageProcessor: image has mode ${img.mode} and do_convert_rgb is false; expected RGB`);
      }
      img = convert(img, 'RGB');
    }
    if (config.doResize) {
      const [height, width] = resizeOutputSize(img.height, img.width, config.size);
      img = resize(img, width, height, { filter: config.resample });
    }
    if (config.doCenterCrop) img = centerCrop(img, config.cropSize.height, config.cropSize.width);
    return img;
  }
}

/**
 * transformers' get_resize_output_image_size(default_to_square=False): the shorter side becomes
 * `shortestEdge` and the longer `int(shortestEdge * long / short)`. Returns [height, width].
 */
function resizeOutputSize(height: number, width: number, target: ResizeTarget): [number, number] {
  if (!('shortestEdge' in target)) return [target.height, target.width];
  const short = Math.min(height, width);
  const long = Math.max(height, width);
  const newLong = Math.trunc((target.shortestEdge * long) / short);
  return width <= height ? [newLong, target.shortestEdge] : [target.shortestEdge, newLong];
}
