import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readImage, readGenerationParameters } from '../../src/image/index.js';
import { readInt64, readSafetensors } from '../../src/weights/index.js';
import { assertUsageError, kandinsky } from '../helpers/cli.js';
import { goldenDepthDir, modelsDir, tinyDptDir } from '../helpers/fixtures.js';

const controlnet = join(modelsDir, 'kandinsky-2-2-controlnet-depth');
const prior = join(modelsDir, 'kandinsky-2-2-prior');
const photo = join(goldenDepthDir, 'images/inputs/rgb_80x60.png');
const quick = ['--width', '384', '--height', '384', '--steps', '2', '--prior-steps', '2', '--seed', '3'];
const offline = { HF_HUB_OFFLINE: '1' };

describe('kandinsky depth', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kandinsky-depth-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the depth map of a photo at its size as an 8-bit grey PNG, as the reference pipeline computes it', async () => {
    const out = join(dir, 'depth.png');
    const r = await kandinsky(['depth', photo, '--out', out, '--model', tinyDptDir], offline);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    const depth = await readImage(out);
    assert.deepEqual([depth.width, depth.height, depth.mode], [80, 60, 'L']);
    const expected = readInt64(readSafetensors(join(goldenDepthDir, 'tensors/depth_estimation_rgb_80x60.safetensors')).tensors.find((t) => t.name === 'depth')!);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(depth.data[i] - Number(expected[i])) <= 1, `pixel ${i}`);
  });

  it('generates with ControlNet-depth straight from a photo: the same pixels as --hint with its depth map', async () => {
    const depth = join(dir, 'hint.png');
    assert.equal((await kandinsky(['depth', photo, '--out', depth, '--model', tinyDptDir], offline)).code, 0);
    const fromPhoto = join(dir, 'from-photo.png');
    const fromHint = join(dir, 'from-hint.png');
    const common = ['a room', '--model', controlnet, '--prior', prior, ...quick];
    const a = await kandinsky(['generate', ...common, '--hint-from', photo, '--depth-model', tinyDptDir, '--out', fromPhoto], offline);
    assert.equal(a.code, 0, a.stderr);
    const b = await kandinsky(['generate', ...common, '--hint', depth, '--out', fromHint], offline);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual((await readImage(fromPhoto)).data, (await readImage(fromHint)).data);
    const p = readGenerationParameters(fromPhoto)!;
    assert.equal(p.mode, 'controlnet');
    assert.equal(p.inputs?.hint_from?.file, photo);
    assert.equal(p.depth_model?.id, tinyDptDir);
    assert.match(p.depth_model?.weights_sha256 ?? '', /^[0-9a-f]{64}$/);
    // --from finds the same depth model again, so the pixels come out the same.
    const again = join(dir, 'again.png');
    const c = await kandinsky(['generate', '--from', fromPhoto, '--out', again], offline);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual((await readImage(again)).data, (await readImage(fromPhoto)).data);
  });

  it('runs ControlNet-depth image-to-image from a photo', async () => {
    const out = join(dir, 'img2img.png');
    const r = await kandinsky(['generate', 'a room', '--model', controlnet, '--prior', prior, ...quick, '--image', photo, '--strength', '0.5',
      '--hint-from', photo, '--depth-model', tinyDptDir, '--out', out], offline);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readGenerationParameters(out)?.mode, 'controlnet_img2img');
  });

  it('refuses an unreadable photo, naming the file', async () => {
    const broken = join(dir, 'broken.png');
    writeFileSync(broken, 'not an image');
    assertUsageError(await kandinsky(['depth', broken, '--out', join(dir, 'x.png'), '--model', tinyDptDir], offline), new RegExp(`${broken.replace(/[.]/g, '\\.')}`));
    assert.equal(existsSync(join(dir, 'x.png')), false);
  });

  for (const [title, edit, field] of [
    ['a hybrid DPT', { is_hybrid: true }, /field "is_hybrid" is true: DPT-Hybrid .*; supported: DPT with its own ViT backbone/],
    ['a DPT on a DINOv2 backbone', { backbone_config: { model_type: 'dinov2' } }, /field "backbone_config" .* another backbone .*; supported: DPT with its own ViT backbone/],
  ] as const) {
    it(`refuses ${title}, naming the field and what is supported`, async () => {
      const model = join(dir, `model-${Object.keys(edit)[0]}`);
      mkdirSync(model);
      for (const f of ['model.safetensors', 'preprocessor_config.json']) copyFileSync(join(tinyDptDir, f), join(model, f));
      writeFileSync(join(model, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(tinyDptDir, 'config.json'), 'utf8')), ...edit }));
      assertUsageError(await kandinsky(['depth', photo, '--out', join(dir, 'y.png'), '--model', model], offline), field);
    });
  }

  it('refuses flags that do not go together before any work', async () => {
    const base = ['generate', 'a room', '--model', controlnet, '--prior', prior, ...quick];
    assertUsageError(await kandinsky([...base, '--hint', photo, '--hint-from', photo], offline), /--hint and --hint-from cannot be combined/);
    assertUsageError(await kandinsky([...base, '--depth-model', tinyDptDir], offline), /--depth-model needs --hint-from/);
    assertUsageError(await kandinsky([...base, '--image', photo, '--mask', photo, '--hint-from', photo], offline), /--mask and --hint-from cannot be combined/);
    assertUsageError(await kandinsky(['depth', photo, '--out', join(dir, 'd.jpg'), '--model', tinyDptDir], offline), /--out .*d\.jpg: the depth map is written as PNG/);
  });
});
