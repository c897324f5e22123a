import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { runConformance } from '../../src/conformance/index.js';
import { ConfigError } from '../../src/errors.js';
import { goldenDir } from '../helpers/fixtures.js';
import { goldenCase, goldenManifest, writeGoldenSet } from '../helpers/golden-sets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs a set of these cases and returns the detail of each failure, by case name. */
async function failures(cases: unknown[]): Promise<Record<string, string | undefined>> {
  const dir = writeGoldenSet(goldenManifest(cases));
  dirs.push(dir);
  const report = await runConformance(dir);
  assert.equal(report.passed, 0);
  return Object.fromEntries(report.results.map((r) => [r.name, r.detail]));
}

const UNET_CASE = {
  kind: 'unet',
  model: 'tiny-kandinsky/kandinsky-2-2-decoder',
  component: 'unet',
  inputs: { sample: { tensor: 'sample' }, timestep: 1, encoder_hidden_states: null, added_cond_kwargs: { image_embeds: { tensor: 'image_embeds' } } },
  expected: { sample: { tensor: 'out' } },
};

describe('the conformance runner', () => {
  it('fails a run in which no case ran, saying why', async () => {
    const manifest = join(goldenDir, 'manifest.json');
    await assert.rejects(runConformance(goldenDir, { kinds: ['teleport'] }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`^${manifest}: no case ran: none of its \\d+ cases is of kind teleport$`));
      return true;
    });
    await assert.rejects(runConformance(goldenDir, { kinds: ['torch_randn'], filter: /^nothing$/ }), /no case ran: none of its \d+ cases is of kind torch_randn and has a name matching \/\^nothing\$\//);
    const empty = writeGoldenSet(goldenManifest([]));
    dirs.push(empty);
    await assert.rejects(runConformance(empty), /no case ran: it has no cases$/);
  });

  it('fails a case with no expected output', async () => {
    const detail = await failures([goldenCase({ expected: {} })]);
    assert.deepEqual(detail, { randn: 'no expected output ("expected" is empty), so nothing would be checked' });
  });

  it('fails a case with an input its kind does not read, naming the input', async () => {
    const detail = await failures([goldenCase({ inputs: { seed: 0, draws: [], generator: 'cuda' } })]);
    assert.deepEqual(detail, { randn: 'input "generator" is not read by kind torch_randn (its inputs: seed, draws)' });
  });

  it('fails a unet case whose encoder_hidden_states is not null: the decoder UNet does not use it', async () => {
    const detail = await failures([
      { ...goldenCase(UNET_CASE), name: 'with text', inputs: { ...UNET_CASE.inputs, encoder_hidden_states: { tensor: 'text' } } },
    ]);
    assert.deepEqual(detail, { 'with text': 'input "encoder_hidden_states" is {"tensor":"text"}, expected null: kind unet does not use it' });
  });

  it('lets a unet case whose encoder_hidden_states is null through to the run', async () => {
    const detail = await failures([{ ...goldenCase(UNET_CASE), name: 'image only' }]);
    assert.equal(detail['image only'], 'could not run: case image only: tensor "sample" not in its tensors file (the case names none)');
  });
});
