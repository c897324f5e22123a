import { readJsonObject } from '../config/index.js';
import { ConfigError } from '../errors.js';
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

/** PIL.Image.Resampling values; BOX (4) and HAMMING (5) are not implemented. */
const PIL_RESAMPLE: Record<number, ResampleFilter> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic' };

export function readImageProcessorConfig(path: string): CLIPImageProcessorConfig {
  return parseImageProcessorConfig(readJsonObject(path, 'image processor config'), path);
}

export function parseImageProcessorConfig(json: Record<string, unknown>, source: string): CLIPImageProcessorConfig {
  const field = new Fields(json, source);
  const resample = field.integer('resample', 3);
  if (!(resample in PIL_RESAMPLE)) {
    throw new ConfigError(`${source}: "resample" ${resample} is not supported; expected 0 (nearest), 1 (lanczos), 2 (bilinear) or 3 (bicubic)`);
  }
  return {
    doConvertRgb: field.boolean('do_convert_rgb', true),
    doResize: field.boolean('do_resize', true),
    size: field.resizeTarget('size'),
    resample: PIL_RESAMPLE[resample],
    doCenterCrop: field.boolean('do_center_crop', true),
    cropSize: field.cropSize('crop_size'),
    doRescale: field.boolean('do_rescale', true),
    rescaleFactor: field.number('rescale_factor', 1 / 255),
    doNormalize: field.boolean('do_normalize', true),
    imageMean: field.triple('image_mean', CLIP_MEAN),
    imageStd: field.triple('image_std', CLIP_STD),
  };
}

/** Typed reads of config fields; an absent or null field takes the default, a wrong one is an error. */
class Fields {
  constructor(private readonly json: Record<string, unknown>, private readonly source: string) {}

  private get(key: string): unknown {
    return this.json[key] ?? undefined;
  }

  private fail(key: string, expected: string): never {
    throw new ConfigError(`${this.source}: "${key}" must be ${expected}, got ${JSON.stringify(this.json[key])}`);
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    return typeof v === 'boolean' ? v : this.fail(key, 'true or false');
  }

  number(key: string, fallback: number): number {
    const v = this.get(key);
    if (v === undefined) return fallback;
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(key, 'a number');
  }

  integer(key: string, fallback: number): number {
    const v = this.number(key, fallback);
    return Number.isInteger(v) ? v : this.fail(key, 'an integer');
  }

  triple(key: string, fallback: number[]): number[] {
    const v = this.get(key);
    if (v === undefined) return fallback;
    const ok = Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    return ok ? (v as number[]) : this.fail(key, 'a list of 3 numbers (one per RGB channel)');
  }

  /** transformers' get_size_dict(size, default_to_square=False): an int is the shortest edge. */
  resizeTarget(key: string): ResizeTarget {
    const v = this.get(key);
    if (v === undefined) return { shortestEdge: 224 };
    if (isSide(v)) return { shortestEdge: v };
    const o = (v ?? {}) as Record<string, unknown>;
    if (isSide(o.shortest_edge)) return { shortestEdge: o.shortest_edge };
    if (isSide(o.height) && isSide(o.width)) return { height: o.height, width: o.width };
    return this.fail(key, 'a positive integer, {"shortest_edge": n} or {"height": h, "width": w}');
  }

  /** get_size_dict(crop_size, default_to_square=True): an int is a square. */
  cropSize(key: string): { height: number; width: number } {
    const v = this.get(key);
    if (v === undefined) return { height: 224, width: 224 };
    if (isSide(v)) return { height: v, width: v };
    const o = (v ?? {}) as Record<string, unknown>;
    if (isSide(o.height) && isSide(o.width)) return { height: o.height, width: o.width };
    return this.fail(key, 'a positive integer or {"height": h, "width": w}');
  }
}

function isSide(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}
