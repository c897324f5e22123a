import { ConfigError } from '../errors.js';

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

  /** A positive integer (a width, a count). */
  int(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (!isPositiveInt(v)) throw this.error(key, v, 'a positive integer');
    return v;
  }

  /** Any integer (a token id). */
  integer(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.error(key, v, 'an integer');
    return v;
  }

  /** A positive number (an epsilon). */
  positive(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !(v > 0)) throw this.error(key, v, 'a positive number');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key, fallback);
    if (typeof v !== 'boolean') throw this.error(key, v, 'true or false');
    return v;
  }

  /** A non-empty list of positive integers (`block_out_channels`). */
  ints(key: string, fallback: readonly number[]): number[] {
    const v = this.value(key, fallback);
    if (!Array.isArray(v) || v.length === 0 || !v.every(isPositiveInt)) throw this.error(key, v, 'a non-empty list of positive integers');
    return [...v];
  }

  /** One positive integer for every block, or a list with one per block, expanded as diffusers does. */
  perBlock(key: string, fallback: number, blocks: number): number[] {
    const v = this.value(key, fallback);
    if (isPositiveInt(v)) return new Array<number>(blocks).fill(v);
    if (Array.isArray(v) && v.length === blocks && v.every(isPositiveInt)) return [...v];
    throw this.error(key, v, `a positive integer or a list of ${blocks} (one per block)`);
  }

  /** One block type per `block_out_channels` entry, each among those this implementation builds. */
  blockTypes<T extends string>(key: string, supported: readonly T[], fallback: readonly string[], blocks: number): T[] {
    const v = this.value(key, fallback);
    if (!Array.isArray(v) || v.length !== blocks) throw this.error(key, v, `a list of ${blocks} block types (one per "block_out_channels" entry)`);
    v.forEach((type, i) => {
      if (!supported.includes(type as T)) {
        throw new ConfigError(`${this.source}: field "${key}" [${i}] is ${JSON.stringify(type)}, an unsupported block type; supported: ${supported.join(', ')}`);
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
    return new ConfigError(`${this.source}: field "${key}" is ${JSON.stringify(value)}, expected ${expected}${defaulted}`);
  }
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}
