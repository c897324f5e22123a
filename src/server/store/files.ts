// Output and upload bytes kept as files beside the database. They are written whole before the row that
// names them is committed, so a reader never meets a half-written file; a crash in between leaves an
// orphan file that nothing names, which is harmless.
import { readFileSync, rmSync } from 'node:fs';
import { InputError } from '../../errors.js';

/** Output names the hosted model uses (`out-0.webp`, `out-0.json`): one path segment, no leading dot. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Refuses a name that would not stay one plain file inside its folder; `field` names it in the refusal. */
export function checkFileName(name: string, field: string): void {
  if (!FILE_NAME.test(name)) {
    throw new InputError(`${field}: expected a plain file name (letters, digits, '.', '_', '-'; at most 128), got ${JSON.stringify(name)}`);
  }
}

/** The file's bytes, or undefined when it is not there. */
export function readFileIfPresent(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function removeQuietly(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
