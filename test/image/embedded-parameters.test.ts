import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { InputError } from '../../src/errors.js';
import {
  encodeImage,
  infotext,
  readEmbeddedParameters,
  readGenerationParameters,
  writeImageFile,
  type GenerationParameters,
} from '../../src/image/index.js';
import { pngChunk, readPngChunks } from '../../src/image/png-chunks.js';
import { insertPngChunks } from '../../src/image/png-text.js';
import { gradient, sampleParameters, tempDir } from './sample-images.js';

const dir = tempDir('parameters');
after(() => rmSync(dir, { recursive: true, force: true }));
const FORMATS = ['png', 'jpeg', 'webp'] as const;

const latin1Parameters: GenerationParameters = { ...sampleParameters, prompt: 'a red cat, oil painting', negative_prompt: undefined };

async function written(name: string, format: (typeof FORMATS)[number], metadata?: GenerationParameters): Promise<string> {
  const path = join(dir, `${name}.${format}`);
  await writeImageFile(path, gradient(16, 16), format, { metadata });
  return path;
}

async function exiftool(...args: string[]): Promise<string> {
  // No skip: CI installs exiftool (.ci/run); a machine without it fails here.
  return (await promisify(execFile)('exiftool', args)).stdout;
}

describe('infotext (AUTOMATIC1111 parameters)', () => {
  it('is the prompt, a Negative prompt line, then the Key: value line', () => {
    assert.equal(
      infotext(sampleParameters),
      'a red cat, oil painting — Кандинский\n' +
        'Negative prompt: blurry, low quality\n' +
        'Steps: 75, Sampler: DDPMScheduler, CFG scale: 4, Seed: 42, Size: 512x512, ' +
        'Model: kandinsky-community/kandinsky-2-2-decoder, Model revision: 0123456789abcdef0123456789abcdef01234567, ' +
        'Denoising strength: 0.3, Batch size: 2, Batch pos: 1, Prior steps: 25, Prior CFG scale: 4, ' +
        'Prior hash: fedcba9876, Prior: /models/my-prior, Mode: img2img, Image hash: a1b2c3d4e5, Version: kandinsky 0.1.0',
    );
  });

  it('has no Negative prompt line without one, and quotes values holding , : or a newline as A1111 does', () => {
    const text = infotext({ prompt: 'a cat', num_inference_steps: 50, model: { id: 'C:\\models\\decoder' }, scheduler: 'a,b' });
    assert.equal(text, 'a cat\nSteps: 50, Sampler: "a,b", Model: "C:\\\\models\\\\decoder"');
  });
});

describe('parameters embedded in outputs', () => {
  it('read back whole from PNG, JPEG and WebP, text outside Latin-1 included', async () => {
    for (const format of FORMATS) {
      const path = await written('full', format, sampleParameters);
      assert.deepEqual(readGenerationParameters(path), sampleParameters, format);
      assert.equal(readEmbeddedParameters(path).infotext, infotext(sampleParameters), format);
    }
  });

  it('are absent from images written without them', async () => {
    for (const format of FORMATS) {
      const path = await written('bare', format);
      assert.equal(readGenerationParameters(path), undefined, format);
      assert.equal(readEmbeddedParameters(path).infotext, undefined, format);
    }
  });

  it('go in PNG as an uncompressed tEXt "parameters" (as Pillow and A1111 write it) and an iTXt "kandinsky" with the JSON', async () => {
    const png = await encodeImage(gradient(8, 8), 'png', { metadata: latin1Parameters });
    const [parameters, json] = readPngChunks(png, 'test').texts;
    assert.equal(parameters.type, 'tEXt');
    assert.equal(Buffer.from(parameters.payload).toString('latin1'), `parameters\0${infotext(latin1Parameters)}`);
    assert.equal(json.type, 'iTXt');
    assert.equal(Buffer.from(json.payload).toString('utf8'), `kandinsky\0\0\0\0\0${JSON.stringify(latin1Parameters)}`);
  });

  it('fall back to an uncompressed iTXt "parameters" when the text is not Latin-1, as Pillow does', async () => {
    const png = await encodeImage(gradient(8, 8), 'png', { metadata: sampleParameters });
    const [parameters] = readPngChunks(png, 'test').texts;
    assert.equal(parameters.type, 'iTXt');
    assert.equal(Buffer.from(parameters.payload).toString('utf8'), `parameters\0\0\0\0\0${infotext(sampleParameters)}`);
  });

  it('are read by exiftool from the EXIF UserComment of JPEG and WebP', async () => {
    for (const format of ['jpeg', 'webp'] as const) {
      for (const metadata of [latin1Parameters, sampleParameters]) {
        const path = await written(`exiftool-${metadata === latin1Parameters ? 'ascii' : 'unicode'}`, format, metadata);
        const comment = await exiftool('-charset', 'exif=utf8', '-b', '-UserComment', path);
        assert.equal(comment, infotext(metadata), `${format}`);
      }
      const warnings = await exiftool('-validate', '-warning', '-a', '-s3', await written('validate', format, sampleParameters));
      assert.doesNotMatch(warnings, /EXIF header|Bad|error/i, `${format}: ${warnings}`);
    }
  });

  it('reads the A1111 text of a PNG another tool wrote, without our JSON', async () => {
    const path = join(dir, 'a1111.png');
    const text = 'a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512';
    const ztxt = pngChunk('zTXt', Buffer.concat([Buffer.from('parameters\0\0', 'latin1'), deflateSync(Buffer.from(text, 'latin1'))]));
    writeFileSync(path, insertPngChunks(await encodeImage(gradient(4, 4), 'png'), [ztxt]));
    assert.deepEqual(readEmbeddedParameters(path), { infotext: text, parameters: undefined });
  });

  it('refuses a JSON chunk that does not hold our parameters, naming the file, chunk and field', async () => {
    const path = join(dir, 'bad-json.png');
    const chunk = pngChunk('tEXt', Buffer.from('kandinsky\0{"seed":"forty-two"}', 'latin1'));
    writeFileSync(path, insertPngChunks(await encodeImage(gradient(4, 4), 'png'), [chunk]));
    assert.throws(
      () => readGenerationParameters(path),
      (e: unknown) => e instanceof InputError && e.message === `${path} (PNG chunk "kandinsky"): generation parameter seed must be an integer or its decimal digits, got string`,
    );
  });

  it('refuses a file that is not an image, saying what it found', () => {
    const path = join(dir, 'notes.png');
    writeFileSync(path, '{"prompt": "a cat"}');
    assert.throws(() => readGenerationParameters(path), (e: unknown) => e instanceof InputError && /notes\.png: not a PNG, JPEG or WebP image \(found bytes 7b 22 70/.test(e.message));
  });
});
