import { ConfigFields, readJsonObject } from '../config/index.js';
import type { ResampleFilter } from './resample-filters.js';

/** Target of the resize step: the shorter side, or an exact size. */
export type ResizeTarget = { readonly shortestEdge: number } | { readonly height: number; readonly width: number };

/** `preprocessor_config.json` of a CLIPImageProcessor, with transformers' defaults filled in. */
export interface CLIPImageProcessorConfig {
  readonly doConvertRgb: boolean;
  readonly doResize: boolean;
  readonly size: ResizeTarget;
  readonly resample: ResampleFilter;
  readonly doCenterCrop: boolean;
  readonly cropSize: { readonly height: number; readonly width: number };
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly number[];
  readonly imageStd: readonly number[];
}

/** OPENAI_CLIP_MEAN / OPENAI_CLIP_STD of transformers. */
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/**
 * The largest image side a config may ask the resize or the crop for: the vision tower takes 224 px, and a
 * side of a million would have the resize allocate terabytes before any weight is involved.
 */
export const MAX_IMAGE_SIDE = 4096;

/** PIL.Image.Resampling values; BOX (4) and HAMMING (5) are not implemented. */
export const PIL_RESAMPLE_EXPECTED = '0 (nearest), 1 (lanczos), 2 (bilinear) or 3 (bicubic)';
const PIL_RESAMPLE: Record<number, ResampleFilter> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic' };

export function readImageProcessorConfig(path: string): CLIPImageProcessorConfig {
  return parseImageProcessorConfig(readJsonObject(path, 'image processor config'), path);
}

export function parseImageProcessorConfig(json: Record<string, unknown>, source: string): CLIPImageProcessorConfig {
  const f = new ConfigFields(json, source);
  return {
    doConvertRgb: f.bool('do_convert_rgb', true),
    doResize: f.bool('do_resize', true),
    size: f.parsed('size', { shortestEdge: 224 }, resizeTarget, `a side of 1 to ${MAX_IMAGE_SIDE}, {"shortest_edge": n} or {"height": h, "width": w}`),
    resample: f.parsed('resample', 'bicubic', pilResample, PIL_RESAMPLE_EXPECTED),
    doCenterCrop: f.bool('do_center_crop', true),
    cropSize: f.parsed('crop_size', { height: 224, width: 224 }, squareSize, `a side of 1 to ${MAX_IMAGE_SIDE} or {"height": h, "width": w}`),
    doRescale: f.bool('do_rescale', true),
    rescaleFactor: f.number('rescale_factor', 1 / 255),
    doNormalize: f.bool('do_normalize', true),
    imageMean: f.numbers('image_mean', 3, CLIP_MEAN),
    imageStd: f.numbers('image_std', 3, CLIP_STD),
  };
}

export function pilResample(v: unknown): ResampleFilter | undefined {
  return typeof v === 'number' && Object.hasOwn(PIL_RESAMPLE, v) ? PIL_RESAMPLE[v] : undefined;
}

/** transformers' get_size_dict(size, default_to_square=False): an int is the shortest edge. */
function resizeTarget(v: unknown): ResizeTarget | undefined {
  if (isSide(v)) return { shortestEdge: v };
  const o = asObject(v);
  if (isSide(o.shortest_edge)) return { shortestEdge: o.shortest_edge };
  if (isSide(o.height) && isSide(o.width)) return { height: o.height, width: o.width };
  return undefined;
}

/** get_size_dict(size, default_to_square=True): an int is a square. */
export function squareSize(v: unknown): { height: number; width: number } | undefined {
  if (isSide(v)) return { height: v, width: v };
  const o = asObject(v);
  return isSide(o.height) && isSide(o.width) ? { height: o.height, width: o.width } : undefined;
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function isSide(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= MAX_IMAGE_SIDE;
}
