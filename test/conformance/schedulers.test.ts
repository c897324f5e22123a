import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatResult, readGoldenSet, runConformance } from '../../src/conformance/index.js';
import { goldenDir } from '../helpers/fixtures.js';

const SCHEDULER_KINDS = ['scheduler', 'scheduler_add_noise'];

describe('golden conformance of the schedulers', () => {
  it('passes every scheduler and scheduler_add_noise case (bit for bit on the public set)', async () => {
    const report = await runConformance(goldenDir, { kinds: SCHEDULER_KINDS });
    assert.deepEqual(report.results.filter((r) => !r.ok).map(formatResult), []);
    const expected = readGoldenSet(goldenDir).cases.filter((c) => SCHEDULER_KINDS.includes(c.kind)).length;
    assert.equal(report.passed, expected);
    for (const kind of SCHEDULER_KINDS) assert.ok(report.results.some((r) => r.kind === kind), `no case of kind ${kind} ran`);
    // Everything between the network calls is exact float32 arithmetic: no error at all, well inside max_abs.
    assert.deepEqual(report.results.filter((r) => r.maxAbs !== 0).map(formatResult), []);
  });
});
