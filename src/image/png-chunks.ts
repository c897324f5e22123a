import { InputError } from '../errors.js';

/** The chunks of a PNG file that decoding needs, plus its text chunks; other ancillary chunks are skipped as Pillow skips them. */
export interface PngChunks {
  readonly ihdr: Uint8Array;
  /** PLTE payload (RGB triples), when present. */
  readonly plte?: Uint8Array;
  /** All IDAT payloads, concatenated: one zlib stream. */
  readonly idat: Uint8Array;
  /** tEXt, zTXt and iTXt chunks in file order, undecoded (decoding never needs them). */
  readonly texts: readonly PngTextChunk[];
}

export interface PngTextChunk {
  readonly type: 'tEXt' | 'zTXt' | 'iTXt';
  readonly payload: Uint8Array;
}

const TEXT_TYPES = new Set(['tEXt', 'zTXt', 'iTXt']);

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

/** One chunk as stored: length, type, payload, CRC over type and payload. */
export function pngChunk(type: string, payload: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + payload.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, payload.length);
  for (let i = 0; i < 4; i++) chunk[4 + i] = type.charCodeAt(i);
  chunk.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(chunk.subarray(4, 8 + payload.length)));
  return chunk;
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
  const texts: PngTextChunk[] = [];
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
    else if (TEXT_TYPES.has(type)) texts.push({ type: type as PngTextChunk['type'], payload });
    else if (type === 'IEND') break;
    pos += 12 + length;
  }
  if (!ihdr || ihdr.length !== 13) throw new InputError(`${source}: PNG file without a valid IHDR chunk`);
  if (idat.length === 0) throw new InputError(`${source}: PNG file without image data (no IDAT chunk)`);
  return { ihdr, plte, idat: Buffer.concat(idat), texts };
}
