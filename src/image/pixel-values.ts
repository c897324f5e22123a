import { tensor, type Float32Tensor } from '../tensor/index.js';
import type { PilImage } from './image.js';

/** The float steps transformers' image processors share after the uint8 ones. */
export interface RescaleNormalize {
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly number[];
  readonly imageStd: readonly number[];
}

/**
 * RGB images of one size as `pixel_values` [N, 3, H, W]: `f32(f64(p) * rescale_factor)`, then
 * `(x - mean) / std` with each operation rounded to float32, as numpy does them in the reference.
 */
export function pixelValues(images: readonly PilImage[], o: RescaleNormalize): Float32Tensor {
  const { width, height } = images[0];
  const plane = width * height;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((image, n) => {
    for (let c = 0; c < 3; c++) {
      const mean = Math.fround(o.imageMean[c]);
      const std = Math.fround(o.imageStd[c]);
      const base = (n * 3 + c) * plane;
      for (let i = 0; i < plane; i++) {
        const p = image.data[3 * i + c];
        const x = o.doRescale ? Math.fround(p * o.rescaleFactor) : p;
        out[base + i] = o.doNormalize ? Math.fround(Math.fround(x - mean) / std) : x;
      }
    }
  });
  return tensor(out, [images.length, 3, height, width]);
}
