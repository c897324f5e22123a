import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
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

/** What a file that is not a regular file is, for messages. */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

// Opening a FIFO for reading blocks until a writer comes, and a device never ends: only regular files are
// opened. The kind is checked before opening, and the file is opened without blocking and checked again,
// in case another file took its place in between. O_NONBLOCK changes nothing for a regular file.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Opens `path` by its real path for `use`, and always closes it: the one way a weight file is opened.
 * Anything but a regular file is refused unopened. `what` names the format in errors ("safetensors
 * file", "PyTorch checkpoint").
 */
export function withFile<T>(path: string, what: string, use: (file: OpenFile) => T): T {
  let real: string;
  let fd: number;
  try {
    real = realpathSync(path);
    refuseIrregular(path, what, statSync(real));
    fd = openSync(real, OPEN_FLAGS);
  } catch (err) {
    if (err instanceof WeightsError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new WeightsError(code === 'ENOENT' ? `${path}: ${what} not found` : `${path}: cannot open ${what} (${(err as Error).message})`);
  }
  try {
    const stats = fstatSync(fd);
    refuseIrregular(path, what, stats);
    return use({ real, fd, size: stats.size });
  } finally {
    closeSync(fd);
  }
}

function refuseIrregular(path: string, what: string, stats: Stats): void {
  if (!stats.isFile()) throw new WeightsError(`${path}: expected a ${what}, found ${fileKind(stats)}`);
}
