import { WeightsError } from '../errors.js';
import { formatShape } from '../tensor/index.js';
import { BYTES_PER_ELEMENT, isWeightDType, MAX_TENSORS, type WeightDType } from './tensor-info.js';

// The header as the format's reference implementation (the Rust crate `safetensors`: read_metadata and
// Metadata::validate) accepts it: UTF-8 JSON starting with "{"; an object whose optional "__metadata__"
// maps strings to strings and whose other members are tensors {"dtype", "shape": [usize], "data_offsets":
// [begin, end]}; sorted by offsets the tensors tile the data section exactly, each numel * itemsize bytes,
// with no arithmetic overflow. We are stricter in three ways: duplicate keys and unknown fields are refused
// (JSON.parse would keep the last duplicate silently), and a tensor has at most MAX_RANK dimensions.
// The header is read by this parser of that grammar alone, not by JSON.parse: JSON.parse builds whatever a
// hostile header nests (100 MB of nested arrays cost gigabytes) before anything could be checked, while here
// every value is checked as it is read, so memory stays a small multiple of the header's size.

/** numpy's limit: a tensor of more dimensions is a hostile header (a shape of millions of 1s). */
const MAX_RANK = 64;
/** Keys of "__metadata__": a few in practice (format, training notes). */
const MAX_METADATA_KEYS = 10_000;
/** How much of a token an error message quotes. */
const QUOTE_CHARS = 60;

/** One tensor as the header states it; `begin` and `end` are offsets in the data section. */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** In the order of the header. */
  readonly entries: HeaderEntry[];
  readonly metadata: Record<string, string>;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A string from a header, cut short for a message. */
export function quoted(text: string): string {
  return JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text);
}

/** Parses and checks the JSON header of the safetensors file `path` (its bytes after the length). */
export function parseSafetensorsHeader(bytes: Uint8Array, path: string): SafetensorsHeader {
  if (bytes[0] !== OPEN_BRACE) throw new WeightsError(`${path}: not a safetensors file (its header does not start with "{")`);
  const parser = new HeaderParser(bytes, path);
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  parser.object('the header', (key) => {
    if (key === '__metadata__') metadata = parser.metadata();
    else entries.push(parser.entry(key));
  }, { keys: MAX_TENSORS + 1, message: `more than ${MAX_TENSORS} tensors` });
  parser.end();
  return { entries, metadata };
}

/**
 * Sorted by offsets, the tensors must tile the data section of `dataSize` bytes exactly: a tensor that
 * overlaps another, a byte that belongs to no tensor, or a tensor past the end of the file is refused.
 */
export function checkDataLayout(entries: readonly HeaderEntry[], dataSize: number, path: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let previous: HeaderEntry | undefined;
  for (const entry of sorted) {
    const at = previous?.end ?? 0;
    if (entry.begin < at) {
      throw new WeightsError(`${path}: tensor ${quoted(entry.name)} (bytes ${entry.begin}-${entry.end} of the data section) overlaps tensor ${quoted(previous!.name)} (bytes ${previous!.begin}-${previous!.end})`);
    }
    if (entry.begin > at) {
      throw new WeightsError(`${path}: bytes ${at}-${entry.begin} of the data section belong to no tensor (a hole before tensor ${quoted(entry.name)})`);
    }
    if (entry.end > dataSize) {
      throw new WeightsError(`${path}: tensor ${quoted(entry.name)} ends at byte ${entry.end} of the data section, which has only ${dataSize} bytes (truncated file?)`);
    }
    previous = entry;
  }
  const end = previous?.end ?? 0;
  if (end < dataSize) {
    throw new WeightsError(`${path}: the last ${dataSize - end} bytes of the data section belong to no tensor (the tensors end at byte ${end} of ${dataSize})`);
  }
}

class HeaderParser {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array, private readonly path: string) {}

  /**
   * Members of an object up to its "}": `member` reads each value. Duplicate keys are refused, and so is
   * a key past `limit.keys`, before its value is read.
   */
  object(where: string, member: (key: string) => void, limit?: { keys: number; message: string }): void {
    this.expect(OPEN_BRACE, '"{"');
    if (this.peek() === CLOSE_BRACE) {
      this.pos++;
      return;
    }
    const seen = new Set<string>();
    for (;;) {
      const key = this.string('a key');
      if (seen.has(key)) this.refuse(`${where} holds ${quoted(key)} twice (JSON readers keep only one of them)`);
      seen.add(key);
      if (limit && seen.size > limit.keys) this.refuse(`${where} holds ${limit.message}`);
      this.expect(COLON, '":"');
      member(key);
      if (this.separator(CLOSE_BRACE, '"," or "}"')) return;
    }
  }

  /** "__metadata__": an object of strings, or null as the reference allows. */
  metadata(): Record<string, string> {
    if (this.literal('null')) return {};
    if (this.peek() !== OPEN_BRACE) this.mismatch(`__metadata__ must be an object of strings, found ${this.found()}`);
    const pairs: [string, string][] = [];
    this.object('__metadata__', (key) => {
      if (this.peek() !== QUOTE) this.mismatch(`__metadata__ ${quoted(key)} must be a string, found ${this.found()}`);
      pairs.push([key, this.string('a string')]);
    }, { keys: MAX_METADATA_KEYS, message: `more than ${MAX_METADATA_KEYS} keys` });
    // fromEntries defines own properties, so a key "__proto__" stays a key.
    return Object.fromEntries(pairs);
  }

  entry(name: string): HeaderEntry {
    const where = `tensor ${quoted(name)}`;
    if (this.peek() !== OPEN_BRACE) this.mismatch(`${where} must be an object {dtype, shape, data_offsets}, found ${this.found()}`);
    const fields: { dtype?: WeightDType; shape?: number[]; data_offsets?: number[] } = {};
    this.object(where, (key) => {
      if (key === 'dtype') fields.dtype = this.dtype(where);
      else if (key === 'shape') fields.shape = this.integers(where, 'shape', MAX_RANK);
      else if (key === 'data_offsets') fields.data_offsets = this.integers(where, 'data_offsets', 2);
      else this.refuse(`${where} has an unexpected field ${quoted(key)} (expected dtype, shape and data_offsets)`);
    });
    const { dtype, shape, data_offsets: offsets } = fields;
    if (dtype === undefined || shape === undefined || offsets === undefined) {
      const missing = Object.entries({ dtype, shape, data_offsets: offsets }).filter(([, v]) => v === undefined).map(([k]) => k);
      this.refuse(`${where} lacks ${missing.join(' and ')}`);
    }
    if (offsets.length !== 2 || offsets[1] < offsets[0]) this.refuse(`${where} has data_offsets ${formatShape(offsets)}, expected [begin, end] with begin <= end`);
    const [begin, end] = offsets;
    const bytes = byteSize(shape, dtype);
    if (bytes === undefined) this.refuse(`${where}: ${dtype} ${formatShape(shape)} would hold 2^53 bytes or more`);
    if (end - begin !== bytes) this.refuse(`${where}: data_offsets span ${end - begin} bytes, ${dtype} ${formatShape(shape)} needs ${bytes}`);
    return { name, dtype, shape, begin, end };
  }

  /** Only whitespace may follow the header's object (writers pad it with spaces). */
  end(): void {
    if (this.peek() !== -1) this.fail(`expected the end of the header, found ${this.found()}`);
  }

  private dtype(where: string): WeightDType {
    if (this.peek() !== QUOTE) this.mismatch(`${where} has a dtype that is not a string: ${this.found()}`);
    const dtype = this.string('a dtype');
    if (!isWeightDType(dtype)) {
      this.refuse(`${where} has unsupported dtype ${quoted(dtype)} (expected one of ${Object.keys(BYTES_PER_ELEMENT).join(', ')})`);
    }
    return dtype;
  }

  /** An array of at most `max` non-negative safe integers. */
  private integers(where: string, field: string, max: number): number[] {
    if (this.peek() !== OPEN_BRACKET) this.mismatch(`${where} has a ${field} that is not an array of integers: ${this.found()}`);
    this.pos++;
    const values: number[] = [];
    if (this.peek() === CLOSE_BRACKET) {
      this.pos++;
      return values;
    }
    for (;;) {
      if (values.length === max) this.refuse(`${where} has a ${field} of more than ${max} values`);
      values.push(this.integer(where, field));
      if (this.separator(CLOSE_BRACKET, '"," or "]"')) return values;
    }
  }

  private integer(where: string, field: string): number {
    const start = this.pos;
    let end = start;
    while (end < this.bytes.length && isNumberByte(this.bytes[end])) end++;
    if (end === start) this.mismatch(`${where} has a ${field} holding ${this.found()}, expected non-negative integers`);
    const token = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, Math.min(end - start, QUOTE_CHARS)).toString('latin1');
    const value = Number(token);
    if (end - start > QUOTE_CHARS || !/^(?:0|[1-9][0-9]*)$/.test(token) || !Number.isSafeInteger(value)) {
      this.refuse(`${where} has a ${field} holding ${token}${end - start > QUOTE_CHARS ? '…' : ''}, expected integers from 0 to 2^53`);
    }
    this.pos = end;
    return value;
  }

  /** A JSON string, escapes decoded; invalid UTF-8 is refused as the reference refuses it. */
  private string(what: string): string {
    if (this.peek() !== QUOTE) this.fail(`expected ${what}, found ${this.found()}`);
    const start = this.pos;
    let escaped = false;
    let i = start + 1;
    for (; ; i++) {
      if (i >= this.bytes.length) this.fail('unterminated string');
      const c = this.bytes[i];
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        i++;
      } else if (c < 0x20) {
        this.pos = i;
        this.fail('control character inside a string');
      }
    }
    this.pos = i + 1;
    let text: string;
    try {
      text = utf8.decode(this.bytes.subarray(escaped ? start : start + 1, escaped ? i + 1 : i));
    } catch {
      this.pos = start;
      this.fail('invalid UTF-8 inside a string');
    }
    if (!escaped) return text;
    try {
      return JSON.parse(text) as string;
    } catch {
      this.pos = start;
      this.fail('invalid escape inside a string');
    }
  }

  /** After a value: true at `close` (consumed), false after a comma; anything else is malformed. */
  private separator(close: number, expected: string): boolean {
    const c = this.peek();
    if (c === close || c === COMMA) {
      this.pos++;
      return c === close;
    }
    this.fail(`expected ${expected}, found ${this.found()}`);
  }

  private literal(word: string): boolean {
    this.peek();
    for (let i = 0; i < word.length; i++) if (this.bytes[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  private expect(c: number, what: string): void {
    if (this.peek() !== c) this.fail(`expected ${what}, found ${this.found()}`);
    this.pos++;
  }

  /** The next byte after whitespace, or -1 at the end. */
  private peek(): number {
    const { bytes } = this;
    while (this.pos < bytes.length && isWhitespace(bytes[this.pos])) this.pos++;
    return this.pos < bytes.length ? bytes[this.pos] : -1;
  }

  /** What stands at the current position, for messages: the kind of a value, never its contents. */
  private found(): string {
    const c = this.peek();
    if (c === -1) return 'the end of the header';
    if (c === OPEN_BRACE) return 'an object';
    if (c === OPEN_BRACKET) return 'an array';
    if (c === QUOTE) return 'a string';
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return 'a number';
    if (c === 0x74 || c === 0x66) return 'a boolean';
    if (c === 0x6e) return 'null';
    return c >= 0x21 && c <= 0x7e ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16).padStart(2, '0')}`;
  }

  /** A header that is not JSON. */
  private fail(what: string): never {
    throw new WeightsError(`${this.path}: malformed safetensors header (${what} at byte ${this.pos} of the header)`);
  }

  /** A value of the wrong kind at the current position; at the end of the header, the JSON is cut short. */
  private mismatch(message: string): never {
    if (this.peek() === -1) this.fail('the header ends early');
    this.refuse(message);
  }

  /** JSON that is not a safetensors header. */
  private refuse(message: string): never {
    throw new WeightsError(`${this.path}: ${message}`);
  }
}

/** numel * itemsize, or undefined when it reaches 2^53 (the reference refuses an overflow too). */
function byteSize(shape: readonly number[], dtype: WeightDType): number | undefined {
  let bytes = BYTES_PER_ELEMENT[dtype];
  for (const d of shape) {
    bytes *= d;
    if (!Number.isSafeInteger(bytes)) return undefined;
  }
  return bytes;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The bytes a JSON number can hold: digits, sign, point, exponent. */
function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}
