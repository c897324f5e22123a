import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WeightsError } from '../../src/errors.js';
import { readExactly } from '../../src/weights/file-read.js';
import { readSafetensors, readTensorBytes, writeSafetensors } from '../../src/weights/safetensors.js';

const scratch = mkdtempSync(join(tmpdir(), 'kandinsky-file-read-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('readExactly', () => {
  it('reads the bytes asked for, from the offset asked for', () => {
    const path = join(scratch, 'ten.bin');
    writeFileSync(path, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const fd = openSync(path, 'r');
    try {
      assert.deepEqual([...readExactly(fd, 3, 4, path)], [4, 5, 6]);
    } finally {
      closeSync(fd);
    }
  });

  it('says where a file ends early, naming it', () => {
    const path = join(scratch, 'short.bin');
    writeFileSync(path, Buffer.alloc(10));
    const fd = openSync(path, 'r');
    try {
      assert.throws(() => readExactly(fd, 8, 6, path), (err: unknown) =>
        err instanceof WeightsError && err.message === `${path}: file ends at byte 10, expected 8 bytes from offset 6 (truncated?)`);
    } finally {
      closeSync(fd);
    }
  });

  it('names the file and the tensor when a safetensors file shrinks after its header was read', () => {
    const path = join(scratch, 'model.safetensors');
    writeSafetensors(path, { 'proj.weight': { dtype: 'F32', shape: [4], bytes: new Uint8Array(16) } });
    const [info] = readSafetensors(path).tensors;
    truncateSync(path, info.offset + 6);
    assert.throws(() => readTensorBytes(info), (err: unknown) =>
      err instanceof WeightsError && err.message.startsWith(`${info.file}: tensor "proj.weight": file ends at byte ${info.offset + 6}`));
  });
});
