import { InputError } from '../errors.js';

/** The chunks of a PNG file that decoding needs; ancillary chunks are skipped as Pillow skips them. */
export interface PngChunks {
  readonly ihdr: Uint8Array;
  /** PLTE payload (RGB triples), when present. */
  readonly plte?: Uint8Array;
  /** All IDAT payloads, concatenated: one zlib stream. */
  readonly idat: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309) over `bytes`, as stored after every chunk. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Splits a PNG file into its chunks, checking the signature, lengths and CRCs. */
export function readPngChunks(bytes: Uint8Array, source: string): PngChunks {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new InputError(`${source}: not a PNG file (the 8-byte PNG signature is missing)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let ihdr: Uint8Array | undefined;
  let plte: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let pos = 8;
  for (;;) {
    if (pos + 12 > bytes.length) throw new InputError(`${source}: truncated PNG file (no IEND chunk)`);
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > bytes.length) {
      throw new InputError(`${source}: truncated PNG file (chunk ${type} claims ${length} bytes)`);
    }
    const typed = bytes.subarray(pos + 4, pos + 8 + length);
    if (crc32(typed) !== view.getUint32(pos + 8 + length)) {
      throw new InputError(`${source}: broken PNG file (CRC mismatch in chunk ${type})`);
    }
    const payload = typed.subarray(4);
    if (type === 'IHDR') ihdr = payload;
    else if (type === 'PLTE') plte = payload;
    else if (type === 'IDAT') idat.push(payload);
    else if (type === 'IEND') break;
    pos += 12 + length;
  }
  if (!ihdr || ihdr.length !== 13) throw new InputError(`${source}: PNG file without a valid IHDR chunk`);
  if (idat.length === 0) throw new InputError(`${source}: PNG file without image data (no IDAT chunk)`);
  return { ihdr, plte, idat: Buffer.concat(idat) };
}
