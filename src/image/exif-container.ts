import { InputError } from '../errors.js';

/**
 * The header before the TIFF block in a JPEG APP1 segment. A WebP EXIF chunk holds the bare TIFF
 * block (the container spec; exiftool calls the header there improper), though libvips and A1111 write it.
 */
const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');
/** A JPEG segment's 16-bit length counts itself: at most 65533 bytes of payload. */
const MAX_APP1_TIFF = 0xffff - 2 - EXIF_HEADER.length;

export type ExifContainer = 'jpeg' | 'webp';

interface ExifLocation {
  /** The whole APP1 segment / EXIF chunk (with its padding byte). */
  readonly start: number;
  readonly end: number;
  /** The TIFF block inside it. */
  readonly tiff: Uint8Array;
}

/** The TIFF block of a JPEG's Exif APP1 segment or a WebP's EXIF chunk, if the file has one. */
export function findExif(bytes: Uint8Array, container: ExifContainer, source: string): Uint8Array | undefined {
  return locateExif(bytes, container, source)?.tiff;
}

/** The file with its EXIF block replaced by `tiff` (the encoder wrote a placeholder, so the container already announces EXIF). */
export function replaceExif(bytes: Uint8Array, container: ExifContainer, tiff: Uint8Array, source: string): Buffer {
  const at = locateExif(bytes, container, source);
  if (!at) throw new InputError(`${source}: the encoder wrote no EXIF block to replace`);
  if (container === 'jpeg') {
    const payload = Buffer.concat([EXIF_HEADER, tiff]);
    if (tiff.length > MAX_APP1_TIFF) {
      throw new InputError(`${source}: generation parameters too long for a JPEG's EXIF segment (${tiff.length} bytes, at most ${MAX_APP1_TIFF})`);
    }
    const head = Buffer.from([0xff, 0xe1, 0, 0]);
    head.writeUInt16BE(payload.length + 2, 2);
    return Buffer.concat([bytes.subarray(0, at.start), head, payload, bytes.subarray(at.end)]);
  }
  const head = Buffer.from('EXIF\0\0\0\0', 'latin1');
  head.writeUInt32LE(tiff.length, 4);
  const out = Buffer.concat([bytes.subarray(0, at.start), head, tiff, Buffer.alloc(tiff.length & 1), bytes.subarray(at.end)]);
  out.writeUInt32LE(out.length - 8, 4);
  return out;
}

function locateExif(bytes: Uint8Array, container: ExifContainer, source: string): ExifLocation | undefined {
  return container === 'jpeg' ? locateInJpeg(bytes, source) : locateInWebp(bytes, source);
}

/** Walks the marker segments before the scan data (ITU T.81 B.1.1). */
function locateInJpeg(bytes: Uint8Array, source: string): ExifLocation | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw new InputError(`${source}: broken JPEG file (no marker at byte ${pos})`);
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // start of scan / end of image
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    const end = pos + 2 + view.getUint16(pos + 2);
    if (end > bytes.length) throw new InputError(`${source}: truncated JPEG file (segment 0xff${marker.toString(16)} at byte ${pos} runs past the end)`);
    const payload = bytes.subarray(pos + 4, end);
    if (marker === 0xe1 && startsWith(payload, EXIF_HEADER)) return { start: pos, end, tiff: payload.subarray(EXIF_HEADER.length) };
    pos = end;
  }
  return undefined;
}

/** Walks the RIFF chunks of a WebP file (each padded to an even size). */
function locateInWebp(bytes: Uint8Array, source: string): ExifLocation | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const fourcc = Buffer.from(bytes.subarray(pos, pos + 4)).toString('latin1');
    const size = view.getUint32(pos + 4, true);
    if (pos + 8 + size > bytes.length) throw new InputError(`${source}: truncated WebP file (chunk ${fourcc} claims ${size} bytes)`);
    const end = Math.min(bytes.length, pos + 8 + size + (size & 1));
    if (fourcc === 'EXIF') {
      const payload = bytes.subarray(pos + 8, pos + 8 + size);
      return { start: pos, end, tiff: startsWith(payload, EXIF_HEADER) ? payload.subarray(EXIF_HEADER.length) : payload };
    }
    pos = end;
  }
  return undefined;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}
