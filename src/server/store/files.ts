// Output and upload bytes kept as files beside the database. They are written whole before the row that
// names them is committed, so a reader never meets a half-written file; a crash in between leaves an
// orphan file that nothing names, which is harmless.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../../errors.js';

/** Output names the hosted model uses (`out-0.webp`, `out-0.json`): one path segment, no leading dot. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Refuses a name that would not stay one plain file inside its folder; `field` names it in the refusal. */
export function checkFileName(name: string, field: string): void {
  if (!FILE_NAME.test(name)) {
    throw new InputError(`${field}: expected a plain file name (letters, digits, '.', '_', '-'; at most 128), got ${JSON.stringify(name)}`);
  }
}

/** Writes to a temporary name in the same folder, flushes, then renames over `path`: all or nothing. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.partial`;
  const fd = openSync(temporary, 'w');
  try {
    for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
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
