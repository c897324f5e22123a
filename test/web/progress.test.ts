import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepEvent } from '../../src/pipelines/index.js';
import { formatMeter, tqdmLines } from '../../src/server/models/index.js';
import { progressOf, readLogs } from '../../src/web/run/progress.js';

/** The logs our worker writes for these stages: the seed line, then every step's tqdm lines. */
function logsOf(seed: number, stages: readonly (readonly [StepEvent['stage'], number, number])[]): string {
  const lines = [`Using seed: ${seed}`];
  for (const [stage, done, total] of stages) {
    for (let step = 1; step <= done; step++) lines.push(...tqdmLines({ stage, step, total, elapsed: step * 0.04 }));
  }
  return lines.map((l) => `${l}\n`).join('');
}

describe('reading progress from the logs', () => {
  it('keeps the last line of each tqdm bar, a new bar beginning at its 0/N line, and the seed', () => {
    const logs = logsOf(4697, [['prior', 25, 25], ['negative_prior', 25, 25], ['decoder', 7, 75]]);
    assert.deepEqual(readLogs(logs), {
      seed: 4697,
      meters: [{ done: 25, total: 25 }, { done: 25, total: 25 }, { done: 7, total: 75 }],
    });
  });

  it('starts a bar when the count goes back or the total changes, even without its 0/N line', () => {
    const logs = [formatMeter(2, 2, 0.1), formatMeter(1, 2, 0.1), formatMeter(2, 2, 0.2), formatMeter(3, 5, 0.3)].join('\n');
    assert.deepEqual(readLogs(logs).meters, [{ done: 2, total: 2 }, { done: 2, total: 2 }, { done: 3, total: 5 }]);
  });

  it('shows a bar as soon as it opens (0/N) and ignores lines that are not progress', () => {
    const logs = `Using seed: 7\nloading weights\n${formatMeter(0, 25, 0)}\n`;
    assert.deepEqual(readLogs(logs), { seed: 7, meters: [{ done: 0, total: 25 }] });
    assert.deepEqual(readLogs(''), { seed: null, meters: [] });
  });

  it('reads lines ended by \\r as a terminal tqdm writes them', () => {
    const logs = [formatMeter(0, 3, 0), formatMeter(1, 3, 0.1), formatMeter(2, 3, 0.2)].join('\r');
    assert.deepEqual(readLogs(logs).meters, [{ done: 2, total: 3 }]);
  });
});

describe('the stages of each model', () => {
  it('the hosted model: prior, negative prior, decoder, those not started yet as 0/?', () => {
    const logs = logsOf(1, [['prior', 25, 25], ['negative_prior', 3, 25]]);
    assert.deepEqual(progressOf('ai-forever/kandinsky-2.2', {}, logs).stages, [
      { name: 'Prior', done: 25, total: 25 },
      { name: 'Negative prior', done: 3, total: 25 },
      { name: 'Decoder', done: 0, total: null },
    ]);
  });

  it('img2img, inpaint and ControlNet-depth: one prior (its negative in the same batch), then the decoder', () => {
    const logs = logsOf(2, [['prior', 2, 2], ['decoder', 2, 2]]);
    for (const model of ['img2img', 'inpaint', 'controlnet-depth']) {
      assert.deepEqual(progressOf(`kandinsky/kandinsky-2.2-${model}`, {}, logs).stages, [
        { name: 'Prior', done: 2, total: 2 },
        { name: 'Decoder', done: 2, total: 2 },
      ]);
    }
  });

  it('fuse: one prior per text, then the negative prior, then the decoder', () => {
    const names = (input: Record<string, unknown>) => progressOf('kandinsky/kandinsky-2.2-fuse', input, '').stages.map((s) => s.name);
    assert.deepEqual(names({ texts: ['a cat', 'a dog'], images: ['https://x/y.png'] }), ['Prior (text 1)', 'Prior (text 2)', 'Negative prior', 'Decoder']);
    assert.deepEqual(names({ texts: ['a cat'] }), ['Prior', 'Negative prior', 'Decoder']);
  });

  it('the prior model: one prior', () => {
    assert.deepEqual(progressOf('kandinsky/kandinsky-2.2-prior', {}, logsOf(3, [['prior', 1, 3]])), { seed: 3, stages: [{ name: 'Prior', done: 1, total: 3 }] });
  });

  it('names bars of an unknown model, or more bars than expected, by their order', () => {
    const logs = logsOf(4, [['prior', 1, 1], ['decoder', 1, 1]]);
    assert.deepEqual(progressOf('someone/else', {}, logs).stages.map((s) => s.name), ['Stage 1', 'Stage 2']);
    const extra = logsOf(4, [['prior', 1, 1], ['decoder', 1, 1], ['decoder', 1, 2]]);
    assert.deepEqual(progressOf('kandinsky/kandinsky-2.2-prior', {}, extra).stages.map((s) => s.name), ['Prior', 'Stage 2', 'Stage 3']);
  });
});
