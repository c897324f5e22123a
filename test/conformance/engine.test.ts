import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatResult, readGoldenSet, runConformance } from '../../src/conformance/index.js';
import { goldenDir } from '../helpers/fixtures.js';

// The engine's nine kinds (issue 7); scheduler and pipeline kinds belong to the pipelines.
const ENGINE_KINDS = ['torch_randn', 'clip_tokenizer', 'clip_text', 'clip_image_processor', 'clip_vision', 'prior_transformer', 'unet', 'movq_encode', 'movq_decode'];

describe('golden conformance of the engine', () => {
  it('passes every case of the nine engine kinds within its tolerance', async () => {
    const report = await runConformance(goldenDir, { kinds: ENGINE_KINDS });
    const failures = report.results.filter((r) => !r.ok).map(formatResult);
    assert.deepEqual(failures, []);
    const expected = readGoldenSet(goldenDir).cases.filter((c) => ENGINE_KINDS.includes(c.kind)).length;
    assert.equal(report.passed, expected);
    for (const kind of ENGINE_KINDS) assert.ok(report.results.some((r) => r.kind === kind), `no case of kind ${kind} ran`);
    assert.ok(!ENGINE_KINDS.some((k) => report.leftOut.has(k)));
  });
});
