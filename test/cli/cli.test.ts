import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { infotext, writeImageFile } from '../../src/image/index.js';
import { assertUsageError, bin, kandinsky } from '../helpers/cli.js';
import { goldenDir } from '../helpers/fixtures.js';
import { goldenCase, goldenManifest, writeGoldenSet } from '../helpers/golden-sets.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';

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

  it('gives up on a hub that never answers after KANDINSKY_HUB_TIMEOUT seconds, in one line naming the URL', async () => {
    const silent = await startHubServer();
    silent.hang();
    try {
      const r = await kandinsky(['pull', 'kandinsky-community/kandinsky-2-2-decoder'], { HF_ENDPOINT: silent.endpoint, HF_HUB_CACHE: cache, KANDINSKY_HUB_TIMEOUT: '0.2' });
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${silent.endpoint}/api/models/kandinsky-community/kandinsky-2-2-decoder/revision/main\\?blobs=true: no data for 0.2 s`));
    } finally {
      await silent.close();
    }
  });

  it('says clearly when the repo does not exist', async () => {
    const r = await kandinsky(['pull', 'kandinsky-community/no-such-model'], { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /repository not found \(or private\): kandinsky-community\/no-such-model/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace for a user error');
  });
});

describe('kandinsky usage errors', () => {
  it('names the flag of a number that is not one, for every command', async () => {
    assertUsageError(await kandinsky(['conformance', goldenDir, '--threads', '2x']), /^error: option '--threads <n>' argument '2x' is invalid\. expected a positive integer$/);
    assertUsageError(await kandinsky(['bench', 'matmul', '--threads', '0']), /option '--threads <n>' argument '0' is invalid/);
    assertUsageError(await kandinsky(['bench', 'matmul', '--runs', 'many']), /option '--runs <n>' argument 'many' is invalid/);
    assertUsageError(await kandinsky(['bench', 'unet', '--size', '100']), /option '--size <px>' argument '100' is invalid\. expected a multiple of 64$/);
    assertUsageError(await kandinsky(['bench', 'unet', '--batch', '-1']), /option '--batch <n>' argument '-1' is invalid/);
  });

  it('names the flag of a regular expression that is not one', async () => {
    assertUsageError(await kandinsky(['conformance', goldenDir, '--filter', 'unet(']), /^error: option '--filter <regex>' argument 'unet\(' is invalid\. expected a regular expression \(.*\)$/);
  });

  it('names the argument or flag that is not among the choices', async () => {
    assertUsageError(await kandinsky(['bench', 'vae']), /argument 'what'\. Allowed choices are unet, movq, prior, text, dpt, text2img, matmul, all/);
    assertUsageError(await kandinsky(['conformance', goldenDir, '--device', 'tpu']), /option '--device <name>' argument 'tpu' is invalid\. unknown device "tpu"/);
    assertUsageError(await kandinsky(['pull', 'not a repo']), /^kandinsky: "not a repo" is not a hub repository id/);
  });

  it('names a golden manifest that is not JSON', async () => {
    const dir = writeGoldenSet('{"format": "kandinsky-golden/1", ');
    try {
      assertUsageError(await kandinsky(['conformance', dir]), new RegExp(`^kandinsky: ${join(dir, 'manifest.json')}: golden manifest is not valid JSON`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the manifest and the case whose shape is wrong', async () => {
    for (const [manifest, message] of [
      [{ ...goldenManifest([]), cases: 'all' }, 'field "cases" is "all", expected an array of case objects'],
      [goldenManifest([goldenCase(), 42]), 'case #1 is 42, expected an object'],
      [goldenManifest([goldenCase({ tolerance: { max_abs: -1 } })]), 'case "randn": field "tolerance.max_abs" is -1, expected a non-negative number'],
    ] as const) {
      const dir = writeGoldenSet(manifest);
      try {
        const r = await kandinsky(['conformance', dir]);
        assertUsageError(r, /^kandinsky: /);
        assert.equal(r.stderr.trim(), `kandinsky: ${join(dir, 'manifest.json')}: ${message}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('fails when --kinds or --filter leave no case to run', async () => {
    assertUsageError(await kandinsky(['conformance', goldenDir, '--kinds', 'tokenizr']), /no case ran: none of its \d+ cases is of kind tokenizr$/);
    assertUsageError(await kandinsky(['conformance', goldenDir, '--filter', '^nothing$']), /no case ran: none of its \d+ cases has a name matching \/\^nothing\$\/$/);
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
          inputs: { image: null }, expected: { latents: { tensor: 'latents' } }, tolerance: { max_abs: 0 },
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
