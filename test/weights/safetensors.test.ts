import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WeightsError } from '../../src/errors.js';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { MAX_TENSORS } from '../../src/weights/tensor-info.js';
import { readSafetensorsInChild } from './read-in-child.js';

const scratch = mkdtempSync(join(tmpdir(), 'kandinsky-safetensors-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let files = 0;

/** A safetensors file whose header is exactly `header` (JSON text or raw bytes), followed by `dataBytes` zero bytes. */
function withHeader(header: string | Buffer | object, dataBytes = 0): string {
  const path = join(scratch, `header-${files++}.safetensors`);
  const json = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, Buffer.alloc(dataBytes)]));
  return path;
}

function f32(begin: number, end: number, shape = [(end - begin) / 4]): object {
  return { dtype: 'F32', shape, data_offsets: [begin, end] };
}

/** A WeightsError naming `path` whose message matches `pattern`. */
function refusal(path: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof WeightsError, `expected a WeightsError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${path}: `), err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('readSafetensors', () => {
  it('reads the tensors, byte ranges and metadata a header states, in the order of the header', () => {
    const path = join(scratch, 'two.safetensors');
    writeSafetensors(path, {
      'b.weight': { dtype: 'F16', shape: [2, 3], bytes: new Uint8Array(12) },
      ['__proto__']: { dtype: 'I64', shape: [1], bytes: new Uint8Array(8) },
      'a.empty': { dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
    }, Object.fromEntries([['format', 'pt'], ['__proto__', 'kept as a key']]));
    const file = readSafetensors(path);
    assert.deepEqual(file.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength]), [
      ['b.weight', 'F16', [2, 3], 12], ['__proto__', 'I64', [1], 8], ['a.empty', 'F32', [0, 4], 0],
    ]);
    assert.equal(file.tensors[1].offset - file.tensors[0].offset, 12);
    assert.deepEqual(Object.entries(file.metadata), [['format', 'pt'], ['__proto__', 'kept as a key']]);
  });

  it('reads a file with no tensors, and __metadata__ null as the reference does', () => {
    assert.deepEqual(readSafetensors(withHeader('{}      ')).tensors, []);
    assert.deepEqual(readSafetensors(withHeader('{"__metadata__":null}')).metadata, {});
  });

  it('refuses __metadata__ that is not string to string', () => {
    for (const [metadata, expected] of [
      ['"pt"', /__metadata__ must be an object of strings, found a string/],
      ['["pt"]', /__metadata__ must be an object of strings, found an array/],
      ['{"format":1}', /__metadata__ "format" must be a string, found a number/],
      ['{"format":{"a":"b"}}', /__metadata__ "format" must be a string, found an object/],
      ['{"format":["pt"]}', /__metadata__ "format" must be a string, found an array/],
      ['{"format":null}', /__metadata__ "format" must be a string, found null/],
    ] as const) {
      const path = withHeader(`{"__metadata__":${metadata}}`);
      assert.throws(() => readSafetensors(path), refusal(path, expected));
    }
  });

  it('refuses 90 MB of nested arrays in __metadata__ at once, without building them', () => {
    const path = withHeader(Buffer.concat([Buffer.from('{"__metadata__":{"a":'), Buffer.alloc(45_000_000, '['), Buffer.alloc(45_000_000, ']'), Buffer.from('}}')]));
    const read = readSafetensorsInChild(path, 30_000);
    assert.equal(read.error?.name, 'WeightsError');
    assert.equal(read.error?.message, `${path}: __metadata__ "a" must be a string, found an array`);
    assert.ok(read.ms < 2000, `took ${read.ms} ms`);
    assert.ok(read.peakGrowthBytes < 400e6, `peak memory grew by ${read.peakGrowthBytes} bytes`);
  });

  it('refuses a header of 1.7M entries quickly without gigabytes', () => {
    const path = join(scratch, 'many-entries.safetensors');
    // 1.7M entries are what fits in the format's 100 MB limit.
    const entries = 1_700_000;
    const entry = (i: number): string => `"${i.toString(36)}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`;
    // Written in slices, so that this process does not hold the whole header either.
    let headerLength = 1 + entries;
    for (let i = 0; i < entries; i++) headerLength += entry(i).length;
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(headerLength));
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, length);
      for (let from = 0; from < entries; from += 100_000) {
        const slice = Array.from({ length: Math.min(100_000, entries - from) }, (_, k) => entry(from + k));
        writeSync(fd, `${from === 0 ? '{' : ','}${slice.join(',')}`);
      }
      writeSync(fd, '}');
    } finally {
      closeSync(fd);
    }
    const read = readSafetensorsInChild(path, 60_000);
    assert.equal(read.error?.message, `${path}: the header holds more than ${MAX_TENSORS} tensors`);
    assert.ok(read.ms < 5000, `took ${read.ms} ms`);
    // The header alone is ~90 MB; a refusal may hold it and a part of what it lists, not gigabytes.
    assert.ok(read.peakGrowthBytes < 3 * headerLength, `peak memory grew by ${read.peakGrowthBytes} bytes for a ${headerLength}-byte header`);
  });

  it('names an unknown dtype "constructor" as unsupported', () => {
    for (const dtype of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'U16', 'f32']) {
      const path = withHeader({ w: { dtype, shape: [1], data_offsets: [0, 4] } }, 4);
      assert.throws(() => readSafetensors(path), refusal(path,
        new RegExp(`^\\S+: tensor "w" has unsupported dtype "${dtype}" \\(expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL\\)$`)));
    }
    const path = withHeader({ w: { dtype: ['F32'], shape: [1], data_offsets: [0, 4] } }, 4);
    assert.throws(() => readSafetensors(path), refusal(path, /tensor "w" has a dtype that is not a string: an array/));
  });

  it('refuses overlapping offsets', () => {
    const path = withHeader({ a: f32(0, 16), b: f32(8, 24) }, 24);
    assert.throws(() => readSafetensors(path), refusal(path, /tensor "b" \(bytes 8-24 of the data section\) overlaps tensor "a" \(bytes 0-16\)/));
    const twice = withHeader({ a: f32(0, 16), b: f32(0, 16) }, 16);
    assert.throws(() => readSafetensors(twice), refusal(twice, /overlaps tensor "a"/));
  });

  it('refuses a hole between tensors, before the first and after the last', () => {
    const between = withHeader({ a: f32(0, 16), b: f32(20, 36) }, 36);
    assert.throws(() => readSafetensors(between), refusal(between, /bytes 16-20 of the data section belong to no tensor \(a hole before tensor "b"\)/));
    const before = withHeader({ a: f32(4, 20) }, 20);
    assert.throws(() => readSafetensors(before), refusal(before, /bytes 0-4 of the data section belong to no tensor/));
    const trailing = withHeader({ a: f32(0, 16) }, 20);
    assert.throws(() => readSafetensors(trailing), refusal(trailing, /the last 4 bytes of the data section belong to no tensor/));
  });

  it('accepts tensors listed in any order, as long as sorted by offset they tile the data', () => {
    const path = withHeader({ b: f32(16, 24), a: f32(0, 16) }, 24);
    assert.deepEqual(readSafetensors(path).tensors.map((t) => t.name), ['b', 'a']);
  });

  it('refuses duplicate keys: tensors, metadata keys and fields', () => {
    const a = JSON.stringify(f32(0, 4));
    for (const [header, expected] of [
      [`{"w":${a},"w":${JSON.stringify(f32(4, 8))}}`, /the header holds "w" twice/],
      [`{"w":${a},"\\u0077":${JSON.stringify(f32(4, 8))}}`, /the header holds "w" twice/],
      [`{"__metadata__":{"k":"a","k":"b"},"w":${a}}`, /__metadata__ holds "k" twice/],
      [`{"__metadata__":{},"__metadata__":{},"w":${a}}`, /the header holds "__metadata__" twice/],
      ['{"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', /tensor "w" holds "dtype" twice/],
    ] as const) {
      const path = withHeader(header, 8);
      assert.throws(() => readSafetensors(path), refusal(path, expected));
    }
  });

  it('refuses shapes and offsets that are not integers from 0 to 2^53, and sizes of 2^53 bytes or more', () => {
    for (const [entry, expected] of [
      [{ dtype: 'F32', shape: [1.5], data_offsets: [0, 4] }, /tensor "w" has a shape holding 1\.5, expected integers from 0 to 2\^53/],
      [{ dtype: 'F32', shape: [-1], data_offsets: [0, 4] }, /shape holding -1/],
      [{ dtype: 'F32', shape: [1e21], data_offsets: [0, 4] }, /shape holding 1e\+21/],
      [{ dtype: 'F32', shape: [2 ** 53], data_offsets: [0, 4] }, /shape holding 9007199254740992/],
      [{ dtype: 'F32', shape: ['1'], data_offsets: [0, 4] }, /shape holding a string, expected non-negative integers/],
      [{ dtype: 'F32', shape: 1, data_offsets: [0, 4] }, /shape that is not an array of integers: a number/],
      [{ dtype: 'F32', shape: Array(65).fill(1), data_offsets: [0, 4] }, /shape of more than 64 values/],
      [{ dtype: 'F32', shape: [2 ** 26, 2 ** 26, 4], data_offsets: [0, 4] }, /F32 \[67108864, 67108864, 4\] would hold 2\^53 bytes or more/],
      [{ dtype: 'F32', shape: [1], data_offsets: [4, 0] }, /data_offsets \[4, 0\], expected \[begin, end\] with begin <= end/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0] }, /data_offsets \[0\], expected \[begin, end\]/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] }, /data_offsets of more than 2 values/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0, 2 ** 60] }, /data_offsets holding 1152921504606847000/],
    ] as const) {
      const path = withHeader({ w: entry }, 4);
      assert.throws(() => readSafetensors(path), refusal(path, expected));
    }
  });

  it('refuses unknown and missing fields of a tensor', () => {
    const extra = withHeader({ w: { ...f32(0, 4), offsets: [0, 4] } }, 4);
    assert.throws(() => readSafetensors(extra), refusal(extra, /tensor "w" has an unexpected field "offsets" \(expected dtype, shape and data_offsets\)/));
    const missing = withHeader({ w: { dtype: 'F32' } }, 4);
    assert.throws(() => readSafetensors(missing), refusal(missing, /tensor "w" lacks shape and data_offsets/));
    const notObject = withHeader({ w: [0, 4] }, 4);
    assert.throws(() => readSafetensors(notObject), refusal(notObject, /tensor "w" must be an object \{dtype, shape, data_offsets\}, found an array/));
  });

  it('refuses a header that is not JSON starting with "{", or not UTF-8', () => {
    for (const [header, expected] of [
      [' {}', /not a safetensors file \(its header does not start with "\{"\)/],
      ['[]', /not a safetensors file/],
      ['{} x', /malformed safetensors header \(expected the end of the header, found "x" at byte 3 of the header\)/],
      ['{"w":{"dtype":"F32",}}', /malformed safetensors header \(expected a key, found "\}"/],
      [Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x7b, 0x7d, 0x7d]), /malformed safetensors header \(invalid UTF-8 inside a string at byte 1/],
      ['{"\\x":{}}', /malformed safetensors header \(invalid escape inside a string/],
      ['{"a\nb":{}}', /malformed safetensors header \(control character inside a string/],
    ] as const) {
      const path = withHeader(header);
      assert.throws(() => readSafetensors(path), refusal(path, expected));
    }
  });

  it('refuses an implausible header length without quoting the bytes that gave it', () => {
    const path = join(scratch, 'passwd');
    writeFileSync(path, 'root:x:0:0:root:/root:/bin/bash\n');
    assert.throws(() => readSafetensors(path), (err: unknown) => err instanceof WeightsError &&
      err.message === `${path}: not a safetensors file (its first 8 bytes give a header length above the format's limit of 100000000 bytes)`);
  });
});
