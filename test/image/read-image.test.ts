import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { InputError } from '../../src/errors.js';
import { decodeImage, encodeImage, MAX_IMAGE_PIXELS, readImage, readPng } from '../../src/image/index.js';
import { goldenDir } from '../helpers/fixtures.js';
import { crc32 } from '../../src/image/png-chunks.js';
import { buildPng } from './png-builder.js';
import { gradient, meanAbsDiff, tempDir } from './sample-images.js';

const dir = tempDir('read-image');
after(() => rmSync(dir, { recursive: true, force: true }));
const inputs = join(goldenDir, 'images', 'inputs');

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function refusal(pattern: RegExp) {
  return (e: unknown) => e instanceof InputError && pattern.test(e.message);
}

describe('readImage', () => {
  it('decodes PNG with the Pillow-exact decoder, palette images staying P', async () => {
    for (const name of ['rgb_150x90.png', 'rgba_120x80.png', 'gray_50x70.png', 'pal_397x261.png']) {
      assert.deepEqual(await readImage(join(inputs, name)), readPng(join(inputs, name)), name);
    }
  });

  it('tells the format by magic bytes, not by the file name', async () => {
    const path = join(dir, 'really-a-png.jpg');
    copyFileSync(join(inputs, 'rgb_150x90.png'), path);
    assert.deepEqual(await readImage(path), readPng(join(inputs, 'rgb_150x90.png')));
  });

  it('decodes JPEG to RGB, and a grey JPEG to L as Pillow opens it', async () => {
    const rgb = gradient(40, 30);
    const back = await readImage(file('rgb.jpeg', await encodeImage(rgb, 'jpeg', { quality: 95 })));
    assert.deepEqual([back.mode, back.width, back.height], ['RGB', 40, 30]);
    assert.ok(meanAbsDiff(back.data, rgb.data) < 2);
    const grey = await readImage(file('grey.jpeg', await encodeImage(gradient(40, 30, 'L'), 'jpeg')));
    assert.deepEqual([grey.mode, grey.data.length], ['L', 40 * 30]);
  });

  it('decodes a CMYK JPEG to RGB', async () => {
    const cmyk = await sharp(gradient(8, 8).data, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg().toBuffer();
    const image = await readImage(file('cmyk.jpeg', cmyk));
    assert.deepEqual([image.mode, image.data.length], ['RGB', 8 * 8 * 3]);
  });

  it('turns a JPEG upright by its EXIF orientation, as diffusers load_image does', async () => {
    const rotated = await sharp(gradient(40, 30).data, { raw: { width: 40, height: 30, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const image = await readImage(file('rotated.jpeg', rotated));
    assert.deepEqual([image.width, image.height], [30, 40]);
  });

  it('decodes WebP to RGB, or RGBA when it has alpha', async () => {
    const rgba = gradient(20, 10, 'RGBA');
    const back = await readImage(file('alpha.webp', await encodeImage(rgba, 'webp', { quality: 100 })));
    assert.deepEqual([back.mode, back.width, back.height], ['RGBA', 20, 10]);
    assert.ok(meanAbsDiff(back.data, rgba.data) < 3);
    assert.equal((await readImage(file('rgb.webp', await encodeImage(gradient(20, 10), 'webp')))).mode, 'RGB');
  });

  it('refuses files that are not PNG, JPEG or WebP, saying what they are', async () => {
    await assert.rejects(readImage(file('anim.png', 'GIF89a\x01\x00\x01\x00')), refusal(/anim\.png: not a PNG, JPEG or WebP image \(found a GIF image\)/));
    await assert.rejects(readImage(file('empty.jpg', '')), refusal(/empty\.jpg: .*found an empty file/));
    await assert.rejects(readImage(join(dir, 'absent.png')), refusal(/absent\.png: cannot read image/));
    await assert.rejects(readImage(dir), refusal(/cannot read image/));
  });

  it('refuses corrupt files, naming the file and the format', async () => {
    const jpeg = await encodeImage(gradient(32, 32), 'jpeg');
    await assert.rejects(readImage(file('cut.jpeg', jpeg.subarray(0, jpeg.length >> 1))), refusal(/cut\.jpeg: broken JPEG file/));
    const webp = await encodeImage(gradient(32, 32), 'webp');
    const garbled = Buffer.from(webp);
    garbled.fill(0x55, 20);
    await assert.rejects(readImage(file('garbled.webp', garbled)), refusal(/garbled\.webp: broken WebP file/));
    const png = await encodeImage(gradient(32, 32), 'png');
    await assert.rejects(readImage(file('cut.png', png.subarray(0, png.length - 20))), refusal(/cut\.png: (truncated|broken) PNG/));
  });

  it(`refuses more than ${MAX_IMAGE_PIXELS} pixels before decoding (a decompression bomb)`, async () => {
    const bomb = /image is 100000x100000 \(10000\.0 megapixels\); refusing more than 67108864 pixels/;
    // A valid header and a few bytes of image data: decoding would need 30 GB.
    await assert.rejects(readImage(file('bomb.png', pngClaiming(100000, 100000))), refusal(bomb));
    // At the bound the header passes, and the decoder finds the data missing.
    await assert.rejects(readImage(file('at-bound.png', pngClaiming(8192, 8192))), refusal(/at-bound\.png: image file is truncated/));

    const jpeg = Buffer.from(await encodeImage(gradient(8, 8), 'jpeg'));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(50000, sof + 5);
    jpeg.writeUInt16BE(50000, sof + 7);
    await assert.rejects(readImage(file('bomb.jpeg', jpeg)), refusal(/bomb\.jpeg: image is 50000x50000 .* decompression bomb/));

    const webp = Buffer.from(await sharp(gradient(8, 8).data, { raw: { width: 8, height: 8, channels: 3 } }).webp({ lossless: true }).toBuffer());
    // VP8L: signature 0x2f, then 14 bits width - 1 and 14 bits height - 1.
    const at = webp.indexOf('VP8L') + 9;
    webp.writeUInt32LE((webp.readUInt32LE(at) & ~0x0fffffff) | 9999 | (9999 << 14), at);
    await assert.rejects(readImage(file('bomb.webp', webp)), refusal(/bomb\.webp: image is 10000x10000 .* decompression bomb/));
  });
});

describe('decodeImage', () => {
  it('decodes bytes exactly as readImage decodes the same file, without touching the disk', async () => {
    const png = join(inputs, 'pal_397x261.png');
    assert.deepEqual(await decodeImage(readFileSync(png), 'input.image'), readPng(png));
    const webp = await encodeImage(gradient(20, 10, 'RGBA'), 'webp', { quality: 100 });
    assert.deepEqual(await decodeImage(webp, 'input.image'), await readImage(file('same.webp', webp)));
  });

  it('names its source in every refusal: not an image, corrupt, a decompression bomb', async () => {
    await assert.rejects(decodeImage(Buffer.from('GIF89a\x01\x00'), 'input.mask'), refusal(/^input\.mask: not a PNG, JPEG or WebP image \(found a GIF image\)/));
    await assert.rejects(decodeImage(new Uint8Array(0), 'input.mask'), refusal(/^input\.mask: .*found an empty file/));
    const jpeg = await encodeImage(gradient(32, 32), 'jpeg');
    await assert.rejects(decodeImage(jpeg.subarray(0, jpeg.length >> 1), 'input.hint'), refusal(/^input\.hint: broken JPEG file/));
    await assert.rejects(decodeImage(pngClaiming(100000, 100000), 'input.image'), refusal(/^input\.image: image is 100000x100000 .* decompression bomb/));
  });
});

/** A 1x1 grey PNG whose IHDR (CRC fixed up) claims another size. */
function pngClaiming(width: number, height: number): Uint8Array {
  const png = buildPng({ width: 1, height: 1, bitDepth: 8, colorType: 0, samples: [0] });
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(png.subarray(12, 29)));
  return png;
}
