import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { modelsDir, projectRoot } from './helpers/fixtures.js';

// A global install runs onnxruntime-node's install script, which would fetch CUDA binaries: skipped, as on any CPU machine.
const npm = (args: string[], cwd: string) => execFileSync('npm', args, {
  cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', ONNXRUNTIME_NODE_INSTALL: 'skip' },
});

describe('the kandinsky package', () => {
  it('exposes the library surface under its own name, the pipelines under diffusers\' names', async () => {
    const lib = await import('kandinsky');
    const names = [
      'loadNetwork', 'NetworkSession', 'CLIPTokenizer', 'TorchGenerator', 'CLIPImageProcessor', 'loadCheckpoint', 'pull', 'runConformance',
      'KandinskyError', 'KandinskyV22PriorPipeline', 'KandinskyV22Pipeline', 'KandinskyV22Img2ImgPipeline', 'KandinskyV22InpaintPipeline',
      'KandinskyV22ControlnetPipeline', 'KandinskyV22PriorEmb2EmbPipeline', 'generateCombined', 'loadScheduler', 'DDPMScheduler',
    ];
    for (const name of names) assert.equal(typeof (lib as Record<string, unknown>)[name], 'function', name);
  });

  it('packs the built code and the README only', () => {
    const [pack] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], projectRoot)) as { files: { path: string }[]; size: number }[];
    const outside = pack.files.map((f) => f.path).filter((p) => !p.startsWith('dist/src/') && !p.startsWith('dist/web/') && p !== 'README.md' && p !== 'package.json');
    assert.deepEqual(outside, []);
    assert.ok(pack.files.some((f) => f.path === 'dist/src/cli/main.js'));
    assert.ok(pack.files.some((f) => f.path === 'dist/src/generation/worker-main.js'));
    assert.ok(pack.size < 2 * 1024 * 1024, `the tarball is ${pack.size} bytes`);
  });

  it('installs from its tarball into a fresh prefix as a working `kandinsky` command', { timeout: 180_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'kandinsky-pack-'));
    try {
      const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', dir], projectRoot).trim().split('\n').pop()!;
      // --prefer-offline: the dependencies come from the npm cache that `npm ci` filled.
      npm(['install', '--global', '--prefix', join(dir, 'global'), '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)], dir);
      const version = execFileSync(join(dir, 'global', 'bin', 'kandinsky'), ['--version'], { encoding: 'utf8' }).trim();
      assert.match(version, /^\d+\.\d+\.\d+$/);
      const help = execFileSync(join(dir, 'global', 'bin', 'kandinsky'), ['--help'], { encoding: 'utf8' });
      assert.match(help, /generate/);
      // A whole generation from the installed copy: its worker thread and every module resolve there.
      const out = join(dir, 'installed.png');
      execFileSync(join(dir, 'global', 'bin', 'kandinsky'), [
        'generate', 'a test', '--model', join(modelsDir, 'kandinsky-2-2-decoder'), '--seed', '1', '--out', out,
        '--width', '384', '--height', '384', '--steps', '1', '--prior-steps', '2',
      ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.ok(existsSync(out));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
