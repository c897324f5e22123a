import { WeightsError } from '../errors.js';

// A restricted interpreter of Python's pickle format (CPython Lib/pickle.py is the reference for
// the opcodes), limited to what torch.save writes for a state dict with protocols 2 to 5.
// Nothing is ever imported or executed: GLOBAL and STACK_GLOBAL go through `findGlobal`, which
// answers only with values the caller allows, and REDUCE may call only those values.
//
// Python values become: None -> null, bool -> boolean, int -> number (bigint past 2^53),
// float -> number, str -> string, tuple -> frozen array, list -> array, dict -> Map.

/**
 * What REDUCE calls: a global as `findGlobal` resolved it. It gets the argument tuple as one array,
 * never spread into arguments, because a hostile tuple may hold millions of items.
 */
export type PickleCallable = (args: readonly unknown[]) => unknown;

export interface UnpicklerHooks {
  /** Resolves `module.name`; must throw for anything not allowed. A function returned here is a PickleCallable that REDUCE may call. */
  findGlobal(module: string, name: string): unknown;
  /** Resolves a persistent id (BINPERSID): an object the pickler stored outside the pickle. */
  persistentLoad(pid: unknown): unknown;
}

const HIGHEST_PROTOCOL = 5;

// Bounds that keep a hostile pickle from exhausting memory or the call stack, far above what torch.save
// writes: a state dict pushes about 22 values per tensor (name, storage id, size and stride tuples, hooks
// dict, memo reads), memoizes 8 of them and builds 1 to 1.5 dicts (backward hooks, module metadata).
// Published checkpoints have at most a few thousand tensors (the UNet ~700); these bounds allow over
// 20,000, while whatever a hostile pickle builds before it is refused stays under ~100 MB.
const MAX_VALUES = 1 << 19;
const MAX_MEMO = 1 << 18;
/** An empty dict costs ~200 bytes where most values cost a few words: dicts have their own bound. */
const MAX_DICTS = 1 << 16;
/** A state dict nests containers 4 deep (dict > rebuild args > storage id tuple) and MARKs 3 deep. */
const MAX_NESTING = 64;
/** Longest `module.name` a GLOBAL may ask for: Python's are short, and the name goes into messages. */
const MAX_GLOBAL_NAME = 256;

// One byte each; names as in CPython's pickle.py.
const Op = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  BINFLOAT: 0x47, // G
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  EMPTY_TUPLE: 0x29, // )
  PROTO: 0x80,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  SHORT_BINUNICODE: 0x8c,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

class Unpickler {
  private pos = 0;
  /** Where the opcode being interpreted starts, for messages. */
  private opAt = 0;
  private stack: unknown[] = [];
  /** Stacks saved by MARK: the objects since the latest mark are `stack`. */
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  /** Containers holding other containers, with how deep they nest; a missing one nests at most 1 deep. */
  private readonly depths = new WeakMap<object, number>();
  private pushed = 0;
  private dicts = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
    private readonly hooks: UnpicklerHooks,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(message: string): never {
    throw new WeightsError(`${this.source}: ${message} (pickle byte ${this.opAt})`);
  }

  private take(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length) this.fail(`the pickle ends in the middle of an opcode's argument (needs ${n} more bytes)`);
    this.pos += n;
    return at;
  }

  private u8(): number { return this.view.getUint8(this.take(1)); }
  private u16(): number { return this.view.getUint16(this.take(2), true); }
  private u32(): number { return this.view.getUint32(this.take(4), true); }
  private i32(): number { return this.view.getInt32(this.take(4), true); }
  private f64(): number { return this.view.getFloat64(this.take(8), false); } // BINFLOAT is big-endian

  private u64(): number {
    const value = this.view.getBigUint64(this.take(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${value} is implausible`);
    return Number(value);
  }

  private utf8(length: number): string {
    const at = this.take(length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, length).toString('utf8');
  }

  /** GLOBAL's arguments: two newline-terminated lines. */
  private line(): string {
    const end = this.bytes.subarray(this.pos, this.pos + MAX_GLOBAL_NAME + 1).indexOf(0x0a);
    if (end < 0) {
      this.fail(this.pos + MAX_GLOBAL_NAME < this.bytes.length ? `a GLOBAL name is longer than ${MAX_GLOBAL_NAME} bytes` : 'the pickle ends inside a GLOBAL name');
    }
    const text = this.utf8(end);
    this.pos++; // the newline
    return text;
  }

  /** LONG1: little-endian two's complement of n bytes. */
  private long(n: number): number | bigint {
    const at = this.take(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.bytes[at + i]);
    if (n > 0 && this.bytes[at + n - 1] & 0x80) value -= 1n << BigInt(8 * n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private push(value: unknown): void {
    if (++this.pushed > MAX_VALUES) this.fail(`the pickle pushes more than ${MAX_VALUES} values; a state dict of 20,000 tensors pushes fewer`);
    this.stack.push(value);
  }

  /** Counts a dict the pickle builds, by EMPTY_DICT or by calling a global (OrderedDict). */
  private built(value: unknown): unknown {
    if (value instanceof Map && ++this.dicts > MAX_DICTS) this.fail(`the pickle builds more than ${MAX_DICTS} dicts; a state dict of 20,000 tensors builds fewer`);
    return value;
  }

  private depthOf(value: unknown): number {
    if (typeof value !== 'object' || value === null) return 0;
    return this.depths.get(value) ?? 1;
  }

  /** Records that `container` holds `items`, refusing nesting deeper than any state dict's. */
  private nest(container: object, items: readonly unknown[]): void {
    let depth = this.depthOf(container);
    for (const item of items) depth = Math.max(depth, this.depthOf(item) + 1);
    if (depth > MAX_NESTING) this.fail(`containers nest more than ${MAX_NESTING} deep; a state dict nests a few levels`);
    if (depth > 1) this.depths.set(container, depth);
  }

  private mark(): void {
    if (this.metastack.length >= MAX_NESTING) this.fail(`MARKs nest more than ${MAX_NESTING} deep; a state dict nests a few levels`);
    this.metastack.push(this.stack);
    this.stack = [];
  }

  private tuple(items: unknown[]): void {
    const tuple = Object.freeze(items);
    this.nest(tuple, tuple);
    this.push(tuple);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('malformed pickle: an opcode needs a value but the stack is empty');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail('malformed pickle: an opcode needs a value but the stack is empty');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const saved = this.metastack.pop();
    if (!saved) this.fail('malformed pickle: an opcode needs a MARK but there is none');
    this.stack = saved;
    return items;
  }

  private memoGet(key: number): unknown {
    if (!this.memo.has(key)) this.fail(`malformed pickle: memo entry ${key} is read before it is written`);
    return this.memo.get(key);
  }

  private memoPut(key: number): void {
    if (this.memo.size >= MAX_MEMO && !this.memo.has(key)) this.fail(`the pickle memoizes more than ${MAX_MEMO} values; a state dict of 20,000 tensors memoizes fewer`);
    this.memo.set(key, this.top());
  }

  private append(items: readonly unknown[]): void {
    const list = this.listOnTop();
    this.nest(list, items);
    for (const item of items) list.push(item);
  }

  private setItems(items: readonly unknown[]): void {
    if (items.length % 2 !== 0) this.fail('malformed pickle: SETITEMS with an odd number of keys and values');
    const dict = this.dictOnTop();
    this.nest(dict, items);
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }

  private dictOnTop(): Map<unknown, unknown> {
    const dict = this.top();
    if (!(dict instanceof Map)) this.fail('malformed pickle: SETITEM(S) on something that is not a dict');
    return dict;
  }

  private listOnTop(): unknown[] {
    const list = this.top();
    if (!Array.isArray(list) || Object.isFrozen(list)) this.fail('malformed pickle: APPEND(S) on something that is not a list');
    return list;
  }

  private global(module: string, name: string): void {
    if (module.length + name.length > MAX_GLOBAL_NAME) {
      this.fail(`asks for a global named by ${module.length + name.length} characters, more than the ${MAX_GLOBAL_NAME} of any global a state dict uses`);
    }
    this.push(this.hooks.findGlobal(module, name));
  }

  private reduce(): void {
    const args = this.pop();
    const callable = this.pop();
    if (typeof callable !== 'function') this.fail('malformed pickle: REDUCE on something that is not callable');
    if (!Array.isArray(args)) this.fail('malformed pickle: REDUCE arguments are not a tuple');
    const result = this.built((callable as PickleCallable)(args));
    if (typeof result === 'object' && result !== null) this.nest(result, [args]);
    this.push(result);
  }

  /** torch.save's pickle leaves exactly its one result: anything else was not written by a pickler. */
  private stop(): unknown {
    if (this.metastack.length > 0) this.fail(`malformed pickle: STOP inside ${this.metastack.length} unclosed MARK(s)`);
    if (this.stack.length !== 1) this.fail(`malformed pickle: STOP with ${this.stack.length} values on the stack, expected 1`);
    return this.stack[0];
  }

  /** BUILD sets an object's state. The only objects built here are dicts, whose state holds
   *  attributes such as `state_dict()._metadata`: they carry no tensors, so they are dropped. */
  private build(): void {
    const state = this.pop();
    const target = this.top();
    if (!(target instanceof Map) || !(state instanceof Map)) this.fail('BUILD is supported only for dict attributes');
  }

  run(): unknown {
    while (this.pos < this.bytes.length) {
      this.opAt = this.pos;
      const op = this.u8();
      switch (op) {
        case Op.PROTO: {
          const protocol = this.u8();
          if (protocol > HIGHEST_PROTOCOL) this.fail(`unsupported pickle protocol ${protocol}`);
          break;
        }
        case Op.FRAME: this.u64(); break; // a buffering hint; the opcodes inside follow as usual
        case Op.STOP: return this.stop();
        case Op.MARK: this.mark(); break;
        case Op.POP: this.pop(); break;
        case Op.POP_MARK: this.popMark(); break;
        case Op.NONE: this.push(null); break;
        case Op.NEWTRUE: this.push(true); break;
        case Op.NEWFALSE: this.push(false); break;
        case Op.BININT: this.push(this.i32()); break;
        case Op.BININT1: this.push(this.u8()); break;
        case Op.BININT2: this.push(this.u16()); break;
        case Op.LONG1: this.push(this.long(this.u8())); break;
        case Op.BINFLOAT: this.push(this.f64()); break;
        case Op.BINUNICODE: this.push(this.utf8(this.u32())); break;
        case Op.SHORT_BINUNICODE: this.push(this.utf8(this.u8())); break;
        case Op.EMPTY_TUPLE: this.tuple([]); break;
        case Op.TUPLE: this.tuple(this.popMark()); break;
        case Op.TUPLE1: { const a = this.pop(); this.tuple([a]); break; }
        case Op.TUPLE2: { const b = this.pop(); const a = this.pop(); this.tuple([a, b]); break; }
        case Op.TUPLE3: { const c = this.pop(); const b = this.pop(); const a = this.pop(); this.tuple([a, b, c]); break; }
        case Op.EMPTY_LIST: this.push([]); break;
        case Op.APPEND: this.append([this.pop()]); break;
        case Op.APPENDS: this.append(this.popMark()); break;
        case Op.EMPTY_DICT: this.push(this.built(new Map())); break;
        case Op.SETITEM: { const value = this.pop(); const key = this.pop(); this.setItems([key, value]); break; }
        case Op.SETITEMS: this.setItems(this.popMark()); break;
        case Op.BINGET: this.push(this.memoGet(this.u8())); break;
        case Op.LONG_BINGET: this.push(this.memoGet(this.u32())); break;
        case Op.BINPUT: this.memoPut(this.u8()); break;
        case Op.LONG_BINPUT: this.memoPut(this.u32()); break;
        case Op.MEMOIZE: this.memoPut(this.memo.size); break;
        case Op.GLOBAL: { const module = this.line(); this.global(module, this.line()); break; }
        case Op.STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('malformed pickle: STACK_GLOBAL names are not strings');
          this.global(module, name);
          break;
        }
        case Op.BINPERSID: this.push(this.hooks.persistentLoad(this.pop())); break;
        case Op.REDUCE: this.reduce(); break;
        case Op.BUILD: this.build(); break;
        default: {
          const printable = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
          this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}${printable}; only the opcodes of a torch.save state dict are read`);
        }
      }
    }
    return this.fail('the pickle ends without a STOP opcode');
  }
}

/** Interprets a pickle, resolving globals and persistent ids only through `hooks`. */
export function unpickle(bytes: Uint8Array, source: string, hooks: UnpicklerHooks): unknown {
  return new Unpickler(bytes, source, hooks).run();
}
