import { ConfigError } from '../errors.js';

/**
 * Typed reads of a config.json: an absent key (or `null`, which diffusers writes for "use the default")
 * takes the library's default; a value of the wrong kind is a ConfigError naming the file and the field.
 */
export class ConfigFields {
  constructor(
    private readonly json: Record<string, unknown>,
    readonly source: string,
  ) {}

  /** A positive integer (a width, a count). */
  int(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw this.error(key, v, 'a positive integer');
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

  /** One of the values this implementation supports; `null` may be one of them. */
  oneOf<T extends string | null>(key: string, supported: readonly T[], fallback: T): T {
    const v = key in this.json ? this.json[key] : fallback;
    if (!supported.includes(v as T)) {
      throw this.error(key, v, `one of ${supported.map((s) => JSON.stringify(s)).join(', ')} (the supported values)`);
    }
    return v as T;
  }

  /** A value that must be exactly `expected` for the network as built here. */
  exactly(key: string, expected: number, fallback: number): number {
    const v = this.value(key, fallback);
    if (v !== expected) throw this.error(key, v, `${expected} (the only value supported)`);
    return v;
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

  private error(key: string, value: unknown, expected: string): ConfigError {
    return new ConfigError(`${this.source}: field "${key}" is ${JSON.stringify(value)}, expected ${expected}`);
  }
}
