import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import {
  hubCacheDir,
  repoCacheDir,
  resolveCachedSnapshot,
  resolveModelPath,
} from '../../src/weights/hf-cache.js';
import { modelsDir } from '../helpers/fixtures.js';

const DECODER = 'kandinsky-community/kandinsky-2-2-decoder';
const COMMIT = 'a'.repeat(40);
const OLD_COMMIT = 'b'.repeat(40);

describe('hubCacheDir', () => {
  it('prefers HF_HUB_CACHE', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/data/hub', HF_HOME: '/data/hf' }), '/data/hub');
  });

  it('falls back to $HF_HOME/hub', () => {
    assert.equal(hubCacheDir({ HF_HOME: '/data/hf' }), '/data/hf/hub');
  });

  it('falls back to $XDG_CACHE_HOME/huggingface/hub, then ~/.cache/huggingface/hub', () => {
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/xdg' }), '/xdg/huggingface/hub');
    assert.equal(hubCacheDir({}), join(homedir(), '.cache', 'huggingface', 'hub'));
  });

  it('expands a leading ~', () => {
    assert.equal(hubCacheDir({ HF_HOME: '~/hf' }), join(homedir(), 'hf', 'hub'));
  });
});

describe('repoCacheDir', () => {
  it('names the folder models--{org}--{name}', () => {
    assert.equal(repoCacheDir(DECODER, '/cache'), '/cache/models--kandinsky-community--kandinsky-2-2-decoder');
  });

  it('refuses what is not a repository id', () => {
    assert.throws(() => repoCacheDir('../etc/passwd', '/cache'), ConfigError);
    assert.throws(() => repoCacheDir('org/na--me', '/cache'), ConfigError);
  });
});

describe('resolveCachedSnapshot', () => {
  let cacheDir: string;
  let snapshot: string;

  before(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'kandinsky-cache-'));
    const repoDir = join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder');
    snapshot = join(repoDir, 'snapshots', COMMIT);
    mkdirSync(snapshot, { recursive: true });
    mkdirSync(join(repoDir, 'snapshots', OLD_COMMIT));
    mkdirSync(join(repoDir, 'refs', 'refs', 'pr'), { recursive: true });
    writeFileSync(join(repoDir, 'refs', 'main'), COMMIT);
    writeFileSync(join(repoDir, 'refs', 'refs', 'pr', '1'), `${OLD_COMMIT}\n`);
  });

  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('finds the snapshot a branch points to', () => {
    assert.equal(resolveCachedSnapshot(DECODER, 'main', cacheDir), snapshot);
    assert.equal(resolveCachedSnapshot(DECODER, 'refs/pr/1', cacheDir), join(snapshot, '..', OLD_COMMIT));
  });

  it('finds the snapshot of a commit', () => {
    assert.equal(resolveCachedSnapshot(DECODER, OLD_COMMIT, cacheDir), join(snapshot, '..', OLD_COMMIT));
  });

  it('names the repo, the revision and the cache when the snapshot is absent', () => {
    assert.throws(() => resolveCachedSnapshot(DECODER, 'v2', cacheDir), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(`${DECODER} at revision v2 is not in the Hugging Face cache (${cacheDir})`), err.message);
      assert.ok(err.message.includes(`kandinsky pull ${DECODER} --revision v2`), err.message);
      return true;
    });
    assert.throws(() => resolveCachedSnapshot('kandinsky-community/kandinsky-2-2-prior', 'main', cacheDir), ConfigError);
    assert.throws(() => resolveCachedSnapshot(DECODER, 'c'.repeat(40), cacheDir), ConfigError);
  });

  it('refuses a revision that climbs out of refs/', () => {
    assert.throws(() => resolveCachedSnapshot(DECODER, '../../../etc', cacheDir), /not a revision/);
  });

  it('resolves a model spec: a local folder as is, otherwise a repo id in the cache', () => {
    const local = join(modelsDir, 'kandinsky-2-2-decoder');
    assert.equal(resolveModelPath(local), local);
    assert.equal(resolveModelPath(DECODER, { cacheDir }), snapshot);
    assert.throws(() => resolveModelPath('./no/such/folder', { cacheDir }), /no model folder at .*no\/such\/folder/);
    assert.throws(() => resolveModelPath('nobody/nothing', { cacheDir }), /nobody\/nothing at revision main is not in/);
  });
});
