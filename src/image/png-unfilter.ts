import { InputError } from '../errors.js';

/**
 * Undoes the PNG scanline filters of one (sub-)image, in place after the filter-type bytes:
 * `filtered` holds `rows` lines of `1 + rowBytes` bytes; the result is `rows * rowBytes` bytes.
 * `bpp` is the filter's pixel stride in bytes (at least 1, even for sub-byte depths).
 */
export function unfilterScanlines(
  filtered: Uint8Array,
  rows: number,
  rowBytes: number,
  bpp: number,
  source: string,
): Uint8Array {
  const out = new Uint8Array(rows * rowBytes);
  for (let y = 0; y < rows; y++) {
    const type = filtered[y * (rowBytes + 1)];
    const line = filtered.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    const cur = out.subarray(y * rowBytes, (y + 1) * rowBytes);
    const prev = y > 0 ? out.subarray((y - 1) * rowBytes, y * rowBytes) : undefined;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0;
      const b = prev ? prev[i] : 0;
      const c = prev && i >= bpp ? prev[i - bpp] : 0;
      cur[i] = (line[i] + predictor(type, a, b, c, source)) & 0xff;
    }
  }
  return out;
}

function predictor(type: number, a: number, b: number, c: number, source: string): number {
  switch (type) {
    case 0: return 0;
    case 1: return a;
    case 2: return b;
    case 3: return (a + b) >> 1;
    case 4: return paeth(a, b, c);
    default: throw new InputError(`${source}: broken PNG file (unknown scanline filter type ${type})`);
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
