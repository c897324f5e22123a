import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest folder above this compiled file that holds package.json. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('test helpers: project root not found');
    dir = up;
  }
  return dir;
}

export const projectRoot = findRoot();
/** Vendored copy of ../shared/fixtures (scripts/vendor-fixtures.mjs). */
export const fixturesDir = join(projectRoot, 'test', 'fixtures');
export const goldenDir = join(fixturesDir, 'golden');
export const modelsDir = join(fixturesDir, 'models', 'tiny-kandinsky');
export const badDir = join(fixturesDir, 'bad');
/** The depth-estimation golden set and its tiny DPT (transformers layout). */
export const goldenDepthDir = join(fixturesDir, 'golden-depth');
export const tinyDptDir = join(fixturesDir, 'models', 'tiny-dpt');
