import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { WeightsError } from '../errors.js';

/**
 * `length` bytes of an open file from `position`. readSync may return fewer bytes than asked, so it loops;
 * a read of 0 bytes means the file ends early. `where` starts the error: the file's path, optionally
 * followed by what was being read (`model.safetensors: tensor "conv_in.weight"`).
 */
export function readExactly(fd: number, length: number, position: number, where: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) {
      throw new WeightsError(`${where}: file ends at byte ${position + done}, expected ${length} bytes from offset ${position} (truncated?)`);
    }
    done += n;
  }
  return buf;
}

/** An open weight file: its real path (symlinks resolved, as the HF cache has them), descriptor and size. */
export interface OpenFile {
  readonly real: string;
  readonly fd: number;
  readonly size: number;
}

/**
 * Opens `path` by its real path for `use`, and always closes it. `what` names the format in the error
 * when the file cannot be opened ("safetensors file", "PyTorch checkpoint").
 */
export function withFile<T>(path: string, what: string, use: (file: OpenFile) => T): T {
  let real: string;
  let fd: number;
  try {
    real = realpathSync(path);
    fd = openSync(real, 'r');
  } catch (err) {
    throw new WeightsError(`${path}: cannot open ${what} (${(err as Error).message})`);
  }
  try {
    return use({ real, fd, size: fstatSync(fd).size });
  } finally {
    closeSync(fd);
  }
}
