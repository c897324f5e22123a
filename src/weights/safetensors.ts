import { writeFileAtomic } from '../files/index.js';
import { WeightsError } from '../errors.js';
import { readExactly, withFile } from './file-read.js';
import { checkDataLayout, parseSafetensorsHeader } from './safetensors-header.js';
import { BYTES_PER_ELEMENT, type TensorInfo, type WeightDType } from './tensor-info.js';

// Format: 8-byte little-endian header length N, N bytes of JSON, then the data section.
// Each header entry: {"dtype", "shape", "data_offsets": [begin, end]} relative to the data section.
// The reference implementation's limit on N; real headers are about 100 bytes per tensor.
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsFile {
  readonly path: string;
  readonly tensors: TensorInfo[];
  readonly metadata: Record<string, string>;
}

/** Reads and validates the header of a safetensors file; the tensor bytes stay on disk. */
export function readSafetensors(path: string): SafetensorsFile {
  return withFile(path, 'safetensors file', ({ real, fd, size }) => {
    if (size < 8) throw new WeightsError(`${path}: truncated safetensors file (${size} bytes, no header length)`);
    // The length is not quoted when implausible: the file may not be a safetensors file at all.
    const headerLen = readExactly(fd, 8, 0, path).readBigUInt64LE(0);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) {
      throw new WeightsError(`${path}: not a safetensors file (its first 8 bytes give a header length above the format's limit of ${MAX_HEADER_BYTES} bytes)`);
    }
    const dataStart = 8 + Number(headerLen);
    if (dataStart > size) {
      throw new WeightsError(`${path}: truncated safetensors file (header of ${headerLen} bytes, file has ${size})`);
    }
    const { entries, metadata } = parseSafetensorsHeader(readExactly(fd, Number(headerLen), 8, path), path);
    checkDataLayout(entries, size - dataStart, path);
    const tensors = entries.map(({ name, dtype, shape, begin, end }): TensorInfo =>
      ({ name, dtype, shape, file: real, offset: dataStart + begin, byteLength: end - begin }));
    return { path: real, tensors, metadata };
  });
}

/** The raw little-endian bytes of one tensor. */
export function readTensorBytes(info: TensorInfo): Uint8Array {
  if (info.data) return info.data;
  return withFile(info.file, 'weight file', ({ fd }) => {
    const buf = readExactly(fd, info.byteLength, info.offset, `${info.file}: tensor "${info.name}"`);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  });
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes a floating-point tensor (F32, F16, BF16, F64) to float32 values. */
export function readFloat32(info: TensorInfo): Float32Array {
  const bytes = readTensorBytes(info);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = info.byteLength / BYTES_PER_ELEMENT[info.dtype];
  const out = new Float32Array(n);
  switch (info.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        tmp.setUint32(0, view.getUint16(i * 2, true) << 16);
        out[i] = tmp.getFloat32(0);
      }
      break;
    }
    default:
      throw new WeightsError(`${info.file}: tensor "${info.name}" is ${info.dtype}, not a floating-point tensor`);
  }
  return out;
}

/** Decodes an integer or boolean tensor to int64 values. */
export function readInt64(info: TensorInfo): BigInt64Array {
  const bytes = readTensorBytes(info);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = info.byteLength / BYTES_PER_ELEMENT[info.dtype];
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    switch (info.dtype) {
      case 'I64': out[i] = view.getBigInt64(i * 8, true); break;
      case 'I32': out[i] = BigInt(view.getInt32(i * 4, true)); break;
      case 'I16': out[i] = BigInt(view.getInt16(i * 2, true)); break;
      case 'I8': out[i] = BigInt(view.getInt8(i)); break;
      case 'U8': case 'BOOL': out[i] = BigInt(view.getUint8(i)); break;
      default: throw new WeightsError(`${info.file}: tensor "${info.name}" is ${info.dtype}, not an integer tensor`);
    }
  }
  return out;
}

export interface TensorToWrite {
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** One tensor's entry in a header: the data section holds the tensors in the order given, back to back. */
export interface TensorLayout {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** The bytes before the data section: the header length, then the JSON header padded to keep the data 8-byte aligned. */
export function encodeSafetensorsHeader(tensors: Iterable<TensorLayout>, metadata?: Record<string, string>): Buffer {
  const entries: [string, unknown][] = metadata ? [['__metadata__', metadata]] : [];
  let offset = 0;
  for (const t of tensors) {
    entries.push([t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] }]);
    offset += t.byteLength;
  }
  // fromEntries defines own properties: a tensor named "__proto__" is written as a tensor.
  let json = Buffer.from(JSON.stringify(Object.fromEntries(entries)));
  json = Buffer.concat([json, Buffer.from(' '.repeat((8 - (json.length % 8)) % 8))]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json]);
}

/** Writes a safetensors file whole or not at all (the prior's embeddings; test files). */
export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  const entries = Object.entries(tensors);
  const header = encodeSafetensorsHeader(entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, byteLength: t.bytes.byteLength })), metadata);
  writeFileAtomic(path, Buffer.concat([header, ...entries.map(([, t]) => Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength))]));
}
