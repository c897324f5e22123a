import { InputError } from '../errors.js';
import { convert, resize, type PilImage } from '../image/index.js';
import { concat, repeatInterleave, rows, tensor, tile, type Float32Tensor } from '../tensor/index.js';
import { asList, repeatToBatch } from './batch.js';
import { KandinskyV22DecoderBase, preprocessImages, type DecoderCallOptions, type DecoderOutput } from './decoder.js';

export interface InpaintCallOptions extends DecoderCallOptions {
  readonly image: PilImage | readonly PilImage[];
  /** White (>= 0.5) = repaint, black = keep: diffusers' convention since 0.19. */
  readonly maskImage: PilImage | readonly PilImage[];
}

/** `KandinskyV22InpaintPipeline` over the decoder-inpaint repo (doc §4.6). */
export class KandinskyV22InpaintPipeline extends KandinskyV22DecoderBase {
  async call(o: InpaintCallOptions): Promise<DecoderOutput> {
    const run = await this.prepare(o, 'inpaint');
    const height = o.height ?? 512;
    const width = o.width ?? 512;
    const images = asList(o.image);
    const masks = asList(o.maskImage);
    if (masks.length !== images.length) throw new InputError(`maskImage: ${masks.length} masks for ${images.length} images (one each)`);
    const imageLatents = await this.encode(preprocessImages(images, width, height));
    const [, , lh, lw] = imageLatents.shape;
    if (lh !== run.h || lw !== run.w) {
      throw new InputError(`inpainting needs height and width that are multiples of ${run.scale * run.scale}: ${width}x${height} encodes to ${lw * run.scale}x${lh * run.scale}`);
    }
    // 1 = keep from here on (the mask is inverted once binarised).
    const mask = prepareMask(interpolateNearest(keepMask(masks, width, height), lh, lw));
    const maskedImage = multiply(imageLatents, mask);
    const perRow = (x: Float32Tensor) => {
      const repeated = repeatToBatch(repeatInterleave(x, run.numImagesPerPrompt), run.batch, 'image');
      return run.cfg ? tile(repeated, 2) : repeated;
    };
    const extraChannels = concat([perRow(maskedImage), perRow(mask)], 1);
    const latents = this.initialLatents(run, imageLatents.shape[1], o.latents);
    const noise = latents;
    const known = rows(imageLatents, 0, 1);
    const keep = rows(mask, 0, 1);
    const timesteps = run.scheduler.timesteps;
    const afterStep = (x: Float32Tensor, i: number) => {
      const init = i < timesteps.length - 1 ? run.scheduler.addNoise(tile(known, x.shape[0]), noise, timesteps[i + 1]) : known;
      return blend(keep, init, x);
    };
    const final = await this.denoise(run, latents, timesteps, o, { extraChannels, afterStep });
    return this.decode(blend(keep, known, final), o.outputType);
  }
}

/**
 * `prepare_mask_and_masked_image`'s mask: Pillow LANCZOS resize to (width, height), "L", `/ 255`, binarised at
 * 0.5, then inverted so that 1 = keep. [n, 1, H, W].
 */
export function keepMask(masks: readonly PilImage[], width: number, height: number): Float32Tensor {
  if (masks.length === 0) throw new InputError('maskImage: no mask given');
  const plane = width * height;
  const out = new Float32Array(masks.length * plane);
  masks.forEach((m, n) => {
    const grey = convert(resize(m, width, height, { filter: 'lanczos' }), 'L');
    for (let p = 0; p < plane; p++) out[n * plane + p] = Math.fround(grey.data[p] / 255) < 0.5 ? 1 : 0;
  });
  return tensor(out, [masks.length, 1, height, width]);
}

/** `F.interpolate(mask, size, mode="nearest")`: output pixel (i, j) takes input pixel (floor(i*H/h), floor(j*W/w)). */
export function interpolateNearest(x: Float32Tensor, h: number, w: number): Float32Tensor {
  const [n, c, H, W] = x.shape;
  const out = new Float32Array(n * c * h * w);
  const sh = Math.fround(H / h);
  const sw = Math.fround(W / w);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      const si = Math.min(Math.floor(Math.fround(i * sh)), H - 1);
      for (let j = 0; j < w; j++) {
        const sj = Math.min(Math.floor(Math.fround(j * sw)), W - 1);
        out[(p * h + i) * w + j] = x.data[(p * H + si) * W + sj];
      }
    }
  }
  return tensor(out, [n, c, h, w]);
}

/**
 * diffusers' `prepare_mask`: every latent cell that is not kept also clears its neighbours up, left, up-left,
 * down, right and down-right (not up-right or down-left), judged on the original values (doc §4.6 step 5).
 */
export function prepareMask(mask: Float32Tensor): Float32Tensor {
  const [n, c, h, w] = mask.shape;
  const out = new Float32Array(mask.data);
  const neighbours = [[-1, 0], [0, -1], [-1, -1], [1, 0], [0, 1], [1, 1]];
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        if (mask.data[base + i * w + j] === 1) continue;
        for (const [di, dj] of neighbours) {
          const y = i + di;
          const x = j + dj;
          if (y >= 0 && y < h && x >= 0 && x < w) out[base + y * w + x] = 0;
        }
      }
    }
  }
  return tensor(out, mask.shape);
}

/** `image * mask`, the mask [n, 1, h, w] broadcast over channels. */
function multiply(image: Float32Tensor, mask: Float32Tensor): Float32Tensor {
  const [n, c, h, w] = image.shape;
  const plane = h * w;
  const out = new Float32Array(image.data.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < plane; p++) out[(b * c + ch) * plane + p] = Math.fround(image.data[(b * c + ch) * plane + p] * mask.data[b * plane + p]);
    }
  }
  return tensor(out, image.shape);
}

/** `m * known + (1 - m) * latents` with one mask and one known image [1, ...] broadcast over the batch. */
function blend(m: Float32Tensor, known: Float32Tensor, latents: Float32Tensor): Float32Tensor {
  const [, c, h, w] = latents.shape;
  const plane = h * w;
  const perRow = c * plane;
  const out = new Float32Array(latents.data.length);
  for (let i = 0; i < out.length; i++) {
    const keep = m.data[i % plane];
    const k = known.data.length === out.length ? known.data[i] : known.data[i % perRow];
    out[i] = Math.fround(Math.fround(keep * k) + Math.fround(Math.fround(1 - keep) * latents.data[i]));
  }
  return tensor(out, latents.shape);
}
