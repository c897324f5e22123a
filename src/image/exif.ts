import { InputError } from '../errors.js';

/** The EXIF tags we write and read back. */
const TAG = { Software: 0x0131, ExifIFD: 0x8769, ExifVersion: 0x9000, MakerNote: 0x927c, UserComment: 0x9286 } as const;
const TYPE = { ASCII: 2, LONG: 4, UNDEFINED: 7 } as const;
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };

/** UserComment starts with an 8-byte character code (EXIF 2.32 §4.6.5, table 9). */
const ASCII_CODE = Buffer.from('ASCII\0\0\0', 'latin1');
const UNICODE_CODE = Buffer.from('UNICODE\0', 'latin1');

export interface ExifText {
  readonly software?: string;
  readonly userComment?: string;
  readonly makerNote?: Uint8Array;
}

interface Entry {
  readonly tag: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * A big-endian TIFF block (what follows "Exif\0\0") holding IFD0 Software, and in the Exif IFD the
 * ExifVersion, UserComment and MakerNote. Big-endian with a UNICODE comment in UTF-16BE is the form
 * piexif (and so AUTOMATIC1111) writes.
 */
export function buildExif(text: ExifText): Uint8Array {
  const exifEntries: Entry[] = [{ tag: TAG.ExifVersion, type: TYPE.UNDEFINED, value: Buffer.from('0232', 'latin1') }];
  if (text.makerNote) exifEntries.push({ tag: TAG.MakerNote, type: TYPE.UNDEFINED, value: text.makerNote });
  if (text.userComment !== undefined) exifEntries.push({ tag: TAG.UserComment, type: TYPE.UNDEFINED, value: encodeUserComment(text.userComment) });
  const ifd0: Entry[] = text.software === undefined ? [] : [{ tag: TAG.Software, type: TYPE.ASCII, value: Buffer.from(`${text.software}\0`, 'latin1') }];
  // The pointer's value does not change IFD0's size, so a placeholder sizes it.
  const pointer = (offset: number): Entry => ({ tag: TAG.ExifIFD, type: TYPE.LONG, value: u32(offset) });
  const exifAt = 8 + ifdSize([...ifd0, pointer(0)]);
  ifd0.push(pointer(exifAt));
  const tiff = new Uint8Array(exifAt + ifdSize(exifEntries));
  tiff.set([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]);
  writeIfd(tiff, 8, ifd0);
  writeIfd(tiff, exifAt, exifEntries);
  return tiff;
}

/** Software, UserComment and MakerNote of a TIFF block in either byte order; absent tags stay undefined. */
export function readExif(tiff: Uint8Array, source: string): ExifText {
  const broken = (what: string) => new InputError(`${source}: broken EXIF data (${what})`);
  if (tiff.length < 8) throw broken('shorter than a TIFF header');
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = String.fromCharCode(tiff[0], tiff[1]);
  if (order !== 'II' && order !== 'MM') throw broken(`byte order ${JSON.stringify(order)}, expected "II" or "MM"`);
  const little = order === 'II';
  const u16 = (at: number) => view.getUint16(at, little);
  const u32 = (at: number) => view.getUint32(at, little);
  const entries = (at: number): Map<number, Uint8Array> => {
    if (at + 2 > tiff.length) throw broken(`IFD offset ${at} past the end (${tiff.length} bytes)`);
    const count = u16(at);
    if (at + 2 + 12 * count > tiff.length) throw broken(`IFD at ${at} claims ${count} entries past the end`);
    const out = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const p = at + 2 + 12 * i;
      const size = (TYPE_SIZE[u16(p + 2)] ?? 1) * u32(p + 4);
      const start = size <= 4 ? p + 8 : u32(p + 8);
      if (start + size > tiff.length) throw broken(`tag 0x${u16(p).toString(16)} claims ${size} bytes at ${start}, past the end`);
      out.set(u16(p), tiff.subarray(start, start + size));
    }
    return out;
  };
  const ifd0 = entries(u32(4));
  const pointer = ifd0.get(TAG.ExifIFD);
  const exif = pointer?.length === 4 ? entries(new DataView(pointer.buffer, pointer.byteOffset, 4).getUint32(0, little)) : new Map<number, Uint8Array>();
  const software = ifd0.get(TAG.Software);
  const comment = exif.get(TAG.UserComment);
  return {
    software: software && Buffer.from(software).toString('latin1').replace(/\0+$/, ''),
    userComment: comment && decodeUserComment(comment, little),
    makerNote: exif.get(TAG.MakerNote),
  };
}

function encodeUserComment(text: string): Uint8Array {
  if (/^[\x00-\x7f]*$/.test(text)) return Buffer.concat([ASCII_CODE, Buffer.from(text, 'latin1')]);
  return Buffer.concat([UNICODE_CODE, Buffer.from(text, 'utf16le').swap16()]);
}

/** As exiftool reads it: UNICODE is UTF-16 in the block's byte order unless a BOM says otherwise; ASCII or unset as UTF-8. */
function decodeUserComment(value: Uint8Array, little: boolean): string {
  const code = Buffer.from(value.subarray(0, 8));
  let body = Buffer.from(value.subarray(8));
  let text: string;
  if (code.equals(UNICODE_CODE)) {
    body = body.subarray(0, body.length & ~1);
    const bom = body.length >= 2 ? body.readUInt16BE(0) : 0;
    const le = bom === 0xfffe ? true : bom === 0xfeff ? false : little;
    if (bom === 0xfffe || bom === 0xfeff) body = body.subarray(2);
    text = (le ? body : Buffer.from(body).swap16()).toString('utf16le');
  } else {
    text = body.toString('utf8');
  }
  return text.replace(/\0+$/, '');
}

function ifdSize(entries: readonly Entry[]): number {
  return 2 + 12 * entries.length + 4 + entries.reduce((n, e) => n + (e.value.length > 4 ? even(e.value.length) : 0), 0);
}

function writeIfd(tiff: Uint8Array, at: number, entries: readonly Entry[]): void {
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  view.setUint16(at, sorted.length);
  let data = at + 2 + 12 * sorted.length + 4;
  sorted.forEach((e, i) => {
    const p = at + 2 + 12 * i;
    view.setUint16(p, e.tag);
    view.setUint16(p + 2, e.type);
    view.setUint32(p + 4, e.value.length / TYPE_SIZE[e.type]);
    if (e.value.length <= 4) {
      tiff.set(e.value, p + 8);
    } else {
      view.setUint32(p + 8, data);
      tiff.set(e.value, data);
      data += even(e.value.length);
    }
  });
  view.setUint32(at + 2 + 12 * sorted.length, 0);
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

// TIFF keeps value offsets on word boundaries.
function even(n: number): number {
  return n + (n & 1);
}
