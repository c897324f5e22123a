import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WeightsError } from '../../src/errors.js';
import { readPytorchCheckpoint } from '../../src/weights/pytorch-checkpoint.js';
import { readFloat32, readInt64, readSafetensors } from '../../src/weights/safetensors.js';
import type { TensorInfo } from '../../src/weights/tensor-info.js';
import { badDir, modelsDir } from '../helpers/fixtures.js';
import * as op from './pickle-bytes.js';
import { storedZip, type ZipRecord } from './stored-zip.js';

const scratch = mkdtempSync(join(tmpdir(), 'kandinsky-pytorch-checkpoint-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function writeScratch(name: string, bytes: Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

function byName(tensors: TensorInfo[]): Map<string, TensorInfo> {
  return new Map(tensors.map((t) => [t.name, t]));
}

function refusal(pattern: RegExp) {
  return (err: unknown) => err instanceof WeightsError && pattern.test(err.message);
}

const controlnet = join(modelsDir, 'kandinsky-2-2-controlnet-depth');
const decoder = join(modelsDir, 'kandinsky-2-2-decoder');

// torch.save of {'proj.weight': nn.Parameter(bf16 [[0,1,2],[3,4,5]]), 'step': tensor(-7)}, as an
// OrderedDict carrying `_metadata` like module.state_dict(), written with pickle protocol 4.
function protocol4StateDict(): Buffer {
  const OrderedDict = 2; // memo index of the class (MEMOIZE numbers from 0)
  const rebuildTensor = op.pickle(op.shortBinunicode('torch._utils'), op.shortBinunicode('_rebuild_tensor_v2'), op.stackGlobal);
  const storage = (type: string, key: string, numel: Buffer) => op.pickle(
    op.mark, op.shortBinunicode('storage'), op.shortBinunicode('torch'), op.shortBinunicode(type), op.stackGlobal,
    op.shortBinunicode(key), op.shortBinunicode('cpu'), numel, op.tuple, op.binpersid,
  );
  const body = op.pickle(
    op.shortBinunicode('collections'), op.memoize, op.shortBinunicode('OrderedDict'), op.memoize, op.stackGlobal, op.memoize,
    op.emptyTuple, op.reduce, op.memoize,
    op.mark,
    op.shortBinunicode('proj.weight'),
    op.shortBinunicode('torch._utils'), op.shortBinunicode('_rebuild_parameter'), op.stackGlobal,
    rebuildTensor, op.mark, storage('BFloat16Storage', '0', op.binint1(6)),
    op.binint1(0), op.binint1(2), op.binint1(3), op.tuple2, op.binint1(3), op.binint1(1), op.tuple2,
    op.newFalse, op.binget(OrderedDict), op.emptyTuple, op.reduce, op.tuple, op.reduce,
    op.newFalse, op.binget(OrderedDict), op.emptyTuple, op.reduce, op.tuple3, op.reduce,
    op.shortBinunicode('step'),
    rebuildTensor, op.mark, storage('LongStorage', '1', op.long1(1n, 1)),
    op.binint1(0), op.emptyTuple, op.emptyTuple, op.newFalse, op.binget(OrderedDict), op.emptyTuple, op.reduce, op.tuple, op.reduce,
    op.setitems,
    op.emptyDict, op.shortBinunicode('_metadata'), op.binget(OrderedDict), op.emptyTuple, op.reduce,
    op.shortBinunicode(''), op.emptyDict, op.shortBinunicode('version'), op.binint1(1), op.setitem, op.setitem,
    op.setitem, op.build,
    op.stop,
  );
  return op.pickle(op.proto(4), op.frame(body.length), body);
}

function bf16(values: number[]): Buffer {
  const f32 = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => f32.writeFloatLE(v, 4 * i));
  const out = Buffer.alloc(2 * values.length);
  values.forEach((_, i) => out.writeUInt16LE(f32.readUInt16LE(4 * i + 2), 2 * i));
  return out;
}

function int64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(value);
  return b;
}

function checkpoint(pickle: Buffer, extra: ZipRecord[] = []): ZipRecord[] {
  return [{ name: 'archive/data.pkl', data: pickle }, ...extra];
}

/** A protocol-2 state dict {'w': FloatStorage '0' of `numel` elements viewed as `shape`}. */
function floatStateDict(numel: number, shape: number[], storageOffset = 0): Buffer {
  const stride = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  return op.pickle(
    op.proto(2), op.emptyDict, op.binunicode('w'), op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark, op.mark, op.binunicode('storage'), op.global('torch', 'FloatStorage'), op.binunicode('0'), op.binunicode('cpu'), op.binint(numel), op.tuple, op.binpersid,
    op.binint(storageOffset), op.mark, ...shape.map(op.binint), op.tuple, op.mark, ...stride.map(op.binint), op.tuple,
    op.newFalse, op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce, op.tuple, op.reduce,
    op.setitem, op.stop,
  );
}

describe('readPytorchCheckpoint', () => {
  for (const file of ['views.bin', 'views-zip64.bin']) {
    it(`reads the four tensors of ${file}, views of shared storages included`, () => {
      const path = join(badDir, file);
      const tensors = byName(readPytorchCheckpoint(path));
      assert.deepEqual([...tensors.keys()], ['a', 'b_transposed', 'c_slice', 'h']);
      const a = tensors.get('a')!;
      assert.deepEqual([a.dtype, a.shape], ['F32', [3, 4]]);
      assert.equal(a.data, undefined, 'a contiguous tensor stays in the file');
      assert.equal(a.file, realpathSync(path));
      assert.deepEqual([...readFloat32(a)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const bytes = readFileSync(path);
      assert.equal(bytes.readFloatLE(a.offset + 4 * 11), 11, 'offset is the absolute position in the file');

      const b = tensors.get('b_transposed')!;
      assert.deepEqual([b.dtype, b.shape], ['F32', [4, 3]]);
      assert.ok(b.data, 'a transposed view is gathered');
      assert.equal(b.offset, a.offset, 'file/offset still point at the storage');
      assert.deepEqual([...readFloat32(b)], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);

      const c = tensors.get('c_slice')!;
      assert.deepEqual([c.dtype, c.shape], ['F32', [2, 2]]);
      assert.equal(c.offset, a.offset + 5 * 4, 'storage_offset 5 elements in');
      assert.deepEqual([...readFloat32(c)], [5, 6, 9, 10]);

      const h = tensors.get('h')!;
      assert.deepEqual([h.dtype, h.shape, h.byteLength, h.data], ['F16', [6], 12, undefined]);
      assert.deepEqual([...readFloat32(h)], [0, 1, 2, 3, 4, 5]);
    });
  }

  it('lists the controlnet-depth UNet weights with the shapes of the decoder UNet where the configs agree', () => {
    const tensors = byName(readPytorchCheckpoint(join(controlnet, 'unet', 'diffusion_pytorch_model.bin')));
    assert.equal(tensors.size, 394);
    assert.deepEqual(tensors.get('conv_in.weight')!.shape, [8, 8, 3, 3]); // in_channels 8: latents + hint
    assert.deepEqual(tensors.get('add_embedding.input_hint_block.0.weight')!.shape, [16, 3, 3, 3]);
    const reference = readSafetensors(join(decoder, 'unet', 'diffusion_pytorch_model.safetensors')).tensors;
    const shared = reference.filter((t) => t.name !== 'conv_in.weight');
    assert.equal(shared.length, 377);
    for (const t of shared) {
      const mine = tensors.get(t.name);
      assert.ok(mine, `${t.name} is in the .bin`);
      assert.deepEqual([mine.dtype, mine.shape], [t.dtype, t.shape], t.name);
    }
    assert.ok([...tensors.values()].every((t) => t.data === undefined), 'a state dict of parameters needs no copy');
  });

  it('reads the controlnet-depth MoVQ .bin with the names, shapes and byte ranges its safetensors twin would have', () => {
    const bin = readPytorchCheckpoint(join(controlnet, 'movq', 'diffusion_pytorch_model.bin'));
    const reference = readSafetensors(join(decoder, 'movq', 'diffusion_pytorch_model.safetensors')).tensors;
    assert.deepEqual(
      bin.map((t) => [t.name, t.dtype, t.shape, t.byteLength]).sort(),
      reference.map((t) => [t.name, t.dtype, t.shape, t.byteLength]).sort(),
    );
    const weight = bin.find((t) => t.name === 'encoder.conv_in.weight')!;
    assert.equal(readFloat32(weight).length, 32 * 3 * 3 * 3);
  });

  it('refuses a pickle that asks for os.system, and runs nothing', () => {
    const marker = '/tmp/kandinsky-pickle-ran';
    const existed = existsSync(marker);
    assert.throws(() => readPytorchCheckpoint(join(badDir, 'unsafe-global.bin')),
      refusal(/unsafe-global\.bin.*posix\.system.*not allowed/));
    if (!existed) assert.equal(existsSync(marker), false);
  });

  it('refuses a pickle that asks for builtins.eval', () => {
    const pickle = op.pickle(op.proto(2), op.global('builtins', 'eval'), op.binunicode('__import__("os").system("true")'), op.tuple1, op.reduce, op.stop);
    const path = writeScratch('eval.bin', storedZip(checkpoint(pickle)));
    assert.throws(() => readPytorchCheckpoint(path), refusal(/eval\.bin \(archive\/data\.pkl\): asks for the Python global builtins\.eval/));
  });

  it('refuses os.system reached through protocol 4 STACK_GLOBAL', () => {
    const pickle = op.pickle(op.proto(4), op.shortBinunicode('os'), op.shortBinunicode('system'), op.stackGlobal, op.stop);
    const path = writeScratch('stack-global.bin', storedZip(checkpoint(pickle)));
    assert.throws(() => readPytorchCheckpoint(path), refusal(/os\.system, which is not allowed/));
  });

  it('refuses a legacy (pre-1.6) torch.save file with a way out', () => {
    assert.throws(() => readPytorchCheckpoint(join(badDir, 'legacy-format.bin')),
      refusal(/legacy-format\.bin: legacy PyTorch format.*_use_new_zipfile_serialization=True.*safetensors/));
  });

  it('says a truncated checkpoint is truncated', () => {
    const whole = readFileSync(join(controlnet, 'unet', 'diffusion_pytorch_model.bin'));
    const path = writeScratch('truncated.bin', whole.subarray(0, whole.length >> 1));
    assert.throws(() => readPytorchCheckpoint(path), refusal(/truncated\.bin: .*truncated/));
  });

  it('names the entry whose bytes run past the end of the file', () => {
    const records = checkpoint(floatStateDict(4, [4]), [{ name: 'archive/data/0', data: new Uint8Array(16), declaredSize: 1 << 20 }]);
    const path = writeScratch('short-entry.bin', storedZip(records));
    assert.throws(() => readPytorchCheckpoint(path), refusal(/short-entry\.bin: entry "archive\/data\/0" spans bytes .*truncated/));
  });

  it('refuses a storage smaller than its pickle says, and a view reaching past its storage', () => {
    const small = writeScratch('small-storage.bin', storedZip(checkpoint(floatStateDict(4, [4]), [{ name: 'archive/data/0', data: new Uint8Array(8) }])));
    assert.throws(() => readPytorchCheckpoint(small), refusal(/"archive\/data\/0" holds 8 bytes, its pickle says 4 F32 elements \(16 bytes\)/));
    const past = writeScratch('past-storage.bin', storedZip(checkpoint(floatStateDict(4, [4], 2), [{ name: 'archive/data/0', data: new Uint8Array(16) }])));
    assert.throws(() => readPytorchCheckpoint(past), refusal(/tensor "w" reaches element 5 of storage "0", which has 4 elements/));
  });

  it('refuses compressed entries, which torch.save never writes', () => {
    const records = checkpoint(floatStateDict(4, [4]), [{ name: 'archive/data/0', data: new Uint8Array(16), method: 8 }]);
    const path = writeScratch('deflated.bin', storedZip(records));
    assert.throws(() => readPytorchCheckpoint(path), refusal(/entry "archive\/data\/0" is compressed \(zip method 8\)/));
  });

  it('reads a protocol 4 OrderedDict of parameters through a ZIP64 directory', () => {
    const records = checkpoint(protocol4StateDict(), [
      { name: 'archive/data/0', data: bf16([0, 1, 2, 3, 4, 5]) },
      { name: 'archive/data/1', data: int64(-7n) },
      { name: 'archive/byteorder', data: Buffer.from('little') },
    ]);
    const path = writeScratch('protocol4-zip64.bin', storedZip(records, { zip64: true }));
    const tensors = byName(readPytorchCheckpoint(path));
    assert.deepEqual([...tensors.keys()], ['proj.weight', 'step']);
    const weight = tensors.get('proj.weight')!;
    assert.deepEqual([weight.dtype, weight.shape], ['BF16', [2, 3]]);
    assert.deepEqual([...readFloat32(weight)], [0, 1, 2, 3, 4, 5]);
    const step = tensors.get('step')!;
    assert.deepEqual([step.dtype, step.shape], ['I64', []]);
    assert.deepEqual([...readInt64(step)], [-7n]);
  });

  it('refuses a checkpoint saved on a big-endian machine', () => {
    const records = checkpoint(floatStateDict(4, [4]), [
      { name: 'archive/data/0', data: new Uint8Array(16) },
      { name: 'archive/byteorder', data: Buffer.from('big') },
    ]);
    const path = writeScratch('big-endian.bin', storedZip(records));
    assert.throws(() => readPytorchCheckpoint(path), refusal(/big-endian\.bin: saved with byte order "big"/));
  });
});
