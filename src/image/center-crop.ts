import { bandsOf, withPixels, type PilImage } from './image.js';

/**
 * transformers' `center_crop` (image_transforms.py): the window starts at
 * `top = (h - height) // 2`, `left = (w - width) // 2` (floor division); where it reaches past
 * the image (an image smaller than the crop) the pixels are zero.
 */
export function centerCrop(image: PilImage, height: number, width: number): PilImage {
  const bands = bandsOf(image.mode);
  const top = Math.floor((image.height - height) / 2);
  const left = Math.floor((image.width - width) / 2);
  const out = new Uint8Array(width * height * bands);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, image.width - left);
  for (let y = Math.max(0, -top); y < Math.min(height, image.height - top); y++) {
    const from = ((y + top) * image.width + left + x0) * bands;
    out.set(image.data.subarray(from, from + (x1 - x0) * bands), (y * width + x0) * bands);
  }
  return withPixels(image, width, height, out);
}
