import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelDirResolver } from './models/index.js';
import { resolveModelPath } from '../weights/index.js';

/**
 * Where a hub repo (`kandinsky-community/kandinsky-2-2-decoder`) lives: `<models>/kandinsky-2-2-decoder` or
 * `<models>/kandinsky-community/kandinsky-2-2-decoder` when --models is given, else the Hugging Face cache.
 */
export function modelDirResolver(modelsDir: string | undefined): ModelDirResolver {
  return (repoId) => {
    if (modelsDir !== undefined) {
      const found = [join(modelsDir, repoId.split('/').pop()!), join(modelsDir, repoId)].find((d) => existsSync(d) && statSync(d).isDirectory());
      if (found) return found;
    }
    try {
      return resolveModelPath(repoId, {});
    } catch {
      return undefined;
    }
  };
}
