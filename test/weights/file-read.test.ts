import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WeightsError } from '../../src/errors.js';
import { readExactly } from '../../src/weights/file-read.js';
import { readPytorchCheckpoint } from '../../src/weights/pytorch-checkpoint.js';
import { readSafetensors, readTensorBytes, writeSafetensors } from '../../src/weights/safetensors.js';
import { readSafetensorsInChild } from './read-in-child.js';

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

describe('withFile: only regular files are opened', () => {
  it('refuses a weight path that is a directory', () => {
    const dir = join(scratch, 'model.safetensors.d');
    mkdirSync(dir);
    assert.throws(() => readSafetensors(dir), (err: unknown) =>
      err instanceof WeightsError && err.message === `${dir}: expected a safetensors file, found a directory`);
    assert.throws(() => readPytorchCheckpoint(dir), (err: unknown) =>
      err instanceof WeightsError && err.message === `${dir}: expected a PyTorch checkpoint, found a directory`);
  });

  it('refuses a FIFO without blocking', () => {
    const fifo = join(scratch, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    // In a child process: a read that blocked would hang this test runner for good.
    const read = readSafetensorsInChild(fifo, 10_000);
    assert.equal(read.error?.name, 'WeightsError');
    assert.equal(read.error?.message, `${fifo}: expected a safetensors file, found a FIFO (named pipe)`);
  });

  it('refuses a link to a device, naming the link', () => {
    const link = join(scratch, 'zero.safetensors');
    symlinkSync('/dev/zero', link);
    assert.throws(() => readSafetensors(link), (err: unknown) =>
      err instanceof WeightsError && err.message === `${link}: expected a safetensors file, found a device`);
  });

  it('says a missing file is not found', () => {
    const path = join(scratch, 'absent.safetensors');
    assert.throws(() => readSafetensors(path), (err: unknown) =>
      err instanceof WeightsError && err.message === `${path}: safetensors file not found`);
  });
});
