import { crc32 } from 'node:zlib';

// Writes small zip archives the way torch.save does (entries stored, not compressed), so tests can
// build checkpoints that PyTorch would not write: hostile pickles, compressed or lying entries, ZIP64.

export interface ZipRecord {
  readonly name: string;
  readonly data: Uint8Array;
  /** Compression method written in the headers (the data are written as given). */
  readonly method?: number;
  /** Size written in the headers instead of the real one. */
  readonly declaredSize?: number;
  /** Local header offset written in the central directory instead of the real one. */
  readonly declaredOffset?: number;
}

export interface ZipOptions {
  /** Defer every size and offset to ZIP64 fields, as a checkpoint past 4 GiB does. */
  readonly zip64?: boolean;
  /** Entry count written in the end records instead of the real one (above 65535 only with zip64). */
  readonly declaredEntries?: number;
}

const SATURATED_16 = 0xffff;
const SATURATED_32 = 0xffffffff;

function u16(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; }
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }
function u64(n: number): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; }

function zip64Extra(values: number[]): Buffer {
  return Buffer.concat([u16(0x0001), u16(8 * values.length), ...values.map(u64)]);
}

export function storedZip(records: readonly ZipRecord[], options: ZipOptions = {}): Buffer {
  const zip64 = options.zip64 ?? false;
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const record of records) {
    const name = Buffer.from(record.name, 'utf8');
    const size = record.declaredSize ?? record.data.byteLength;
    const method = record.method ?? 0;
    const crc = crc32(record.data);
    const size32 = zip64 ? SATURATED_32 : size;
    const localExtra = zip64 ? zip64Extra([size, size]) : Buffer.alloc(0);
    const local = Buffer.concat([
      u32(0x04034b50), u16(zip64 ? 45 : 20), u16(0), u16(method), u16(0), u16(0), u32(crc),
      u32(size32), u32(size32), u16(name.length), u16(localExtra.length), name, localExtra,
    ]);
    const localOffset = record.declaredOffset ?? offset;
    const centralExtra = zip64 ? zip64Extra([size, size, localOffset]) : Buffer.alloc(0);
    central.push(Buffer.concat([
      u32(0x02014b50), u16(zip64 ? 45 : 20), u16(zip64 ? 45 : 20), u16(0), u16(method), u16(0), u16(0), u32(crc),
      u32(size32), u32(size32), u16(name.length), u16(centralExtra.length), u16(0), u16(0), u16(0), u32(0),
      u32(zip64 ? SATURATED_32 : localOffset), name, centralExtra,
    ]));
    parts.push(local, Buffer.from(record.data));
    offset += local.length + record.data.byteLength;
  }
  const directory = Buffer.concat(central);
  parts.push(directory);
  const directoryEnd = offset + directory.length;
  const entries = options.declaredEntries ?? records.length;
  if (zip64) {
    parts.push(Buffer.concat([
      u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0),
      u64(entries), u64(entries), u64(directory.length), u64(offset),
    ]));
    parts.push(Buffer.concat([u32(0x07064b50), u32(0), u64(directoryEnd), u32(1)]));
  }
  parts.push(Buffer.concat([
    u32(0x06054b50), u16(0), u16(0),
    u16(zip64 ? SATURATED_16 : entries), u16(zip64 ? SATURATED_16 : entries),
    u32(zip64 ? SATURATED_32 : directory.length), u32(zip64 ? SATURATED_32 : offset), u16(0),
  ]));
  return Buffer.concat(parts);
}
