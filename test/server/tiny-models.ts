import { join } from 'node:path';
import { modelsDir } from '../helpers/fixtures.js';

/** The published repo ids mapped to the tiny models in the published layout. */
export function tinyModelDir(repoId: string): string | undefined {
  const [owner, name] = repoId.split('/');
  return owner === 'kandinsky-community' && ['kandinsky-2-2-prior', 'kandinsky-2-2-decoder', 'kandinsky-2-2-decoder-inpaint', 'kandinsky-2-2-controlnet-depth'].includes(name)
    ? join(modelsDir, name)
    : undefined;
}
