import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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

/** One tensor of a hand-written state dict: a view of storage `key` (default '0', a FloatStorage of `numel` elements). */
interface TensorSpec {
  readonly name: string;
  readonly numel: number;
  readonly shape: readonly number[];
  /** Row-major when absent. */
  readonly stride?: readonly number[];
  readonly storageOffset?: number;
  readonly key?: string;
  readonly storageType?: string;
}

/** A protocol-2 state dict of `tensors`, as torch.save writes one (SETITEMS over the name/tensor pairs). */
function stateDict(tensors: readonly TensorSpec[]): Buffer {
  const tensor = ({ name, numel, shape, stride, storageOffset = 0, key = '0', storageType = 'FloatStorage' }: TensorSpec) => op.pickle(
    op.binunicode(name), op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark, op.mark, op.binunicode('storage'), op.global('torch', storageType), op.binunicode(key), op.binunicode('cpu'), op.binint(numel), op.tuple, op.binpersid,
    op.binint(storageOffset), op.mark, ...shape.map(op.binint), op.tuple,
    op.mark, ...(stride ?? shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1))).map(op.binint), op.tuple,
    op.newFalse, op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce, op.tuple, op.reduce,
  );
  return op.pickle(op.proto(2), op.emptyDict, op.mark, ...tensors.map(tensor), op.setitems, op.stop);
}

/** A protocol-2 state dict {'w': FloatStorage '0' of `numel` elements viewed as `shape`}. */
function floatStateDict(numel: number, shape: number[], storageOffset = 0): Buffer {
  return stateDict([{ name: 'w', numel, shape, storageOffset }]);
}

/** Float32 storage bytes 0, 1, 2, ... */
function arange(n: number): Buffer {
  const b = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) b.writeFloatLE(i, 4 * i);
  return b;
}

/** Every file refusedQuickly has seen refused, to load again when counting open files. */
const refusedFiles: string[] = [];

/** Loads `path` expecting a WeightsError matching `pattern` within `seconds`. */
function refusedQuickly(path: string, pattern: RegExp, seconds = 2): void {
  refusedFiles.push(path);
  const start = performance.now();
  assert.throws(() => readPytorchCheckpoint(path), refusal(pattern));
  assert.ok(performance.now() - start < seconds * 1000, `refused within ${seconds} s`);
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

  it('names the entry whose bytes run past the end of its records', () => {
    const records = checkpoint(floatStateDict(4, [4]), [{ name: 'archive/data/0', data: new Uint8Array(16), declaredSize: 1 << 20 }]);
    const path = writeScratch('short-entry.bin', storedZip(records));
    assert.throws(() => readPytorchCheckpoint(path), refusal(/short-entry\.bin: entry "archive\/data\/0" claims 1048576 bytes .*past the central directory.*truncated/));
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

describe('readPytorchCheckpoint on hostile pickles', () => {
  it('refuses a data.pkl of 300k empty dicts quickly', () => {
    const pickle = op.pickle(op.proto(2), op.repeat(op.emptyDict, 300_000), op.stop);
    refusedQuickly(writeScratch('dicts.bin', storedZip(checkpoint(pickle))), /dicts\.bin \(archive\/data\.pkl\): the pickle builds more than 65536 dicts/);
  });

  it('refuses a 32 MiB data.pkl without interpreting it', () => {
    const pickle = op.pickle(op.proto(2), op.repeat(op.emptyDict, 32 << 20), op.stop);
    refusedQuickly(writeScratch('huge-pickle.bin', storedZip(checkpoint(pickle))), /huge-pickle\.bin \(archive\/data\.pkl\): 33554435 bytes is implausible for a state dict's pickle \(at most 4194304/);
  });

  const items = op.repeat(op.none, 300_000);
  const markOps: [string, Buffer, RegExp][] = [
    ['APPENDS', op.pickle(op.emptyList, op.mark, items, op.appends), /holds a list, not a state dict/],
    ['SETITEMS', op.pickle(op.emptyDict, op.mark, items, op.setitems), /state dict key is a None, not a str/],
    ['TUPLE', op.pickle(op.mark, items, op.tuple), /holds a tuple, not a state dict/],
    ['REDUCE', op.pickle(op.global('collections', 'OrderedDict'), op.mark, items, op.tuple, op.reduce), /OrderedDict is built with arguments/],
  ];
  for (const [name, body, pattern] of markOps) {
    it(`${name} with 300k items is a WeightsError, not a stack overflow`, () => {
      const path = writeScratch(`${name}.bin`, storedZip(checkpoint(op.pickle(op.proto(2), body, op.stop))));
      refusedQuickly(path, pattern);
    });
  }

  it('refuses a view whose offset or size is not a plain number, without printing it', () => {
    const pickle = op.pickle(
      op.proto(2), op.emptyDict, op.binunicode('w'), op.global('torch._utils', '_rebuild_tensor_v2'),
      op.mark, op.mark, op.binunicode('storage'), op.global('torch', 'FloatStorage'), op.binunicode('0'), op.binunicode('cpu'), op.binint(4), op.tuple, op.binpersid,
      op.none, op.repeat(op.tuple1, 60), op.emptyTuple, op.emptyTuple, op.tuple, op.reduce, op.setitem, op.stop,
    );
    const path = writeScratch('nested-offset.bin', storedZip(checkpoint(pickle, [{ name: 'archive/data/0', data: new Uint8Array(16) }])));
    refusedQuickly(path, /tensor "w" has a malformed view \(storage_offset tuple, size tuple, stride tuple\)/);
  });
});

describe('readPytorchCheckpoint on hostile views and storages', () => {
  const storage0 = (bytes: Uint8Array): ZipRecord => ({ name: 'archive/data/0', data: bytes });

  it('refuses a stride-0 view larger than its storage', () => {
    const pickle = stateDict([{ name: 'w', numel: 1, shape: [1 << 28], stride: [0] }]);
    refusedQuickly(writeScratch('stride0.bin', storedZip(checkpoint(pickle, [storage0(arange(1))]))),
      /stride0\.bin: tensor "w" has 268435456 elements \(size \[268435456\]\), more than the 1 of its storage "0"/);
  });

  it('refuses an overlapping view with more elements than its storage', () => {
    const pickle = stateDict([{ name: 'w', numel: 4, shape: [1000, 1000], stride: [1, 1] }]);
    refusedQuickly(writeScratch('overlap.bin', storedZip(checkpoint(pickle, [storage0(arange(4))]))),
      /overlap\.bin: tensor "w" has 1000000 elements .*more than the 4 of its storage "0"/);
  });

  it('gathers an overlapping view no larger than its storage', () => {
    const pickle = stateDict([{ name: 'w', numel: 6, shape: [2, 3], stride: [1, 1] }]);
    const [w] = readPytorchCheckpoint(writeScratch('small-overlap.bin', storedZip(checkpoint(pickle, [storage0(arange(6))]))));
    assert.deepEqual([...readFloat32(w)], [0, 1, 2, 1, 2, 3]);
  });

  it('reads a view with a zero size as empty, however large its other sizes', () => {
    const shape = [...new Array(40).fill(2 ** 31 - 1), 0];
    const pickle = stateDict([{ name: 'w', numel: 4, shape, stride: shape.map(() => 0) }]);
    const [w] = readPytorchCheckpoint(writeScratch('empty-huge.bin', storedZip(checkpoint(pickle, [storage0(arange(4))]))));
    assert.deepEqual([w.shape, w.byteLength, w.data], [shape, 0, undefined]);
  });

  it('refuses a view with more dimensions than any weight has', () => {
    const pickle = stateDict([{ name: 'w', numel: 1, shape: new Array(65).fill(1) }]);
    refusedQuickly(writeScratch('dims.bin', storedZip(checkpoint(pickle, [storage0(arange(1))]))), /tensor "w" has a malformed view .*at most 64/);
  });

  it('refuses an empty view that starts past its storage', () => {
    const pickle = stateDict([{ name: 'w', numel: 4, shape: [0], storageOffset: 5 }]);
    refusedQuickly(writeScratch('empty-past.bin', storedZip(checkpoint(pickle, [storage0(arange(4))]))),
      /tensor "w" starts at element 5 of storage "0", which has 4 elements/);
  });

  it('refuses a storage key reused with another dtype', () => {
    const pickle = stateDict([{ name: 'a', numel: 4, shape: [4] }, { name: 'b', numel: 8, shape: [8], storageType: 'HalfStorage' }]);
    refusedQuickly(writeScratch('reused-dtype.bin', storedZip(checkpoint(pickle, [storage0(arange(4))]))),
      /reused-dtype\.bin \(archive\/data\.pkl\): storage "0" is declared as 4 F32 elements, then again as 8 F16 elements/);
  });

  it('refuses a storage key reused with a larger numel, which would read the neighbouring records', () => {
    const pickle = stateDict([{ name: 'a', numel: 4, shape: [4] }, { name: 'b', numel: 64, shape: [64] }]);
    refusedQuickly(writeScratch('reused-numel.bin', storedZip(checkpoint(pickle, [storage0(arange(4)), { name: 'archive/data/1', data: arange(60) }]))),
      /storage "0" is declared as 4 F32 elements, then again as 64 F32 elements/);
  });

  it('refuses a storage entry larger than its pickle says', () => {
    const path = writeScratch('large-storage.bin', storedZip(checkpoint(floatStateDict(4, [4]), [storage0(arange(8))])));
    refusedQuickly(path, /large-storage\.bin: entry "archive\/data\/0" holds 32 bytes, its pickle says 4 F32 elements \(16 bytes\)/);
  });

  it('refuses strided views that together would copy more bytes than the file holds', () => {
    const transposed = Array.from({ length: 200 }, (_, i) => ({ name: `t${i}`, numel: 4096, shape: [64, 64], stride: [1, 64] }));
    const path = writeScratch('many-views.bin', storedZip(checkpoint(stateDict(transposed), [storage0(arange(4096))])));
    refusedQuickly(path, /many-views\.bin: its strided views would be copied into 3276800 bytes, more than the \d+ bytes of the file/);
  });

  it('refuses a byteorder record too long to say "little"', () => {
    const path = writeScratch('byteorder.bin', storedZip(checkpoint(floatStateDict(4, [4]), [
      storage0(arange(4)), { name: 'archive/byteorder', data: Buffer.alloc(1 << 20, 0x20) },
    ])));
    refusedQuickly(path, /byteorder\.bin: entry "archive\/byteorder" holds 1048576 bytes, expected "little" or "big"/);
  });
});

describe('readPytorchCheckpoint on hostile zips', () => {
  const pickle = floatStateDict(4, [4]);
  const storage = { name: 'archive/data/0', data: arange(4) };

  it('refuses a zip with two entries of the same name', () => {
    const path = writeScratch('twice.bin', storedZip(checkpoint(pickle, [storage, { ...storage, data: arange(4).reverse() }])));
    refusedQuickly(path, /twice\.bin: the zip holds two entries named "archive\/data\/0"/);
  });

  it('refuses a ZIP64 offset pointing outside the file', () => {
    const path = writeScratch('zip64-outside.bin', storedZip(checkpoint(pickle, [{ ...storage, declaredOffset: 2 ** 40 }]), { zip64: true }));
    refusedQuickly(path, /zip64-outside\.bin: entry "archive\/data\/0" claims 16 bytes after a local header at offset 1099511627776, past the central directory/);
  });

  it('refuses entries whose records overlap', () => {
    const path = writeScratch('overlap-zip.bin', storedZip(checkpoint(pickle, [{ ...storage, declaredOffset: 0 }])));
    refusedQuickly(path, /overlap-zip\.bin: entries "archive\/data\.pkl" \(bytes 0\.\.\d+\) and "archive\/data\/0" \(from byte 0\) overlap/);
  });

  it('refuses an entry whose local header names another entry', () => {
    // data/0 and data/1 have equal sizes; the directory swaps their local header offsets.
    const localHeader = (name: string, size: number) => 30 + name.length + size;
    const at0 = localHeader('archive/data.pkl', pickle.length);
    const at1 = at0 + localHeader('archive/data/0', 16);
    const path = writeScratch('local-mismatch.bin', storedZip(checkpoint(pickle, [
      { ...storage, declaredOffset: at1 }, { name: 'archive/data/1', data: arange(4), declaredOffset: at0 },
    ])));
    refusedQuickly(path, new RegExp(`local-mismatch\\.bin: entry "archive/data/0": its local header at offset ${at1} names another entry`));
  });

  it('refuses a directory declaring more entries than a checkpoint could have, or than it holds', () => {
    const many = writeScratch('many-entries.bin', storedZip(checkpoint(pickle, [storage]), { zip64: true, declaredEntries: 2 ** 40 }));
    refusedQuickly(many, /many-entries\.bin: the zip directory declares 1099511627776 entries, more than the 262144/);
    const short = writeScratch('short-directory.bin', storedZip(checkpoint(pickle, [storage]), { zip64: true, declaredEntries: 1000 }));
    refusedQuickly(short, /short-directory\.bin: the zip directory declares 1000 entries but has only \d+ bytes/);
  });

  it('refuses an entry name longer than any checkpoint record\'s', () => {
    const path = writeScratch('long-name.bin', storedZip(checkpoint(pickle, [storage, { name: `archive/${'x'.repeat(5000)}`, data: new Uint8Array(1) }])));
    refusedQuickly(path, /long-name\.bin: central directory entry 2 has a name of 5008 bytes, more than the 1024/);
  });

  it('closes the file after every refusal', () => {
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    assert.ok(refusedFiles.length > 10, 'the hostile files above were refused');
    for (const path of refusedFiles) assert.throws(() => readPytorchCheckpoint(path), WeightsError);
    assert.equal(open(), before);
  });
});
