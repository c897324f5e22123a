import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readConfigText } from '../config/index.js';

/** Where a decoder's prior lives when nobody names one, as the published decoder cards say. */
export const DEFAULT_PRIOR = 'kandinsky-community/kandinsky-2-2-prior';

/**
 * The `prior:` entry of a model card's YAML front matter (README.md), as the published decoder repos carry it:
 * `prior: org/name` or a list whose first item is used. Undefined when the card or the entry is absent.
 */
export function cardPrior(repoDir: string): string | undefined {
  const path = join(repoDir, 'README.md');
  if (!existsSync(path)) return undefined;
  const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(readConfigText(path, 'model card'));
  if (!front) return undefined;
  const lines = front[1].split(/\r?\n/);
  const at = lines.findIndex((l) => /^prior\s*:/.test(l));
  if (at < 0) return undefined;
  const inline = lines[at].replace(/^prior\s*:/, '').trim();
  if (inline) return unquote(inline.replace(/^\[\s*|\s*\]$/g, '').split(',')[0].trim());
  const item = lines.slice(at + 1).find((l) => l.trim() !== '');
  const m = item ? /^\s*-\s*(.+)$/.exec(item) : null;
  return m ? unquote(m[1].trim()) : undefined;
}

function unquote(s: string): string {
  return s.replace(/^(['"])(.*)\1$/, '$2');
}

/**
 * The prior for a decoder folder: the repo its card names (default kandinsky-community/kandinsky-2-2-prior),
 * as a sibling folder of the decoder when there is one (a local checkout of both repos), else as a repo id
 * for the caller to resolve in the Hugging Face cache or hub.
 */
export function priorFor(decoderDir: string): { folder?: string; repoId: string } {
  const repoId = cardPrior(decoderDir) ?? DEFAULT_PRIOR;
  const sibling = join(dirname(decoderDir), basename(repoId));
  if (existsSync(join(sibling, 'model_index.json'))) return { folder: sibling, repoId };
  return { repoId };
}
