import { showJson } from './json-file.js';
import { ConfigError } from '../errors.js';

/**
 * The largest width or count a config may give unless a field says otherwise: 2^20 = 1,048,576. Published
 * networks stay far below it (the largest is CLIP's vocabulary, 49408). A size from a config sizes tables built
 * before any weight can vouch for it (timestep frequencies, masks, shape constants) and is multiplied into
 * other sizes; with every factor bounded here, a hostile value fails at once instead of allocating gigabytes,
 * and a product of two stays an exact integer. Products that size something are bounded where they are formed.
 */
export const MAX_SIZE = 1 << 20;

/** The most entries a per-block list may have: each block halves or doubles the resolution, and real networks have 4. */
export const MAX_BLOCKS = 64;

/**
 * Typed reads of a config.json: an absent key (or `null`, which diffusers writes for "use the default")
 * takes the library's default; a value of the wrong kind is a ConfigError naming the file, the field, the
 * value and what is expected. `oneOf` is the exception on null: there `None` can be an option of its own
 * (PriorTransformer's `added_emb_type`), so only an absent key takes the default.
 */
export class ConfigFields {
  constructor(
    private readonly json: Record<string, unknown>,
    readonly source: string,
  ) {}

  /** A positive integer (a width, a count), at most `max` (MAX_SIZE unless given). */
  int(key: string, fallback?: number, o: { max?: number } = {}): number {
    const max = o.max ?? MAX_SIZE;
    const v = this.value(key, fallback);
    if (!isPositiveInt(v, max)) throw this.error(key, v, `a positive integer (at most ${max})`);
    return v;
  }

  /** Any integer exactly representable as a number (a token id, an offset). */
  integer(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (!Number.isSafeInteger(v)) throw this.error(key, v, 'an integer');
    return v as number;
  }

  /** A finite number (a scale factor). */
  number(key: string, fallback: number): number {
    const v = this.value(key, fallback);
    if (!Number.isFinite(v)) throw this.error(key, v, 'a finite number');
    return v as number;
  }

  /** A positive finite number (an epsilon). */
  positive(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (!Number.isFinite(v) || !((v as number) > 0)) throw this.error(key, v, 'a positive finite number');
    return v as number;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key, fallback);
    if (typeof v !== 'boolean') throw this.error(key, v, 'true or false');
    return v;
  }

  /** A list of exactly `length` finite numbers (a per-channel mean). */
  numbers(key: string, length: number, fallback: readonly number[]): number[] {
    const v = this.value(key, fallback);
    if (!Array.isArray(v) || v.length !== length || !v.every((x) => Number.isFinite(x))) throw this.error(key, v, `a list of ${length} finite numbers`);
    return [...v];
  }

  /** A list of 1 to MAX_BLOCKS positive integers, each at most MAX_SIZE (`block_out_channels`). */
  ints(key: string, fallback: readonly number[]): number[] {
    const v = this.value(key, fallback);
    if (!isList(v) || v.length === 0 || !v.every((x) => isPositiveInt(x, MAX_SIZE))) {
      throw this.error(key, v, `a list of 1 to ${MAX_BLOCKS} positive integers (each at most ${MAX_SIZE})`);
    }
    return [...v];
  }

  /** One positive integer for every block, or a list with one per block, expanded as diffusers does. */
  perBlock(key: string, fallback: number, blocks: number): number[] {
    const v = this.value(key, fallback);
    if (isPositiveInt(v, MAX_SIZE)) return new Array<number>(blocks).fill(v);
    if (isList(v) && v.length === blocks && v.every((x) => isPositiveInt(x, MAX_SIZE))) return [...v];
    throw this.error(key, v, `a positive integer (at most ${MAX_SIZE}) or a list of ${blocks} (one per block)`);
  }

  /** One block type per `block_out_channels` entry, each among those this implementation builds. */
  blockTypes<T extends string>(key: string, supported: readonly T[], fallback: readonly string[], blocks: number): T[] {
    const v = this.value(key, fallback);
    if (!isList(v) || v.length !== blocks) throw this.error(key, v, `a list of ${blocks} block types (one per "block_out_channels" entry)`);
    v.forEach((type, i) => {
      if (!supported.includes(type as T)) {
        throw new ConfigError(`${this.source}: field "${key}" [${i}] is ${showJson(type)}, an unsupported block type; supported: ${supported.join(', ')}`);
      }
    });
    return [...v] as T[];
  }

  /** One of the values this implementation supports; `null` may be one of them. */
  oneOf<T extends string | number | boolean | null>(key: string, supported: readonly T[], fallback: T): T {
    const v = key in this.json ? this.json[key] : fallback;
    if (!supported.includes(v as T)) {
      throw this.error(key, v, `one of ${supported.map((s) => JSON.stringify(s)).join(', ')} (the supported values)`);
    }
    return v as T;
  }

  /** A value that must be exactly `expected` for the network as built here (a scale of 1, an option off). */
  exactly<T extends number | boolean>(key: string, expected: T, fallback: T): T {
    const v = this.value(key, fallback);
    if (v !== expected) throw this.error(key, v, `${expected} (the only value supported)`);
    return expected;
  }

  /**
   * A value of a form only one config has (an image size given as an integer or as a dict): `parse` turns the
   * raw JSON value into it, or gives undefined to refuse it as not being `expected`.
   */
  parsed<T>(key: string, fallback: T, parse: (value: unknown) => T | undefined, expected: string): T {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    const parsed = parse(v);
    if (parsed === undefined) throw this.error(key, v, expected);
    return parsed;
  }

  /** A field check that involves more than one key. */
  require(ok: boolean, message: string): void {
    if (!ok) throw new ConfigError(`${this.source}: ${message}`);
  }

  private value(key: string, fallback: unknown): unknown {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) throw new ConfigError(`${this.source}: field "${key}" is missing`);
      return fallback;
    }
    return v;
  }

  /** A refused default is named as such: the config never wrote the value the message shows. */
  private error(key: string, value: unknown, expected: string): ConfigError {
    const defaulted = value !== this.json[key] ? '; the config leaves it unset, so that is the default' : '';
    return new ConfigError(`${this.source}: field "${key}" is ${showJson(value)}, expected ${expected}${defaulted}`);
  }
}

/** A config value as JSON, cut short: a hostile list of a million entries must not become a message as long. */
function isPositiveInt(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;
}

function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && v.length <= MAX_BLOCKS;
}
