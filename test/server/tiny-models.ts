import { join } from 'node:path';
import { modelsDir, tinyDptDir } from '../helpers/fixtures.js';

/** The published repo ids mapped to the tiny models in the published layout (Intel/dpt-large: the tiny DPT). */
export function tinyModelDir(repoId: string): string | undefined {
  if (repoId === 'Intel/dpt-large') return tinyDptDir;
  const [owner, name] = repoId.split('/');
  return owner === 'kandinsky-community' && ['kandinsky-2-2-prior', 'kandinsky-2-2-decoder', 'kandinsky-2-2-decoder-inpaint', 'kandinsky-2-2-controlnet-depth'].includes(name)
    ? join(modelsDir, name)
    : undefined;
}

/** The same without a depth model, as a server that has none. */
export function tinyModelDirWithoutDepth(repoId: string): string | undefined {
  return repoId === 'Intel/dpt-large' ? undefined : tinyModelDir(repoId);
}
