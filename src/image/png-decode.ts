import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { InputError } from '../errors.js';
import { bandsOf, paletteFrom, type PilImage } from './image.js';
import { readPngChunks } from './png-chunks.js';
import { parseIhdr, pngLayout } from './png-layout.js';
import { unfilterScanlines } from './png-unfilter.js';

/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
] as const;
const PROGRESSIVE = [[0, 0, 1, 1]] as const;

/** Decodes a PNG file to the mode and values Pillow's `Image.open(path)` gives. */
export function readPng(path: string): PilImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read image (${(err as Error).message})`);
  }
  return decodePng(bytes, path);
}

/** Decodes PNG bytes to the mode and values Pillow's `Image.open` gives; `source` names them in errors. */
export function decodePng(bytes: Uint8Array, source = 'PNG data'): PilImage {
  const chunks = readPngChunks(bytes, source);
  const header = parseIhdr(chunks.ihdr, source);
  const layout = pngLayout(header, source);
  if (layout.mode === 'P' && !chunks.plte) {
    throw new InputError(`${source}: palette PNG without a PLTE chunk`);
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(chunks.idat);
  } catch (err) {
    throw new InputError(`${source}: broken PNG file (image data does not inflate: ${(err as Error).message})`);
  }
  const { width, height, bitDepth } = header;
  const bands = bandsOf(layout.mode);
  const data = new Uint8Array(width * height * bands);
  const bitsPerPixel = layout.channels * bitDepth;
  let offset = 0;
  for (const [x0, y0, dx, dy] of header.interlaced ? ADAM7 : PROGRESSIVE) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) continue;
    const rowBytes = Math.ceil((passWidth * bitsPerPixel) / 8);
    const size = passHeight * (rowBytes + 1);
    if (offset + size > raw.length) {
      throw new InputError(`${source}: image file is truncated (${raw.length} bytes of image data, need more)`);
    }
    const rows = unfilterScanlines(raw.subarray(offset, offset + size), passHeight, rowBytes, Math.max(1, bitsPerPixel >> 3), source);
    offset += size;
    const samples = new Uint8Array(passWidth * layout.channels);
    for (let y = 0; y < passHeight; y++) {
      readSamples(rows.subarray(y * rowBytes, (y + 1) * rowBytes), bitDepth, samples);
      const rowStart = (y0 + y * dy) * width;
      for (let x = 0; x < passWidth; x++) {
        layout.put(samples, x * layout.channels, data, (rowStart + x0 + x * dx) * bands);
      }
    }
  }
  const image = { width, height, mode: layout.mode, data };
  return chunks.plte && layout.mode === 'P' ? { ...image, palette: paletteFrom(chunks.plte) } : image;
}

/** One scanline's samples as 8-bit values: 16-bit samples keep their high byte, sub-byte ones are unpacked. */
function readSamples(row: Uint8Array, bitDepth: number, out: Uint8Array): void {
  if (bitDepth === 8) {
    out.set(row.subarray(0, out.length));
  } else if (bitDepth === 16) {
    for (let i = 0; i < out.length; i++) out[i] = row[2 * i];
  } else {
    const perByte = 8 / bitDepth;
    const mask = (1 << bitDepth) - 1;
    for (let i = 0; i < out.length; i++) {
      const shift = 8 - bitDepth * ((i % perByte) + 1);
      out[i] = (row[Math.floor(i / perByte)] >> shift) & mask;
    }
  }
}
