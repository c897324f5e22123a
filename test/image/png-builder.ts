import { deflateSync } from 'node:zlib';
import { crc32 } from '../../src/image/png-chunks.js';

/**
 * Writes PNG files of any bit depth / colour type, Adam7-interlaced or not, cycling through all
 * five scanline filters: formats our encoder never produces but files in the wild do.
 */
export interface PngSpec {
  width: number;
  height: number;
  bitDepth: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  interlaced?: boolean;
  /** Samples per pixel, row-major, at the file's bit depth (16-bit samples as 0..65535). */
  samples: number[];
  plte?: number[];
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

export function buildPng(spec: PngSpec): Uint8Array {
  const channels = CHANNELS[spec.colorType];
  const bpp = Math.max(1, (channels * spec.bitDepth) >> 3);
  const passes = spec.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  const raw: number[] = [];
  let filterType = 0;
  for (const [x0, y0, dx, dy] of passes) {
    let prev: number[] | undefined;
    for (let y = y0; y < spec.height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < spec.width; x += dx) {
        const at = (y * spec.width + x) * channels;
        row.push(...spec.samples.slice(at, at + channels));
      }
      if (row.length === 0) break;
      const bytes = packRow(row, spec.bitDepth);
      raw.push(filterType, ...filterRow(filterType, bytes, prev, bpp));
      filterType = (filterType + 1) % 5;
      prev = bytes;
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, spec.width);
  view.setUint32(4, spec.height);
  ihdr.set([spec.bitDepth, spec.colorType, 0, 0, spec.interlaced ? 1 : 0], 8);
  const idat = deflateSync(Uint8Array.from(raw));
  const half = idat.length >> 1;
  return Buffer.concat([
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(spec.plte ? [chunk('PLTE', Uint8Array.from(spec.plte))] : []),
    chunk('IDAT', idat.subarray(0, half)),
    chunk('IDAT', idat.subarray(half)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

function packRow(samples: number[], bitDepth: number): number[] {
  if (bitDepth === 8) return samples;
  if (bitDepth === 16) return samples.flatMap((s) => [s >> 8, s & 0xff]);
  const perByte = 8 / bitDepth;
  const out: number[] = [];
  samples.forEach((s, i) => {
    if (i % perByte === 0) out.push(0);
    out[out.length - 1] |= s << (8 - bitDepth * ((i % perByte) + 1));
  });
  return out;
}

function filterRow(type: number, row: number[], prev: number[] | undefined, bpp: number): number[] {
  return row.map((v, i) => {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prev ? prev[i] : 0;
    const c = prev && i >= bpp ? prev[i - bpp] : 0;
    const p = a + b - c;
    const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
    const predicted = [0, a, b, (a + b) >> 1, paeth][type];
    return (v - predicted) & 0xff;
  });
}

function chunk(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(out.subarray(4, 8 + payload.length)));
  return out;
}
