import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMeter, tqdmLines } from '../../src/server/models/index.js';
import type { StepEvent } from '../../src/pipelines/index.js';

// The progress regex of the official clients (JS parseProgressFromLogs, PY Prediction.progress).
const PROGRESS = /^\s*(\d+)%\s*\|.+?\|\s*(\d+)\/(\d+)/;

describe('tqdm log lines', () => {
  it('prints the documented lines exactly', () => {
    assert.equal(formatMeter(0, 25, 0), '  0%|          | 0/25 [00:00<?, ?it/s]');
    assert.equal(formatMeter(5, 25, 5 / 40.13), ' 20%|██        | 5/25 [00:00<00:00, 40.13it/s]');
    assert.equal(formatMeter(25, 25, 25 / 40.05), '100%|██████████| 25/25 [00:00<00:00, 40.05it/s]');
  });

  it('draws partial blocks, slow rates as s/it, and hours in the times', () => {
    assert.equal(formatMeter(1, 75, 4), '  1%|▏         | 1/75 [00:04<04:56,  4.00s/it]');
    assert.equal(formatMeter(1, 8, 0.5), ' 12%|█▎        | 1/8 [00:00<00:03,  2.00it/s]');
    assert.equal(formatMeter(37, 75, 3.7), ' 49%|████▉     | 37/75 [00:03<00:03, 10.00it/s]');
    assert.equal(formatMeter(1, 500, 10), '  0%|          | 1/500 [00:10<1:23:10, 10.00s/it]');
  });

  it('opens each stage with a 0/N line and is parsed by the clients\' regex', () => {
    const events: StepEvent[] = [
      { stage: 'prior', step: 1, total: 2, elapsed: 0.05 },
      { stage: 'prior', step: 2, total: 2, elapsed: 0.1 },
      { stage: 'negative_prior', step: 1, total: 2, elapsed: 0.05 },
      { stage: 'decoder', step: 1, total: 3, elapsed: 0.2 },
    ];
    const lines = events.flatMap(tqdmLines);
    assert.deepEqual(lines.map((l) => PROGRESS.exec(l)!.slice(1).join(' ')), [
      '0 0 2', '50 1 2', '100 2 2', '0 0 2', '50 1 2', '0 0 3', '33 1 3',
    ]);
  });
});
