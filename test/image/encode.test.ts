import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { decodePng, encodeImage, readImage, writeImageFile, type ImageMode } from '../../src/image/index.js';
import { gradient, meanAbsDiff, tempDir } from './sample-images.js';

const dir = tempDir('encode');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('encodeImage', () => {
  it('writes PNG losslessly in every mode it stores, alpha 0 pixels keeping their colour', async () => {
    for (const mode of ['L', 'LA', 'RGB', 'RGBA'] as ImageMode[]) {
      const image = gradient(37, 23, mode);
      const back = decodePng(await encodeImage(image, 'png'));
      assert.deepEqual([back.mode, back.width, back.height], [mode, 37, 23], mode);
      assert.deepEqual(back.data, image.data, mode);
    }
  });

  it('writes JPEG and WebP lossy, with the size kept and the pixels close', async () => {
    const image = gradient(64, 48);
    for (const format of ['jpeg', 'webp'] as const) {
      const path = join(dir, `lossy.${format}`);
      writeFileSync(path, await encodeImage(image, format));
      const back = await readImage(path);
      assert.deepEqual([back.mode, back.width, back.height], ['RGB', 64, 48], format);
      assert.ok(meanAbsDiff(back.data, image.data) < 3, `${format}: mean difference ${meanAbsDiff(back.data, image.data)}`);
    }
  });

  it("uses Pillow's default qualities: JPEG 75, WebP 80", async () => {
    const image = gradient(64, 48);
    assert.deepEqual(await encodeImage(image, 'jpeg'), await encodeImage(image, 'jpeg', { quality: 75 }));
    assert.notDeepEqual(await encodeImage(image, 'jpeg'), await encodeImage(image, 'jpeg', { quality: 80 }));
    assert.deepEqual(await encodeImage(image, 'webp'), await encodeImage(image, 'webp', { quality: 80 }));
    assert.notDeepEqual(await encodeImage(image, 'webp'), await encodeImage(image, 'webp', { quality: 75 }));
  });

  it('keeps a WebP with alpha as RGBA', async () => {
    const path = join(dir, 'alpha.webp');
    writeFileSync(path, await encodeImage(gradient(16, 16, 'RGBA'), 'webp', { quality: 100 }));
    assert.equal((await readImage(path)).mode, 'RGBA');
  });

  it('refuses modes the format cannot store, as Pillow does', async () => {
    await assert.rejects(encodeImage(gradient(4, 4, 'RGBA'), 'jpeg'), (e: unknown) => e instanceof InputError && /cannot write mode RGBA as JPEG/.test(e.message));
    const palette = { width: 1, height: 1, mode: 'P' as const, data: new Uint8Array(1), palette: new Uint8Array(768) };
    await assert.rejects(encodeImage(palette, 'png'), (e: unknown) => e instanceof InputError && /mode P .*convert it first/.test(e.message));
  });

  it('refuses a quality outside 1..100, and any quality for PNG', async () => {
    for (const quality of [0, 101, 7.5]) {
      await assert.rejects(encodeImage(gradient(4, 4), 'jpeg', { quality }), (e: unknown) => e instanceof InputError && /integer from 1 to 100/.test(e.message));
    }
    await assert.rejects(encodeImage(gradient(4, 4), 'png', { quality: 90 }), (e: unknown) => e instanceof InputError && /PNG is lossless/.test(e.message));
  });

  it('refuses pixel data that does not fill the image', async () => {
    const image = { ...gradient(4, 4), data: new Uint8Array(47) };
    await assert.rejects(encodeImage(image, 'png'), (e: unknown) => e instanceof InputError && /4x4 RGB image from 47 bytes; expected 48/.test(e.message));
  });
});

describe('writeImageFile', () => {
  const entries = (folder: string) => readdirSync(folder).sort();

  it('writes the encoded bytes and leaves nothing else in the folder', async () => {
    const folder = join(dir, 'plain');
    mkdirSync(folder);
    const image = gradient(8, 8);
    await writeImageFile(join(folder, 'out.jpeg'), image, 'jpeg');
    assert.deepEqual(entries(folder), ['out.jpeg']);
    assert.deepEqual(readFileSync(join(folder, 'out.jpeg')), await encodeImage(image, 'jpeg'));
  });

  it('replaces an existing file whole', async () => {
    const folder = join(dir, 'replace');
    mkdirSync(folder);
    const path = join(folder, 'out.png');
    writeFileSync(path, Buffer.alloc(1 << 16, 7));
    await writeImageFile(path, gradient(8, 8), 'png');
    assert.deepEqual(decodePng(readFileSync(path)).data, gradient(8, 8).data);
    assert.deepEqual(entries(folder), ['out.png']);
  });

  it('removes its temporary file when the rename fails (the path is a folder) and says which path', async () => {
    const folder = join(dir, 'blocked');
    mkdirSync(join(folder, 'out.png'), { recursive: true });
    await assert.rejects(
      writeImageFile(join(folder, 'out.png'), gradient(8, 8), 'png'),
      (e: unknown) => e instanceof InputError && e.message.startsWith(`${join(folder, 'out.png')}: cannot write image`),
    );
    assert.deepEqual(entries(folder), ['out.png']);
    assert.deepEqual(readdirSync(join(folder, 'out.png')), []);
  });

  it('leaves an existing file untouched when encoding fails', async () => {
    const folder = join(dir, 'keep');
    mkdirSync(folder);
    const path = join(folder, 'out.jpeg');
    writeFileSync(path, 'previous');
    await assert.rejects(writeImageFile(path, gradient(4, 4, 'RGBA'), 'jpeg'), InputError);
    assert.equal(readFileSync(path, 'utf8'), 'previous');
    assert.deepEqual(entries(folder), ['out.jpeg']);
  });

  it('refuses a folder that does not exist, creating nothing', async () => {
    const path = join(dir, 'missing', 'out.webp');
    await assert.rejects(writeImageFile(path, gradient(4, 4), 'webp'), (e: unknown) => e instanceof InputError && /cannot write image/.test(e.message));
    assert.equal(existsSync(join(dir, 'missing')), false);
  });
});
