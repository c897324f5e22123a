import { readSync } from 'node:fs';
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
