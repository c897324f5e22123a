import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readGoldenSet } from '../../src/conformance/index.js';
import { kandinsky } from '../helpers/cli.js';
import { goldenDir } from '../helpers/fixtures.js';

describe('golden conformance', () => {
  it('`kandinsky conformance` passes every case of the vendored set: networks, schedulers and pipelines', async () => {
    const cases = readGoldenSet(goldenDir).cases;
    const r = await kandinsky(['conformance', goldenDir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${cases.length} passed, 0 failed$`, 'm'));
    assert.equal(cases.length, 62);
    const lines = r.stdout.split('\n').filter((l) => /^(pass|FAIL) /.test(l));
    assert.equal(lines.length, cases.length);
    // Every kind of the set ran: a kind the runner did not know would have failed its cases.
    for (const kind of new Set(cases.map((c) => c.kind))) assert.ok(lines.some((l) => l.split(/\s+/)[2] === kind), `no ${kind} case ran`);
  });
});
