import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readGoldenSet } from '../../src/conformance/index.js';
import { kandinsky } from '../helpers/cli.js';
import { goldenDepthDir } from '../helpers/fixtures.js';

describe('golden depth conformance', () => {
  it('`kandinsky conformance` passes every case of the vendored depth set: image processor, DPT and the pipeline', async () => {
    const cases = readGoldenSet(goldenDepthDir).cases;
    const r = await kandinsky(['conformance', goldenDepthDir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${cases.length} passed, 0 failed$`, 'm'));
    const lines = r.stdout.split('\n').filter((l) => /^(pass|FAIL) /.test(l));
    assert.equal(lines.length, cases.length);
    for (const kind of ['dpt_image_processor', 'dpt_depth', 'depth_estimation']) {
      assert.ok(lines.some((l) => l.split(/\s+/)[2] === kind), `no ${kind} case ran`);
    }
  });
});
