import { WeightsError } from '../errors.js';
import { formatShape, numel } from '../tensor/index.js';
import { readExactly, withFile } from './file-read.js';
import { unpickle, type PickleCallable } from './pickle.js';
import { BYTES_PER_ELEMENT, type TensorInfo, type WeightDType } from './tensor-info.js';
import { readZipDirectory, storedEntryOffset, type ZipEntry } from './zip.js';

// torch.save (zip format, torch >= 1.6; torch/serialization.py) writes a zip whose entries share one
// top folder, `<archive>/`: `data.pkl` pickles the state dict; each storage is pickled as the
// persistent id ('storage', torch.<Type>Storage, key, location, numel) and its bytes are the
// entry `<archive>/data/<key>`; each tensor is a view of a storage, pickled as
// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]), wrapped in torch._utils._rebuild_parameter for nn.Parameter.

const STORAGE_DTYPES = new Map<string, WeightDType>([
  ['DoubleStorage', 'F64'],
  ['FloatStorage', 'F32'],
  ['HalfStorage', 'F16'],
  ['BFloat16Storage', 'BF16'],
  ['LongStorage', 'I64'],
  ['IntStorage', 'I32'],
  ['ShortStorage', 'I16'],
  ['CharStorage', 'I8'],
  ['ByteStorage', 'U8'],
  ['BoolStorage', 'BOOL'],
]);

// A state dict's pickle is small: ~120 bytes per tensor (the published UNet's ~700 tensors take ~100 KB).
// 4 MiB holds 35,000 tensors, far more than any published checkpoint, while a hostile pickle stays cheap to refuse.
const MAX_PICKLE_BYTES = 4 * 1024 * 1024;
/** The `byteorder` record holds "little" or "big". */
const MAX_BYTEORDER_BYTES = 16;
/** Far more dimensions than any weight has (diffusers' have at most 5). */
const MAX_DIMS = 64;

const LEGACY_MESSAGE =
  'legacy PyTorch format (saved before torch 1.6, not a zip archive); re-save it with ' +
  'torch.save(..., _use_new_zipfile_serialization=True) or convert it to safetensors';

/** `torch.FloatStorage` and friends, as GLOBAL resolves them. */
class StorageType {
  constructor(readonly dtype: WeightDType) {}
}

/** A storage named by a persistent id: `numel` elements of `dtype`, the bytes of entry `data/<key>` from `offset` in the file. */
class Storage {
  constructor(readonly key: string, readonly dtype: WeightDType, readonly numel: number, readonly offset: number) {}
}

/** The arguments of _rebuild_tensor_v2, checked once the tensor's name is known. */
class TensorView {
  constructor(readonly storage: unknown, readonly storageOffset: unknown, readonly size: unknown, readonly stride: unknown) {}
}

function kindOf(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof Map) return 'dict';
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'tuple' : 'list';
  if (value instanceof TensorView) return 'tensor';
  if (value instanceof Storage) return 'storage';
  if (value instanceof StorageType) return 'storage type';
  return typeof value;
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isIndexTuple(value: unknown): value is readonly number[] {
  return Array.isArray(value) && value.length <= MAX_DIMS && value.every(isIndex);
}

/** A pickled value for a message: numbers as they are, anything else by its kind (never stringified whole). */
function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : kindOf(value);
}

/** The globals a state dict needs; anything else (os.system, builtins.eval, ...) is refused here, before it could be called. */
function findGlobal(pickleName: string) {
  return (module: string, name: string): unknown => {
    switch (`${module}.${name}`) {
      case 'collections.OrderedDict':
        return ((args) => {
          if (args.length > 0) throw new WeightsError(`${pickleName}: OrderedDict is built with arguments; a state dict builds it empty`);
          return new Map();
        }) satisfies PickleCallable;
      case 'torch._utils._rebuild_tensor_v2':
        return (([storage, storageOffset, size, stride]) => new TensorView(storage, storageOffset, size, stride)) satisfies PickleCallable;
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return (([data]) => data) satisfies PickleCallable;
    }
    const dtype = module === 'torch' ? STORAGE_DTYPES.get(name) : undefined;
    if (dtype) return new StorageType(dtype);
    if (module === 'torch' && name.endsWith('Storage')) {
      throw new WeightsError(`${pickleName}: uses torch.${name}, a storage type this loader does not read (supported: ${[...STORAGE_DTYPES.keys()].join(', ')})`);
    }
    throw new WeightsError(
      `${pickleName}: asks for the Python global ${module}.${name}, which is not allowed; only state dicts of tensors are read ` +
        '(collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, torch.*Storage) and nothing in the file is executed',
    );
  };
}

/** torch.save puts every record under one top folder whose name varies (`archive/`, the file's stem, ...). */
function findArchivePrefix(entries: Map<string, ZipEntry>, path: string): string {
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new WeightsError(
      pickles.length === 0
        ? `${path}: a zip archive without <folder>/data.pkl is not a torch.save checkpoint`
        : `${path}: holds several pickles (${pickles.join(', ')}), expected one <folder>/data.pkl`,
    );
  }
  return pickles[0].slice(0, -'data.pkl'.length);
}

interface Archive {
  readonly fd: number;
  readonly size: number;
  readonly path: string;
  readonly entries: Map<string, ZipEntry>;
  readonly prefix: string;
}

function readEntry(archive: Archive, entry: ZipEntry): Buffer {
  return readExactly(archive.fd, entry.uncompressedSize, storedEntryOffset(archive.fd, archive.size, archive.path, entry), archive.path);
}

/** torch >= 2.1 records the byte order of the machine that saved; the data are raw memory. */
function checkByteOrder(archive: Archive): void {
  const entryName = `${archive.prefix}byteorder`;
  const record = archive.entries.get(entryName);
  if (!record) return;
  if (record.uncompressedSize > MAX_BYTEORDER_BYTES) {
    throw new WeightsError(`${archive.path}: entry "${entryName}" holds ${record.uncompressedSize} bytes, expected "little" or "big"`);
  }
  const order = readEntry(archive, record).toString('utf8').trim();
  if (order !== 'little') {
    throw new WeightsError(`${archive.path}: saved with byte order "${order}"; only little-endian checkpoints are read`);
  }
}

/**
 * Resolves the persistent ids ('storage', torch.<Type>Storage, key, location, numel). Every use of a key
 * must declare the storage torch.save wrote once, and its entry must hold exactly those bytes: a key
 * declared again as larger or of another dtype would read the neighbouring records as weights.
 */
function storageLoader(archive: Archive, pickleName: string) {
  const storages = new Map<string, Storage>();
  return (pid: unknown): Storage => {
    const [typename, storageType, key, , numel] = Array.isArray(pid) ? pid : [];
    if (!Array.isArray(pid) || pid.length !== 5 || typename !== 'storage' || !(storageType instanceof StorageType) || typeof key !== 'string' || !isIndex(numel)) {
      throw new WeightsError(`${pickleName}: persistent id is not ('storage', torch.<Type>Storage, key, location, numel) (got a ${kindOf(pid)}${Array.isArray(pid) ? ` of ${pid.length}` : ''})`);
    }
    const { dtype } = storageType;
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) {
        throw new WeightsError(`${pickleName}: storage "${key}" is declared as ${known.numel} ${known.dtype} elements, then again as ${numel} ${dtype} elements; torch.save declares a storage the same way each time`);
      }
      return known;
    }
    const entryName = `${archive.prefix}data/${key}`;
    const entry = archive.entries.get(entryName);
    if (!entry) throw new WeightsError(`${pickleName}: storage "${key}" should be the entry ${entryName}, which is not in the archive`);
    const expected = numel * BYTES_PER_ELEMENT[dtype];
    if (entry.uncompressedSize !== expected) {
      throw new WeightsError(`${archive.path}: entry "${entryName}" holds ${entry.uncompressedSize} bytes, its pickle says ${numel} ${dtype} elements (${expected} bytes)`);
    }
    const storage = new Storage(key, dtype, numel, storedEntryOffset(archive.fd, archive.size, archive.path, entry));
    storages.set(key, storage);
    return storage;
  };
}

function readStateDict(archive: Archive): Map<unknown, unknown> {
  const entryName = `${archive.prefix}data.pkl`;
  const entry = archive.entries.get(entryName)!;
  const pickleName = `${archive.path} (${entryName})`;
  if (entry.uncompressedSize > MAX_PICKLE_BYTES) {
    throw new WeightsError(`${pickleName}: ${entry.uncompressedSize} bytes is implausible for a state dict's pickle (at most ${MAX_PICKLE_BYTES} bytes are read)`);
  }
  const root = unpickle(readEntry(archive, entry), pickleName, {
    findGlobal: findGlobal(pickleName),
    persistentLoad: storageLoader(archive, pickleName),
  });
  if (!(root instanceof Map)) throw new WeightsError(`${pickleName}: holds a ${kindOf(root)}, not a state dict`);
  return root;
}

/** Row-major (C-contiguous) strides; the stride of a dimension of size 1 does not matter. */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Copies a strided view into a dense row-major buffer; `span` starts at the view's first element. */
function gather(span: Buffer, shape: readonly number[], stride: readonly number[], itemsize: number): Uint8Array {
  const elements = numel(shape);
  const out = new Uint8Array(elements * itemsize);
  const index = shape.map(() => 0);
  let source = 0;
  for (let i = 0; i < elements; i++) {
    span.copy(out, i * itemsize, source * itemsize, (source + 1) * itemsize);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      source += stride[d];
      if (index[d] < shape[d]) break;
      source -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** A state dict entry checked against its storage; a strided view also says how many bytes from `info.offset` it spans. */
interface CheckedTensor {
  readonly info: TensorInfo;
  readonly strided?: { readonly stride: readonly number[]; readonly span: number };
}

/**
 * Checks a tensor's view against its storage before anything is read: a view may not have more
 * elements than its storage (so a stride-0 or overlapping view of a tiny storage cannot blow up into a
 * huge copy) nor reach past its end.
 */
function checkTensor(archive: Archive, file: string, name: unknown, value: unknown): CheckedTensor {
  if (typeof name !== 'string') throw new WeightsError(`${archive.path}: state dict key is a ${kindOf(name)}, not a str`);
  const where = `${archive.path}: tensor "${name}"`;
  if (!(value instanceof TensorView)) throw new WeightsError(`${where} is a ${kindOf(value)}, not a tensor`);
  const { storage, storageOffset, size: shape, stride } = value;
  if (!(storage instanceof Storage)) throw new WeightsError(`${where} is built on a ${kindOf(storage)}, not a storage`);
  if (!isIndex(storageOffset) || !isIndexTuple(shape) || !isIndexTuple(stride) || shape.length !== stride.length) {
    throw new WeightsError(
      `${where} has a malformed view (storage_offset ${describe(storageOffset)}, size ${kindOf(shape)}, stride ${kindOf(stride)}); ` +
        `expected non-negative integers and two tuples of the same length, at most ${MAX_DIMS}`,
    );
  }
  const { dtype } = storage;
  const itemsize = BYTES_PER_ELEMENT[dtype];
  // Checked for 0 first: sizes whose product overflows to Infinity, times 0, would give NaN.
  const elements = shape.includes(0) ? 0 : numel(shape);
  if (elements > storage.numel) {
    throw new WeightsError(`${where} has ${elements} elements (size ${formatShape(shape)}), more than the ${storage.numel} of its storage "${storage.key}"`);
  }
  if (storageOffset > storage.numel) {
    throw new WeightsError(`${where} starts at element ${storageOffset} of storage "${storage.key}", which has ${storage.numel} elements`);
  }
  const info = { name, dtype, shape: [...shape], file, offset: storage.offset + storageOffset * itemsize, byteLength: elements * itemsize };
  if (elements === 0) return { info };
  let last = storageOffset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
  if (last >= storage.numel) {
    throw new WeightsError(`${where} reaches element ${last} of storage "${storage.key}", which has ${storage.numel} elements`);
  }
  if (isContiguous(shape, stride)) return { info };
  return { info, strided: { stride, span: (last + 1 - storageOffset) * itemsize } };
}

/**
 * Gathers the strided views once all are checked. Each holds at most its storage's bytes, but many views
 * of one storage could still add up to far more than the file: together they may copy at most the file's size.
 */
function gatherStrided(archive: Archive, tensors: readonly CheckedTensor[]): TensorInfo[] {
  let copied = 0;
  for (const { info, strided } of tensors) if (strided) copied += info.byteLength;
  if (copied > archive.size) {
    throw new WeightsError(`${archive.path}: its strided views would be copied into ${copied} bytes, more than the ${archive.size} bytes of the file`);
  }
  return tensors.map(({ info, strided }) => {
    if (!strided) return info;
    const span = readExactly(archive.fd, strided.span, info.offset, `${archive.path}: tensor "${info.name}"`);
    return { ...info, data: gather(span, info.shape, strided.stride, BYTES_PER_ELEMENT[info.dtype]) };
  });
}

function refuseLegacy(fd: number, size: number, path: string): void {
  if (size === 0) throw new WeightsError(`${path}: empty file, not a PyTorch checkpoint`);
  // A legacy torch.save file is a bare pickle stream: it starts with the PROTO opcode.
  if (readExactly(fd, 1, 0, path)[0] === 0x80) throw new WeightsError(`${path}: ${LEGACY_MESSAGE}`);
}

/**
 * Lists the tensors of a torch.save zip checkpoint (`*.bin`, `*.pt`) without loading them: each
 * contiguous tensor is a byte range of the file itself; a strided view is gathered into `data`.
 * The pickle inside is interpreted, never executed: only tensors, storages and dicts are allowed.
 */
export function readPytorchCheckpoint(path: string): TensorInfo[] {
  return withFile(path, 'PyTorch checkpoint', ({ real, fd, size }) => {
    refuseLegacy(fd, size, path);
    const entries = readZipDirectory(fd, size, path);
    const archive: Archive = { fd, size, path, entries, prefix: findArchivePrefix(entries, path) };
    checkByteOrder(archive);
    const stateDict = readStateDict(archive);
    return gatherStrided(archive, [...stateDict].map(([name, value]) => checkTensor(archive, real, name, value)));
  });
}
