import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';

// Configs, indexes and tokenizer files are kilobytes to a few megabytes (vocab.json: 1.6 MB); a larger file
// is not one of them. JSON.parse builds an object per array or object, tens of bytes each, so the text is
// first scanned for its nesting depth and container count: a hostile file of empty arrays is refused before
// it costs more memory than a small multiple of its size.
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_DEPTH = 32;
const MAX_CONTAINERS = 100_000;

export interface JsonReadOptions {
  /** Keep integers beyond 2^53 as their digits, in strings, instead of rounding them (a seed may be any uint64). */
  largeIntegersAsStrings?: boolean;
}

/**
 * The JSON object in `path`. `what` names the file in every error ("config.json of component unet",
 * "sharded checkpoint index"): missing, not a regular file, too large, malformed, or not an object.
 */
export function readJsonObject(path: string, what: string, options: JsonReadOptions = {}): Record<string, unknown> {
  const text = readConfigText(path, what);
  const value = parseJson(options.largeIntegersAsStrings ? quoteLargeIntegers(text) : text, path, what);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${path}: ${what} must be a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** The text of a small config-like file, refused when it is missing, not a regular file or implausibly large. */
export function readConfigText(path: string, what: string): string {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ConfigError(`${path}: ${what} is not a regular file`);
    size = stat.size;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `${path}: ${what} not found` : `${path}: cannot read ${what} (${(err as Error).message})`);
  }
  if (size > MAX_JSON_BYTES) throw new ConfigError(`${path}: ${what} is ${size} bytes, more than the ${MAX_JSON_BYTES} a config file can be`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read ${what} (${(err as Error).message})`);
  }
}

function parseJson(text: string, path: string, what: string): unknown {
  checkStructure(text, path, what);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** `text` with every integer literal beyond Number.MAX_SAFE_INTEGER in quotes; the strings of the JSON are left alone. */
function quoteLargeIntegers(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (token) =>
    token.startsWith('"') || /[.eE]/.test(token) || Number.isSafeInteger(Number(token)) ? token : `"${token}"`,
  );
}

/** A JSON value for a message, cut short: a hostile list of a million entries must not become a message as long. */
export function showJson(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // JSON would say null
  if (Array.isArray(value) && value.length > 8) return `[${value.slice(0, 8).map(showJson).join(',')},...] (${value.length} entries)`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 100)}... (${text.length} characters)` : text;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Nesting depth and the number of arrays and objects, counted outside strings, within the bounds above. */
function checkStructure(text: string, path: string, what: string): void {
  let depth = 0;
  let containers = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) throw new ConfigError(`${path}: ${what} nests deeper than ${MAX_DEPTH} levels, which no config does`);
      if (++containers > MAX_CONTAINERS) throw new ConfigError(`${path}: ${what} holds more than ${MAX_CONTAINERS} arrays and objects, which no config does`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}
