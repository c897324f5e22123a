import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readImage, readGenerationParameters } from '../../src/image/index.js';
import { readSafetensors } from '../../src/weights/index.js';
import { assertUsageError, bin, kandinsky } from '../helpers/cli.js';
import { goldenDir, modelsDir } from '../helpers/fixtures.js';

const decoder = join(modelsDir, 'kandinsky-2-2-decoder');
const inpaintDecoder = join(modelsDir, 'kandinsky-2-2-decoder-inpaint');
const controlnet = join(modelsDir, 'kandinsky-2-2-controlnet-depth');
const prior = join(modelsDir, 'kandinsky-2-2-prior');
const photo = join(goldenDir, 'images/inputs/rgb_150x90.png');
const mask = join(goldenDir, 'images/inputs/mask_soft_100x60.png');
/** The smallest size the CLI takes, and few steps: each run takes a second or two on the tiny models. */
const quick = ['--width', '384', '--height', '384', '--steps', '2', '--prior-steps', '2'];

describe('kandinsky generate', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kandinsky-generate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes an image from a prompt, finds the prior beside the decoder and records every parameter', async () => {
    const out = join(dir, 'astronaut.png');
    const r = await kandinsky(['generate', 'a moss covered astronaut', '--model', decoder, '--seed', '7', '--out', out, ...quick]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    assert.match(r.stderr, /Using seed: 7/);
    assert.match(r.stderr, /prior 2\/2/);
    assert.match(r.stderr, /decoder 2\/2/);
    const image = await readImage(out);
    assert.deepEqual([image.width, image.height, image.mode], [384, 384, 'RGB']);
    const p = readGenerationParameters(out)!;
    assert.equal(p.prompt, 'a moss covered astronaut');
    assert.equal(String(p.seed), '7');
    assert.equal(p.mode, 'text2img');
    assert.equal(p.num_inference_steps, 2);
    assert.equal(p.model?.id, decoder);
    assert.match(p.model?.weights_sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(p.prior?.id, prior);
  });

  it('reproduces the same pixels from an image\'s stored parameters (--from)', async () => {
    const first = join(dir, 'first.png');
    const again = join(dir, 'again.png');
    assert.equal((await kandinsky(['generate', 'a red fox', '--model', decoder, '--seed', '11', '--out', first, ...quick])).code, 0);
    const r = await kandinsky(['generate', '--from', first, '--out', again]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readImage(again)).data, (await readImage(first)).data);
    const other = join(dir, 'other-seed.png');
    assert.equal((await kandinsky(['generate', '--from', first, '--seed', '12', '--out', other])).code, 0);
    assert.notDeepEqual((await readImage(other)).data, (await readImage(first)).data);
  });

  it('names several outputs -0, -1, ... and never overwrites earlier default names', async () => {
    const r = await kandinsky(['generate', 'two cats', '--model', decoder, '--seed', '3', '--num-outputs', '2', '--out', join(dir, 'cats.jpg'), ...quick]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [join(dir, 'cats-0.jpg'), join(dir, 'cats-1.jpg')]);
    const cwd = mkdtempSync(join(tmpdir(), 'kandinsky-default-names-'));
    writeFileSync(join(cwd, 'out-0.webp'), 'an earlier result');
    const d = await kandinsky(['generate', 'a dog', '--model', decoder, '--seed', '3', ...quick], {}, cwd);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.trim(), 'out-1.webp');
    assert.deepEqual(readdirSync(cwd).sort(), ['out-0.webp', 'out-1.webp']);
    rmSync(cwd, { recursive: true, force: true });
  });

  it('runs image-to-image, inpainting, ControlNet-depth, fuse and the prior alone', async () => {
    const runs: [string, string[]][] = [
      ['img2img.png', ['a watercolour', '--model', decoder, '--image', photo, '--strength', '0.5']],
      ['inpaint.png', ['a hat', '--model', inpaintDecoder, '--prior', prior, '--image', photo, '--mask', mask]],
      ['controlnet.png', ['a room', '--model', controlnet, '--prior', prior, '--hint', mask]],
      ['controlnet-img2img.png', ['a room', '--model', controlnet, '--prior', prior, '--hint', mask, '--image', photo, '--strength', '0.5']],
      ['fuse.png', ['--model', decoder, '--mix', 'text:a cat=0.5', '--mix', `image:${photo}=0.5`]],
    ];
    for (const [name, args] of runs) {
      const out = join(dir, name);
      const r = await kandinsky(['generate', ...args, '--seed', '5', '--out', out, ...quick]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal((await readImage(out)).width, 384, name);
    }
    const embeds = join(dir, 'embeds.safetensors');
    const p = await kandinsky(['prior', 'a lighthouse', '--prior', prior, '--seed', '1', '--num-outputs', '2', '--prior-steps', '2', '--out', embeds]);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(readSafetensors(embeds).tensors.map((t) => [t.name, t.shape]).sort(), [['image_embeds', [2, 32]], ['negative_image_embeds', [2, 32]]]);
    const fromEmbeds = join(dir, 'from-embeds.png');
    const d = await kandinsky(['generate', '--image-embeds', embeds, '--model', decoder, '--seed', '1', '--out', fromEmbeds, ...quick]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.stdout.trim().split('\n'), [join(dir, 'from-embeds-0.png'), join(dir, 'from-embeds-1.png')]);
  });

  it('refuses bad input before any work, naming the flag or file', async () => {
    const cases: [string[], RegExp][] = [
      [['a', '--width', '500'], /--width must be a multiple of 64 from 384 to 2048, got "500"/],
      [['a', '--height', '4096'], /--height must be a multiple of 64 from 384 to 2048/],
      [['a', '--steps', '0'], /--num-inference-steps must be an integer from 1 to 1000, got "0"/],
      [['a', '--image', photo, '--strength', '1.5'], /--strength must be a number above 0 and at most 1, got "1.5"/],
      [['--mix', 'cat=0.5'], /--mix "cat=0.5": expected text:PROMPT=WEIGHT or image:PATH=WEIGHT/],
      [['--mix', 'text:a cat=heavy'], /the weight "heavy" is not a number/],
      [['a', '--scheduler', 'euler'], /--scheduler must be one of ddpm, ddim, dpmpp, got "euler"/],
      [['a', '--out', 'x.gif'], /unknown image extension ".gif"/],
      [['a', '--model', decoder, '--image', photo, '--mask', mask], /--mask needs an inpainting decoder; .* is not one/],
      [['a', '--model', decoder, '--hint', mask], /--hint needs a ControlNet decoder/],
      [['a', '--model', inpaintDecoder], /is an inpainting decoder: give --image and --mask/],
      [['a', '--model', decoder, '--image', join(dir, 'missing.png')], /missing\.png/],
      [['a', '--model', join(dir, 'nowhere')], /--model: no model folder at .*nowhere/],
      [['a', '--model', 'someone/not-cached'], /--model: someone\/not-cached is not in the Hugging Face cache and HF_HUB_OFFLINE is set/],
    ];
    const corrupt = join(dir, 'corrupt.png');
    writeFileSync(corrupt, 'not an image at all');
    cases.push([['a', '--model', decoder, '--image', corrupt], /corrupt\.png/]);
    for (const [args, pattern] of cases) {
      assertUsageError(await kandinsky(['generate', ...args], { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: dir }), pattern);
    }
  });

  it('stops on Ctrl-C between steps and leaves no file behind', async () => {
    const out = join(dir, 'interrupted.png');
    const child = spawn(process.execPath, [bin, 'generate', 'a slow one', '--model', decoder, '--seed', '1', '--out', out, '--width', '384', '--height', '384', '--steps', '200', '--prior-steps', '2']);
    let stderr = '';
    let interrupted = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (!interrupted && /decoder 2\/200/.test(stderr)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', resolve);
    });
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancelled; nothing was written/);
    assert.ok(!existsSync(out));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('interrupted')), []);
  });
});

