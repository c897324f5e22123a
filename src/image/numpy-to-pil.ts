import { InputError } from '../errors.js';
import { formatShape, type Float32Tensor } from '../tensor/index.js';
import type { PilImage } from './image.js';

/**
 * diffusers' `numpy_to_pil` on a pipeline's "np" output [B, H, W, 3] in [0, 1]: per value
 * `uint8(round(float32(x * 255)))` with numpy's round-half-to-even, one RGB image per row (doc §4.4 step 7).
 */
export function toPilImages(images: Float32Tensor): PilImage[] {
  const [batch, height, width, channels] = images.shape;
  if (images.shape.length !== 4 || channels !== 3) {
    throw new InputError(`toPilImages: expected images of shape [batch, height, width, 3], got ${formatShape(images.shape)}`);
  }
  const size = height * width * 3;
  return Array.from({ length: batch }, (_, b) => {
    const row = images.data.subarray(b * size, (b + 1) * size);
    const data = new Uint8Array(size);
    // Out-of-range values wrap as numpy's astype("uint8") does on the platforms diffusers runs on.
    for (let i = 0; i < size; i++) data[i] = roundHalfEven(Math.fround(row[i] * 255));
    return { width, height, mode: 'RGB', data };
  });
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
