/** Pillow's resampling filters (PIL.Image.Resampling), as named by `resize`. */
export type ResampleFilter = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';

/** A convolution kernel of libImaging/Resample.c: the weight at distance x, zero outside ±support. */
export interface Kernel {
  readonly support: number;
  readonly at: (x: number) => number;
}

// The expressions keep Resample.c's operation order so every double rounds as it does there.
const bilinear: Kernel = {
  support: 1,
  at: (x) => {
    const d = Math.abs(x);
    return d < 1 ? 1 - d : 0;
  },
};

/** Keys' cubic convolution with a = -0.5. */
const bicubic: Kernel = {
  support: 2,
  at: (x) => {
    const d = Math.abs(x);
    if (d < 1) return (1.5 * d - 2.5) * d * d + 1;
    if (d < 2) return (((d - 5) * d + 8) * d - 4) * -0.5;
    return 0;
  },
};

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

/** Sinc windowed by sinc(x/3), on [-3, 3). */
const lanczos: Kernel = {
  support: 3,
  at: (x) => (-3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0),
};

export const KERNELS: Record<Exclude<ResampleFilter, 'nearest'>, Kernel> = { bilinear, bicubic, lanczos };
