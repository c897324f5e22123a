// Pickle opcodes written by hand (CPython Lib/pickle.py), so tests can state exactly which opcodes
// a pickle uses: the ones torch.save writes with protocols 2 and 4, and hostile ones.

function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }
function byte(...values: number[]): Buffer { return Buffer.from(values); }

export const proto = (n: number) => byte(0x80, n);
export const frame = (length: number) => { const b = Buffer.alloc(9); b[0] = 0x95; b.writeBigUInt64LE(BigInt(length), 1); return b; };
export const mark = byte(0x28);
export const stop = byte(0x2e);
export const none = byte(0x4e);
export const newFalse = byte(0x89);
export const emptyDict = byte(0x7d);
export const emptyList = byte(0x5d);
export const emptyTuple = byte(0x29);
export const tuple = byte(0x74);
export const tuple1 = byte(0x85);
export const tuple2 = byte(0x86);
export const tuple3 = byte(0x87);
export const setitem = byte(0x73);
export const setitems = byte(0x75);
export const append = byte(0x61);
export const appends = byte(0x65);
export const reduce = byte(0x52);
export const build = byte(0x62);
export const binpersid = byte(0x51);
export const memoize = byte(0x94);
export const stackGlobal = byte(0x93);
export const binput = (i: number) => byte(0x71, i);
export const binget = (i: number) => byte(0x68, i);
export const longBinput = (i: number) => Buffer.concat([byte(0x72), u32(i)]);
export const binint1 = (n: number) => byte(0x4b, n);
export const binint = (n: number) => { const b = Buffer.alloc(5); b[0] = 0x4a; b.writeInt32LE(n, 1); return b; };
export const long1 = (n: bigint, length: number) => { const b = Buffer.alloc(8); b.writeBigInt64LE(n); return Buffer.concat([byte(0x8a, length), b.subarray(0, length)]); };
export const binfloat = (x: number) => { const b = Buffer.alloc(9); b[0] = 0x47; b.writeDoubleBE(x, 1); return b; };
export const global = (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'utf8');
export const binunicode = (s: string) => { const text = Buffer.from(s, 'utf8'); return Buffer.concat([byte(0x58), u32(text.length), text]); };
export const shortBinunicode = (s: string) => { const text = Buffer.from(s, 'utf8'); return Buffer.concat([byte(0x8c, text.length), text]); };

export function pickle(...ops: Buffer[]): Buffer {
  return Buffer.concat(ops);
}

/** `ops` written `times` times in a row: the hostile pickles that build a huge structure. */
export function repeat(ops: Buffer, times: number): Buffer {
  return Buffer.alloc(ops.length * times, ops);
}
