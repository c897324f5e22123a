import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/**
 * Writes `bytes` under a temporary name beside `path`, flushes them, then renames over `path`: a reader (or a
 * crash) meets the old file or the whole new one, never part of it. The temporary is removed when anything
 * fails, and the error is the file system's own; the folder must exist.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.partial`;
  try {
    const fd = openSync(temporary, 'wx');
    try {
      for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}
