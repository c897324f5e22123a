import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { convert, decodePng, encodePng, readPng, writePng, type PilImage } from '../../src/image/index.js';
import { goldenDir } from '../helpers/fixtures.js';
import { buildPng } from './png-builder.js';

const inputs = join(goldenDir, 'images', 'inputs');

function ramp(n: number, step = 37): number[] {
  return Array.from({ length: n }, (_, i) => (i * step + 11) % 256);
}

describe('readPng', () => {
  it('opens the golden inputs in their own modes and sizes, as Image.open does', () => {
    const expected: Record<string, [string, number, number]> = {
      'rgb_150x90.png': ['RGB', 150, 90],
      'rgba_120x80.png': ['RGBA', 120, 80],
      'gray_50x70.png': ['L', 50, 70],
      'pal_397x261.png': ['P', 397, 261],
      'mask_64.png': ['L', 64, 64],
    };
    for (const [file, [mode, width, height]] of Object.entries(expected)) {
      const image = readPng(join(inputs, file));
      assert.deepEqual([image.mode, image.width, image.height], [mode, width, height], file);
      const bands = { RGB: 3, RGBA: 4, L: 1, P: 1 }[mode]!;
      assert.equal(image.data.length, width * height * bands, file);
    }
  });

  it('keeps palette indices and the palette for mode P', () => {
    const image = readPng(join(inputs, 'pal_397x261.png'));
    assert.equal(image.palette?.length, 768);
    const rgb = convert(image, 'RGB');
    const i = 1234;
    const p = image.palette!;
    assert.deepEqual([...rgb.data.subarray(3 * i, 3 * i + 3)], [...p.subarray(3 * image.data[i], 3 * image.data[i] + 3)]);
  });

  it('decodes 8-bit RGB through every scanline filter', () => {
    const samples = ramp(5 * 4 * 3);
    const image = decodePng(buildPng({ width: 5, height: 4, bitDepth: 8, colorType: 2, samples }));
    assert.equal(image.mode, 'RGB');
    assert.deepEqual([...image.data], samples);
  });

  it('gives the same pixels for an Adam7-interlaced file', () => {
    const samples = ramp(11 * 9 * 4, 53);
    const spec = { width: 11, height: 9, bitDepth: 8, colorType: 6 as const, samples };
    const plain = decodePng(buildPng(spec));
    const interlaced = decodePng(buildPng({ ...spec, interlaced: true }));
    assert.equal(interlaced.mode, 'RGBA');
    assert.deepEqual([...interlaced.data], [...plain.data]);
    assert.deepEqual([...plain.data], samples);
  });

  it('keeps the high byte of 16-bit samples (RGB;16B)', () => {
    const image = decodePng(buildPng({ width: 2, height: 1, bitDepth: 16, colorType: 2, samples: [0x1234, 0xabcd, 0x00ff, 0xff00, 0x8080, 0x0001] }));
    assert.equal(image.mode, 'RGB');
    assert.deepEqual([...image.data], [0x12, 0xab, 0x00, 0xff, 0x80, 0x00]);
  });

  it('opens 16-bit grey + alpha as RGBA, as Pillow does', () => {
    const image = decodePng(buildPng({ width: 1, height: 1, bitDepth: 16, colorType: 4, samples: [0x7f01, 0xc000] }));
    assert.equal(image.mode, 'RGBA');
    assert.deepEqual([...image.data], [0x7f, 0x7f, 0x7f, 0xc0]);
  });

  it('stretches 2- and 4-bit grey to 0..255 and opens 1-bit grey as mode 1', () => {
    const two = decodePng(buildPng({ width: 5, height: 1, bitDepth: 2, colorType: 0, samples: [0, 1, 2, 3, 1] }));
    assert.deepEqual([two.mode, ...two.data], ['L', 0, 85, 170, 255, 85]);
    const four = decodePng(buildPng({ width: 3, height: 1, bitDepth: 4, colorType: 0, samples: [0, 7, 15] }));
    assert.deepEqual([four.mode, ...four.data], ['L', 0, 119, 255]);
    const one = decodePng(buildPng({ width: 10, height: 1, bitDepth: 1, colorType: 0, samples: [1, 0, 1, 1, 0, 0, 0, 1, 0, 1] }));
    assert.deepEqual([one.mode, ...one.data], ['1', 255, 0, 255, 255, 0, 0, 0, 255, 0, 255]);
  });

  it('unpacks sub-byte palette indices, and an index past PLTE looks up Pillow\'s grey ramp', () => {
    const plte = [10, 20, 30, 40, 50, 60];
    const image = decodePng(buildPng({ width: 4, height: 2, bitDepth: 2, colorType: 3, samples: [0, 1, 3, 2, 1, 1, 0, 3], plte, interlaced: true }));
    assert.deepEqual([image.mode, ...image.data], ['P', 0, 1, 3, 2, 1, 1, 0, 3]);
    assert.deepEqual([...convert(image, 'RGB').data.subarray(0, 12)], [10, 20, 30, 40, 50, 60, 3, 3, 3, 2, 2, 2]);
  });

  it('refuses 16-bit greyscale, which Pillow opens as 32-bit mode I', () => {
    const png = buildPng({ width: 1, height: 1, bitDepth: 16, colorType: 0, samples: [300] });
    assert.throws(() => decodePng(png, 'deep.png'), (e: unknown) => e instanceof InputError && /deep\.png.*16-bit greyscale/.test(e.message));
  });

  it('refuses a file that is not a PNG', () => {
    assert.throws(() => decodePng(new TextEncoder().encode('GIF89a....'), 'x.gif'), (e: unknown) => e instanceof InputError && /x\.gif: not a PNG/.test(e.message));
  });

  it('refuses a chunk whose CRC does not match', () => {
    const png = buildPng({ width: 2, height: 2, bitDepth: 8, colorType: 0, samples: [1, 2, 3, 4] });
    png[20] ^= 0xff; // inside IHDR's payload
    assert.throws(() => decodePng(png, 'bad.png'), (e: unknown) => e instanceof InputError && /CRC mismatch in chunk IHDR/.test(e.message));
  });

  it('refuses a truncated file', () => {
    const png = buildPng({ width: 2, height: 2, bitDepth: 8, colorType: 0, samples: [1, 2, 3, 4] });
    assert.throws(() => decodePng(png.subarray(0, 40), 'cut.png'), (e: unknown) => e instanceof InputError && /cut\.png: truncated/.test(e.message));
  });

  it('names the path when the file cannot be read', () => {
    assert.throws(() => readPng('/nonexistent/x.png'), (e: unknown) => e instanceof InputError && /\/nonexistent\/x\.png: cannot read/.test(e.message));
  });
});

describe('encodePng', () => {
  it('round-trips RGB, RGBA, L and LA losslessly', () => {
    const cases: PilImage[] = [
      { width: 7, height: 3, mode: 'RGB', data: Uint8Array.from(ramp(63)) },
      { width: 3, height: 5, mode: 'RGBA', data: Uint8Array.from(ramp(60, 91)) },
      { width: 4, height: 4, mode: 'L', data: Uint8Array.from(ramp(16, 17)) },
      { width: 2, height: 3, mode: 'LA', data: Uint8Array.from(ramp(12, 101)) },
    ];
    for (const image of cases) {
      const back = decodePng(encodePng(image));
      assert.deepEqual({ ...back, data: [...back.data] }, { ...image, data: [...image.data] }, image.mode);
    }
  });

  it('writes a file that reads back the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kandinsky-png-'));
    try {
      const image: PilImage = { width: 2, height: 2, mode: 'RGB', data: Uint8Array.from(ramp(12)) };
      const path = join(dir, 'out.png');
      writePng(path, image);
      assert.deepEqual([...readPng(path).data], [...image.data]);
      assert.deepEqual([...readFileSync(path).subarray(1, 4)], [0x50, 0x4e, 0x47]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses palette images (convert them first)', () => {
    const image: PilImage = { width: 1, height: 1, mode: 'P', data: new Uint8Array(1), palette: new Uint8Array(768) };
    assert.throws(() => encodePng(image), (e: unknown) => e instanceof InputError && /mode P/.test(e.message));
  });
});
