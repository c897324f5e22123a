import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { infotext, writeImageFile } from '../../src/image/index.js';
import { goldenDir, projectRoot } from '../helpers/fixtures.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';

const bin = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
const run = promisify(execFile);

async function kandinsky(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the kandinsky binary', () => {
  it('is executable, so `npx kandinsky` runs it straight after npm ci', async () => {
    const { accessSync, constants } = await import('node:fs');
    assert.doesNotThrow(() => accessSync(bin, constants.X_OK));
    const { stdout } = await promisify(execFile)(bin, ['--version']);
    assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe('kandinsky pull', () => {
  let hub: HubServer;
  let cache: string;
  before(async () => {
    hub = await startHubServer();
    cache = mkdtempSync(join(tmpdir(), 'kandinsky-cli-pull-'));
  });
  after(async () => {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  });

  it('downloads a repo into the cache and prints the snapshot folder', async () => {
    const r = await kandinsky(['pull', 'kandinsky-community/kandinsky-2-2-decoder'], { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache });
    assert.equal(r.code, 0, r.stderr);
    const snapshot = r.stdout.trim();
    assert.equal(snapshot, join(cache, 'models--kandinsky-community--kandinsky-2-2-decoder', 'snapshots', hub.commitOf('kandinsky-community/kandinsky-2-2-decoder')));
    assert.ok(existsSync(join(snapshot, 'unet', 'diffusion_pytorch_model.safetensors')));
    assert.match(r.stderr, /downloaded unet\/diffusion_pytorch_model\.safetensors/);
  });

  it('says clearly when the repo does not exist', async () => {
    const r = await kandinsky(['pull', 'kandinsky-community/no-such-model'], { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /repository not found \(or private\): kandinsky-community\/no-such-model/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace for a user error');
  });
});

describe('kandinsky conformance', () => {
  it('runs the kinds asked for, reports the others as left out, and ends with the summary line', async () => {
    const r = await kandinsky(['conformance', goldenDir, '--kinds', 'torch_randn,clip_tokenizer']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), '7 passed, 0 failed');
    assert.match(r.stdout, /^pass {2}randn_small_sizes +torch_randn +max_abs/m);
    assert.match(lines.at(-2) ?? '', /^left out by --kinds: \d+ case\(s\) of kinds .*unet \(8\)/);
  });

  it('says when a kind asked for has no case in the set', async () => {
    const r = await kandinsky(['conformance', goldenDir, '--kinds', 'torch_randn,tokenizr']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /no case of kind tokenizr in /);
  });

  it('reports a case whose model cannot be loaded and still ends with the summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kandinsky-golden-'));
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
        format: 'kandinsky-golden/1', models_dir: '.', cases: [{
          name: 'ghost', kind: 'movq_encode', model: 'no-such-repo', component: 'movq',
          inputs: { image: null }, expected: {}, tolerance: { max_abs: 0 },
        }],
      }));
      const r = await kandinsky(['conformance', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /FAIL {2}ghost +movq_encode/);
      assert.match(r.stdout, /could not run: .*no-such-repo\/movq.*not found/);
      assert.equal(r.stdout.trim().split('\n').at(-1), '0 passed, 1 failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails on a kind it does not know', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kandinsky-golden-'));
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
        format: 'kandinsky-golden/1', models_dir: '.', cases: [{ name: 'x', kind: 'teleport', inputs: {}, expected: {}, tolerance: { max_abs: 0 } }],
      }));
      const r = await kandinsky(['conformance', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /FAIL {2}x +teleport/);
      assert.match(r.stdout, /unknown kind "teleport"/);
      assert.equal(r.stdout.trim().split('\n').at(-1), '0 passed, 1 failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kandinsky info', () => {
  let dir: string;
  const parameters = { mode: 'text2img', prompt: 'a moss covered astronaut', seed: 42, width: 512, height: 512, num_inference_steps: 75 };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kandinsky-cli-info-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the A1111 text and the JSON of a generated PNG', async () => {
    const path = join(dir, 'out-0.png');
    await writeImageFile(path, { width: 2, height: 2, mode: 'RGB', data: new Uint8Array(12) }, 'png', { metadata: parameters });
    const r = await kandinsky(['info', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${infotext(parameters)}\n\n${JSON.stringify(parameters, null, 2)}\n`);
  });

  it('exits 2 with a clear message for a file that is not an image', async () => {
    const path = join(dir, 'prompt.txt');
    writeFileSync(path, 'a moss covered astronaut');
    const r = await kandinsky(['info', path]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `kandinsky: ${path}: not a PNG, JPEG or WebP image (found bytes 61 20 6d 6f 73 73 20 63)\n`);
  });

  it('exits 2 for an image without parameters', async () => {
    const path = join(dir, 'plain.webp');
    await writeImageFile(path, { width: 2, height: 2, mode: 'RGB', data: new Uint8Array(12) }, 'webp');
    const r = await kandinsky(['info', path]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `kandinsky: ${path}: the image carries no generation parameters\n`);
  });
});
