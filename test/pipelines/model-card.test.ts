import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cardPrior, DEFAULT_PRIOR, latentSize, priorFor } from '../../src/pipelines/index.js';
import { modelsDir } from '../helpers/fixtures.js';

describe('finding a decoder\'s prior', () => {
  it('reads the prior named by the card\'s front matter, as a list or inline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'card-'));
    writeFileSync(join(dir, 'README.md'), '---\nlicense: apache-2.0\nprior:\n- org/some-prior\ntags:\n- x\n---\n# Card\n');
    assert.equal(cardPrior(dir), 'org/some-prior');
    writeFileSync(join(dir, 'README.md'), '---\nprior: "org/inline-prior"\n---\n');
    assert.equal(cardPrior(dir), 'org/inline-prior');
    writeFileSync(join(dir, 'README.md'), '# no front matter\nprior: nope\n');
    assert.equal(cardPrior(dir), undefined);
  });

  it('finds the prior as a sibling folder of a local decoder, else names the repo', () => {
    assert.deepEqual(priorFor(join(modelsDir, 'kandinsky-2-2-decoder')), { folder: join(modelsDir, 'kandinsky-2-2-prior'), repoId: 'tiny-kandinsky/kandinsky-2-2-prior' });
    const lone = mkdtempSync(join(tmpdir(), 'lone-'));
    mkdirSync(join(lone, 'decoder'));
    assert.deepEqual(priorFor(join(lone, 'decoder')), { repoId: DEFAULT_PRIOR });
  });
});

describe('latent size', () => {
  it('rounds the image up to multiples of 64, as downscale_height_and_width does', () => {
    assert.deepEqual(latentSize(96, 80, 8), { h: 16, w: 16 });
    assert.deepEqual(latentSize(512, 768, 8), { h: 64, w: 96 });
    assert.deepEqual(latentSize(500, 1000, 8), { h: 64, w: 128 });
    assert.throws(() => latentSize(0, 64, 8), /height must be an integer of at least 1/);
  });
});
