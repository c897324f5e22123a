import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { DPTImageProcessor, parseDPTImageProcessorConfig, type PilImage } from '../../src/image/index.js';

const processor = (json: Record<string, unknown>) => new DPTImageProcessor(parseDPTImageProcessorConfig(json, 'preprocessor_config.json'));

function grey(width: number, height: number, value = 128): PilImage {
  return { width, height, mode: 'L', data: new Uint8Array(width * height).fill(value) };
}

describe('DPTImageProcessor', () => {
  it('takes an int size as a square (get_size_dict default_to_square), and defaults to 384x384', () => {
    assert.deepEqual(processor({ size: 64 }).preprocess(grey(50, 70)).shape, [1, 3, 64, 64]);
    assert.deepEqual(processor({}).config.size, { height: 384, width: 384 });
  });

  it('converts any mode to RGB and normalises with the standard mean and std 0.5 by default', () => {
    const out = processor({ size: { height: 16, width: 16 } }).preprocess(grey(16, 16, 255));
    assert.ok(out.data.every((v) => v === 1));
  });

  it('keeps the aspect ratio by the scale closer to 1, each side rounded (half to even) to ensure_multiple_of', () => {
    // 200x100 to 384x384: scales 1.92 (w) and 3.84 (h); 1.92 is closer to 1, so 384x192, already multiples of 32.
    const p = processor({ size: { height: 384, width: 384 }, keep_aspect_ratio: true, ensure_multiple_of: 32 });
    assert.deepEqual(p.preprocess(grey(200, 100)).shape, [1, 3, 192, 384]);
    // 100x60: scales 3.84 (w) and 6.4 (h); by 3.84 the height is 230.4, 7.2 multiples of 32, so 224.
    assert.deepEqual(p.preprocess(grey(100, 60)).shape, [1, 3, 224, 384]);
    // 100x60 to 64x64: scales 0.64 (w) and 1.0667 (h), the latter closer to 1: the width 106.67 becomes 96.
    const small = processor({ size: 64, keep_aspect_ratio: true, ensure_multiple_of: 32 });
    assert.deepEqual(small.preprocess(grey(100, 60)).shape, [1, 3, 64, 96]);
    // 48 / 32 = 1.5 rounds to 2 (even), 80 / 32 = 2.5 rounds to 2.
    const square = processor({ size: { height: 48, width: 80 }, ensure_multiple_of: 32 });
    assert.deepEqual(square.preprocess(grey(10, 10)).shape, [1, 3, 64, 64]);
  });

  it('pads with zeros after normalising to multiples of size_divisor, the odd pixel after', () => {
    const out = processor({ do_resize: false, do_pad: true, size_divisor: 4, do_normalize: false }).preprocess(grey(5, 3, 255));
    assert.deepEqual(out.shape, [1, 3, 4, 8]);
    const row = (y: number) => Array.from(out.data.subarray(y * 8, y * 8 + 8));
    assert.deepEqual(row(0), [0, 1, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual(row(3), [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses do_pad without a size_divisor and a resample filter Pillow numbers differently', () => {
    assert.throws(() => processor({ do_pad: true }), (err: Error) => err instanceof ConfigError && /field "size_divisor" is missing/.test(err.message));
    assert.throws(() => processor({ resample: 4 }), (err: Error) => err instanceof ConfigError && /field "resample" is 4, expected 0 \(nearest\)/.test(err.message));
  });
});
