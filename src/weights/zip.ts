import { WeightsError } from '../errors.js';
import { readExactly } from './file-read.js';

// The zip layout, as PKWARE's APPNOTE describes it: local header + data for each entry, then the
// central directory, then the End Of Central Directory record (EOCD). Archives past 4 GiB or
// 65535 entries saturate the EOCD's fields and add a ZIP64 EOCD record found through a locator
// just before the EOCD; saturated per-entry fields move into a ZIP64 extra field (id 0x0001).
const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA = 0x0001;

const LOCAL_HEADER_BYTES = 30;
const CENTRAL_HEADER_BYTES = 46;
const EOCD_BYTES = 22;
const ZIP64_EOCD_BYTES = 56;
const ZIP64_LOCATOR_BYTES = 20;
const MAX_COMMENT_BYTES = 0xffff;
const SATURATED_16 = 0xffff;
const SATURATED_32 = 0xffffffff;

const STORED = 0;
const FLAG_ENCRYPTED = 0x1;
/** Sizes and CRC follow the data in a descriptor; the local header's are zero (torch.save writes this way). */
const FLAG_DATA_DESCRIPTOR = 0x8;

// Bounds on what a directory may declare, far above any checkpoint: torch.save writes one record per
// storage plus a few (a state dict of thousands of tensors), named `<archive>/data/<key>`.
const MAX_ENTRIES = 1 << 18;
const MAX_NAME_BYTES = 1024;

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored; anything else is a compression method. */
  readonly method: number;
  readonly flags: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

function readUInt64(buf: Buffer, at: number, path: string): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new WeightsError(`${path}: zip field value ${value} is too large to be a real offset or size`);
  }
  return Number(value);
}

/** Finds the EOCD by scanning back from the end: it may be followed by a comment of up to 64 KiB. */
function findEocd(fd: number, fileSize: number, path: string): number {
  const tailLength = Math.min(fileSize, EOCD_BYTES + MAX_COMMENT_BYTES);
  const tailStart = fileSize - tailLength;
  const tail = readExactly(fd, tailLength, tailStart, path);
  for (let i = tailLength - EOCD_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + EOCD_BYTES + tail.readUInt16LE(i + 20) <= tailLength) {
      return tailStart + i;
    }
  }
  throw new WeightsError(`${path}: not a zip archive, or a truncated one (no end-of-central-directory record in its last ${tailLength} bytes)`);
}

interface CentralDirectory {
  readonly entries: number;
  readonly size: number;
  readonly offset: number;
  /** Where the records after the directory begin: the directory must end before this. */
  readonly end: number;
}

function readCentralDirectoryLocation(fd: number, fileSize: number, path: string): CentralDirectory {
  const eocdAt = findEocd(fd, fileSize, path);
  const eocd = readExactly(fd, EOCD_BYTES, eocdAt, path);
  if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0) {
    throw new WeightsError(`${path}: multi-volume (spanned) zip archives are not supported`);
  }
  const entries = eocd.readUInt16LE(10);
  const size = eocd.readUInt32LE(12);
  const offset = eocd.readUInt32LE(16);
  const locatorAt = eocdAt - ZIP64_LOCATOR_BYTES;
  const locator = locatorAt >= 0 ? readExactly(fd, ZIP64_LOCATOR_BYTES, locatorAt, path) : undefined;
  if (!locator || locator.readUInt32LE(0) !== ZIP64_LOCATOR) {
    if (entries === SATURATED_16 || size === SATURATED_32 || offset === SATURATED_32) {
      throw new WeightsError(`${path}: the end-of-central-directory record defers to ZIP64, but the ZIP64 locator is missing`);
    }
    return { entries, size, offset, end: eocdAt };
  }
  const zip64At = readUInt64(locator, 8, path);
  if (zip64At + ZIP64_EOCD_BYTES > locatorAt) {
    throw new WeightsError(`${path}: the ZIP64 locator points at offset ${zip64At}, past the end of the archive's records`);
  }
  const zip64 = readExactly(fd, ZIP64_EOCD_BYTES, zip64At, path);
  if (zip64.readUInt32LE(0) !== ZIP64_EOCD) {
    throw new WeightsError(`${path}: no ZIP64 end-of-central-directory record at offset ${zip64At}, where the locator points`);
  }
  return {
    entries: readUInt64(zip64, 32, path),
    size: readUInt64(zip64, 40, path),
    offset: readUInt64(zip64, 48, path),
    end: zip64At,
  };
}

/** Replaces the saturated 32-bit fields of a central header by the values of its ZIP64 extra field. */
function applyZip64Extra(extra: Buffer, sizes: { uncompressed: number; compressed: number; offset: number }, name: string, path: string): void {
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) !== ZIP64_EXTRA) continue;
    const end = Math.min(at + 4 + extra.readUInt16LE(at + 2), extra.length);
    let field = at + 4;
    // Only the saturated fields are present, always in this order.
    for (const key of ['uncompressed', 'compressed', 'offset'] as const) {
      if (sizes[key] !== SATURATED_32) continue;
      if (field + 8 > end) throw new WeightsError(`${path}: entry "${name}" has a ZIP64 extra field too short for its ${key} value`);
      sizes[key] = readUInt64(extra, field, path);
      field += 8;
    }
    return;
  }
  if (sizes.uncompressed === SATURATED_32 || sizes.compressed === SATURATED_32 || sizes.offset === SATURATED_32) {
    throw new WeightsError(`${path}: entry "${name}" defers its sizes or offset to a ZIP64 extra field it does not have`);
  }
}

/** The bytes an entry's local header and data take at least (the local extra field may add more). */
interface EntryRecord {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** Entries whose records overlap would read one another's bytes: a zip writer never lays them out so. */
function refuseOverlaps(records: EntryRecord[], path: string): void {
  records.sort((a, b) => a.start - b.start);
  for (let i = 1; i < records.length; i++) {
    const [before, after] = [records[i - 1], records[i]];
    if (before.end > after.start) {
      throw new WeightsError(`${path}: entries "${before.name}" (bytes ${before.start}..${before.end}) and "${after.name}" (from byte ${after.start}) overlap`);
    }
  }
}

/** Reads the central directory of an open zip file: name, method, sizes and local header of each entry. */
export function readZipDirectory(fd: number, fileSize: number, path: string): Map<string, ZipEntry> {
  const cd = readCentralDirectoryLocation(fd, fileSize, path);
  if (cd.offset + cd.size > cd.end) {
    throw new WeightsError(`${path}: the central directory (offset ${cd.offset}, ${cd.size} bytes) overlaps the records that end the archive`);
  }
  if (cd.entries > MAX_ENTRIES) {
    throw new WeightsError(`${path}: the zip directory declares ${cd.entries} entries, more than the ${MAX_ENTRIES} a checkpoint could have`);
  }
  if (cd.entries * CENTRAL_HEADER_BYTES > cd.size) {
    throw new WeightsError(`${path}: the zip directory declares ${cd.entries} entries but has only ${cd.size} bytes, less than ${CENTRAL_HEADER_BYTES} per entry`);
  }
  const dir = readExactly(fd, cd.size, cd.offset, path);
  const entries = new Map<string, ZipEntry>();
  const records: EntryRecord[] = [];
  let at = 0;
  for (let i = 0; i < cd.entries; i++) {
    if (at + CENTRAL_HEADER_BYTES > dir.length || dir.readUInt32LE(at) !== CENTRAL_HEADER) {
      throw new WeightsError(`${path}: central directory entry ${i} of ${cd.entries} is missing or malformed (at offset ${cd.offset + at})`);
    }
    const nameLength = dir.readUInt16LE(at + 28);
    const extraLength = dir.readUInt16LE(at + 30);
    const commentLength = dir.readUInt16LE(at + 32);
    const next = at + CENTRAL_HEADER_BYTES + nameLength + extraLength + commentLength;
    if (next > dir.length) {
      throw new WeightsError(`${path}: central directory entry ${i} runs past the end of the directory`);
    }
    if (nameLength > MAX_NAME_BYTES) {
      throw new WeightsError(`${path}: central directory entry ${i} has a name of ${nameLength} bytes, more than the ${MAX_NAME_BYTES} a checkpoint's records have`);
    }
    const name = dir.toString('utf8', at + CENTRAL_HEADER_BYTES, at + CENTRAL_HEADER_BYTES + nameLength);
    if (entries.has(name)) {
      throw new WeightsError(`${path}: the zip holds two entries named "${name}"; a checkpoint names each record once, so which one is meant is unknown`);
    }
    const sizes = { compressed: dir.readUInt32LE(at + 20), uncompressed: dir.readUInt32LE(at + 24), offset: dir.readUInt32LE(at + 42) };
    const extraStart = at + CENTRAL_HEADER_BYTES + nameLength;
    applyZip64Extra(dir.subarray(extraStart, extraStart + extraLength), sizes, name, path);
    // Every entry's header and data come before the directory; a size or offset that says otherwise is a lie.
    const end = sizes.offset + LOCAL_HEADER_BYTES + nameLength + sizes.compressed;
    if (end > cd.offset) {
      throw new WeightsError(
        `${path}: entry "${name}" claims ${sizes.compressed} bytes after a local header at offset ${sizes.offset}, ` +
          `past the central directory at offset ${cd.offset} (truncated or malformed?)`,
      );
    }
    records.push({ name, start: sizes.offset, end });
    entries.set(name, {
      name,
      flags: dir.readUInt16LE(at + 8),
      method: dir.readUInt16LE(at + 10),
      compressedSize: sizes.compressed,
      uncompressedSize: sizes.uncompressed,
      localHeaderOffset: sizes.offset,
    });
    at = next;
  }
  refuseOverlaps(records, path);
  return entries;
}

/** The local header repeats the central directory's name and method (and sizes, unless a data descriptor carries them). */
function checkLocalHeader(fd: number, header: Buffer, entry: ZipEntry, path: string): void {
  const where = `${path}: entry "${entry.name}"`;
  const name = Buffer.from(entry.name, 'utf8');
  const nameLength = header.readUInt16LE(26);
  const localName = nameLength === name.length ? readExactly(fd, nameLength, entry.localHeaderOffset + LOCAL_HEADER_BYTES, path) : undefined;
  if (!localName?.equals(name)) {
    throw new WeightsError(`${where}: its local header at offset ${entry.localHeaderOffset} names another entry (central directory and local header disagree)`);
  }
  const method = header.readUInt16LE(8);
  if (method !== entry.method) {
    throw new WeightsError(`${where}: its local header says zip method ${method}, the central directory ${entry.method}`);
  }
  const flags = header.readUInt16LE(6);
  const compressed = header.readUInt32LE(18);
  const uncompressed = header.readUInt32LE(22);
  const deferred = (flags & FLAG_DATA_DESCRIPTOR) !== 0 || compressed === SATURATED_32 || uncompressed === SATURATED_32;
  if (!deferred && (compressed !== entry.compressedSize || uncompressed !== entry.uncompressedSize)) {
    throw new WeightsError(`${where}: its local header says ${uncompressed} bytes, the central directory ${entry.uncompressedSize}`);
  }
}

/**
 * Absolute file offset of an entry's bytes, after checking that they are stored as-is and lie
 * inside the file. The local header is read because its name and extra field lengths may differ
 * from the central directory's (torch.save pads local headers to align the data).
 */
export function storedEntryOffset(fd: number, fileSize: number, path: string, entry: ZipEntry): number {
  const where = `${path}: entry "${entry.name}"`;
  if (entry.flags & FLAG_ENCRYPTED) throw new WeightsError(`${where} is encrypted`);
  if (entry.method !== STORED) {
    throw new WeightsError(
      `${where} is compressed (zip method ${entry.method}); torch.save stores entries uncompressed, so the file was repacked by another tool: ` +
        're-save it with torch.save or convert it to safetensors',
    );
  }
  if (entry.compressedSize !== entry.uncompressedSize) {
    throw new WeightsError(`${where} is stored uncompressed but its sizes disagree (${entry.compressedSize} vs ${entry.uncompressedSize} bytes)`);
  }
  if (entry.localHeaderOffset + LOCAL_HEADER_BYTES > fileSize) {
    throw new WeightsError(`${where}: its local header at offset ${entry.localHeaderOffset} lies beyond the end of the file (${fileSize} bytes; truncated?)`);
  }
  const header = readExactly(fd, LOCAL_HEADER_BYTES, entry.localHeaderOffset, path);
  if (header.readUInt32LE(0) !== LOCAL_HEADER) {
    throw new WeightsError(`${where}: no local file header at offset ${entry.localHeaderOffset}`);
  }
  checkLocalHeader(fd, header, entry, path);
  const start = entry.localHeaderOffset + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
  const end = start + entry.compressedSize;
  if (end > fileSize) {
    throw new WeightsError(`${where} spans bytes ${start}..${end} but the file has only ${fileSize} bytes (truncated?)`);
  }
  return start;
}
