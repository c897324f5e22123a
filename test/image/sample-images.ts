import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationParameters, ImageMode, PilImage } from '../../src/image/index.js';

const BANDS: Partial<Record<ImageMode, number>> = { L: 1, LA: 2, RGB: 3, RGBA: 4 };

/** A smooth image (lossy codecs keep it close), alpha running across the full range. */
export function gradient(width: number, height: number, mode: ImageMode = 'RGB'): PilImage {
  const bands = BANDS[mode]!;
  const data = new Uint8Array(width * height * bands);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let b = 0; b < bands; b++) data[(y * width + x) * bands + b] = Math.round((255 * (x + y * (b + 1))) / (width + height * (b + 1)));
    }
  }
  return { width, height, mode, data };
}

/** Mean absolute difference per value. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `kandinsky-${name}-`));
}

/** Parameters as the CLI would record them, with text outside Latin-1. */
export const sampleParameters: GenerationParameters = {
  mode: 'img2img',
  prompt: 'a red cat, oil painting — Кандинский',
  negative_prompt: 'blurry, low quality',
  seed: 42,
  width: 512,
  height: 512,
  num_inference_steps: 75,
  num_inference_steps_prior: 25,
  guidance_scale: 4,
  prior_guidance_scale: 4,
  strength: 0.3,
  scheduler: 'DDPMScheduler',
  model: { id: 'kandinsky-community/kandinsky-2-2-decoder', revision: '0123456789abcdef0123456789abcdef01234567' },
  prior: { id: '/models/my-prior', weights_sha256: 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210' },
  inputs: { image: { file: 'cat.png', sha256: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90' } },
  num_outputs: 2,
  index: 1,
  software: 'kandinsky 0.1.0',
};
