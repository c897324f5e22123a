// Golden sets written for a test into a temp folder: a manifest in the kandinsky-golden/1 format (or any text).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir } from './fixtures.js';

/** A new temp folder holding `manifest` as its manifest.json: a string as is, anything else as JSON. */
export function writeGoldenSet(manifest: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'kandinsky-golden-'));
  writeFileSync(join(dir, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return dir;
}

/** A manifest of `cases` whose models are the fixtures'. */
export function goldenManifest(cases: unknown[]): Record<string, unknown> {
  return { format: 'kandinsky-golden/1', models_dir: join(fixturesDir, 'models'), cases };
}

/** A well-formed case (a torch_randn one, which needs no model); `fields` replace its own. */
export function goldenCase(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'randn',
    kind: 'torch_randn',
    inputs: { seed: 0, draws: [{ op: 'randn', shape: [2] }] },
    expected: { draw0: [0, 0] },
    tolerance: { max_abs: 0 },
    ...fields,
  };
}
