import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WeightsError } from '../../src/errors.js';
import { unpickle, type PickleCallable, type UnpicklerHooks } from '../../src/weights/pickle.js';
import * as op from './pickle-bytes.js';

const noGlobals: UnpicklerHooks = {
  findGlobal: (module, name) => { throw new WeightsError(`global ${module}.${name} not allowed`); },
  persistentLoad: () => { throw new WeightsError('no persistent ids'); },
};

describe('restricted unpickler', () => {
  it('reads dicts, tuples, lists, ints, floats, None and booleans of protocol 2', () => {
    const value = unpickle(op.pickle(
      op.proto(2), op.emptyDict, op.binput(0), op.mark,
      op.binunicode('numbers'), op.binint1(7), op.binint(-70000), op.long1(-(2n ** 40n), 6), op.tuple3,
      op.binunicode('list'), op.emptyList, op.binput(1), op.mark, op.binfloat(0.25), op.none, op.newFalse, op.appends,
      op.binunicode('again'), op.binget(1),
      op.setitems, op.stop,
    ), 'test.pkl', noGlobals) as Map<string, unknown>;
    assert.deepEqual([...value.keys()], ['numbers', 'list', 'again']);
    assert.deepEqual(value.get('numbers'), [7, -70000, -(2 ** 40)]);
    assert.ok(Object.isFrozen(value.get('numbers')), 'a tuple is frozen');
    assert.deepEqual(value.get('list'), [0.25, null, false]);
    assert.equal(value.get('again'), value.get('list'), 'BINGET returns the memoized object itself');
  });

  it('reads protocol 4 frames, MEMOIZE and STACK_GLOBAL, calling only what findGlobal returns', () => {
    const calls: string[] = [];
    const hooks: UnpicklerHooks = {
      ...noGlobals,
      findGlobal: (module, name): PickleCallable => (args) => { calls.push(`${module}.${name}(${args.join(',')})`); return 'built'; },
    };
    const body = op.pickle(
      op.shortBinunicode('collections'), op.memoize, op.shortBinunicode('OrderedDict'), op.memoize, op.stackGlobal, op.memoize,
      op.binint1(1), op.binint1(2), op.tuple2, op.reduce, op.stop,
    );
    const value = unpickle(op.pickle(op.proto(4), op.frame(body.length), body), 'test.pkl', hooks);
    assert.equal(value, 'built');
    assert.deepEqual(calls, ['collections.OrderedDict(1,2)']);
  });

  it('refuses an opcode a state dict never uses, naming it', () => {
    // INST (protocol 0) would import and call a class named in the pickle.
    const pickle = Buffer.concat([op.proto(2), op.mark, Buffer.from('ios\nsystem\n'), op.stop]);
    assert.throws(() => unpickle(pickle, 'test.pkl', noGlobals), (err: Error) =>
      err instanceof WeightsError && /test\.pkl: unsupported pickle opcode 0x69 'i'/.test(err.message));
  });

  it('says so when the pickle is cut short or has no STOP', () => {
    const cut = op.binunicode('conv_in.weight').subarray(0, 8);
    assert.throws(() => unpickle(op.pickle(op.proto(2), cut), 'test.pkl', noGlobals), /test\.pkl: the pickle ends in the middle/);
    assert.throws(() => unpickle(op.pickle(op.proto(2), op.emptyDict), 'test.pkl', noGlobals), /test\.pkl: the pickle ends without a STOP/);
  });

  it('refuses malformed stacks instead of guessing', () => {
    assert.throws(() => unpickle(op.pickle(op.proto(2), op.setitems, op.stop), 'test.pkl', noGlobals), /needs a MARK/);
    assert.throws(() => unpickle(op.pickle(op.proto(2), op.binint1(1), op.emptyTuple, op.reduce, op.stop), 'test.pkl', noGlobals), /not callable/);
    assert.throws(() => unpickle(op.pickle(op.proto(2), op.emptyList, op.emptyDict, op.build, op.stop), 'test.pkl', noGlobals), /BUILD/);
    assert.throws(() => unpickle(op.pickle(op.proto(2), op.binget(3), op.stop), 'test.pkl', noGlobals), /memo entry 3/);
  });

  it('refuses a STOP that leaves other values or an open MARK behind, as no pickler writes', () => {
    assert.throws(() => unpickle(op.pickle(op.proto(2), op.none, op.none, op.stop), 'test.pkl', noGlobals), /test\.pkl: malformed pickle: STOP with 2 values on the stack, expected 1/);
    assert.throws(() => unpickle(op.pickle(op.proto(2), op.mark, op.none, op.stop), 'test.pkl', noGlobals), /STOP inside 1 unclosed MARK/);
  });
});

describe('restricted unpickler on hostile pickles', () => {
  /** Runs `unpickle`, expecting a WeightsError matching `pattern` within `seconds`. */
  function refusedQuickly(pickle: Buffer, pattern: RegExp, hooks = noGlobals, seconds = 2): void {
    const start = performance.now();
    assert.throws(() => unpickle(pickle, 'hostile.pkl', hooks), (err: unknown) => err instanceof WeightsError && pattern.test(err.message));
    assert.ok(performance.now() - start < seconds * 1000, `refused within ${seconds} s`);
  }

  it('refuses 300k empty dicts quickly, by its bound on dicts', () => {
    refusedQuickly(op.pickle(op.proto(2), op.repeat(op.emptyDict, 300_000), op.stop), /hostile\.pkl: the pickle builds more than 65536 dicts/);
  });

  it('refuses 2 million values quickly, by its bound on values', () => {
    refusedQuickly(op.pickle(op.proto(2), op.repeat(op.emptyList, 2_000_000), op.stop), /hostile\.pkl: the pickle pushes more than 524288 values/);
  });

  it('refuses a memo larger than any state dict\'s', () => {
    refusedQuickly(op.pickle(op.proto(4), op.none, op.repeat(op.memoize, 600_000), op.stop), /the pickle memoizes more than 262144 values/);
  });

  it('reads APPENDS, SETITEMS and TUPLE of 300k items without spreading them into arguments', () => {
    const items = op.repeat(op.binint1(7), 300_000);
    const list = unpickle(op.pickle(op.proto(2), op.emptyList, op.mark, items, op.appends, op.stop), 'test.pkl', noGlobals);
    assert.ok(Array.isArray(list) && list.length === 300_000);
    const tuple = unpickle(op.pickle(op.proto(2), op.mark, items, op.tuple, op.stop), 'test.pkl', noGlobals);
    assert.ok(Array.isArray(tuple) && tuple.length === 300_000);
    const dict = unpickle(op.pickle(op.proto(2), op.emptyDict, op.mark, items, op.setitems, op.stop), 'test.pkl', noGlobals);
    assert.ok(dict instanceof Map && dict.size === 1);
  });

  it('hands REDUCE a 300k-item argument tuple as one array', () => {
    let received = -1;
    const hooks: UnpicklerHooks = { ...noGlobals, findGlobal: (): PickleCallable => (args) => { received = args.length; return null; } };
    const pickle = op.pickle(op.proto(2), op.global('torch._utils', '_rebuild_tensor_v2'), op.mark, op.repeat(op.none, 300_000), op.tuple, op.reduce, op.stop);
    assert.equal(unpickle(pickle, 'test.pkl', hooks), null);
    assert.equal(received, 300_000);
  });

  it('refuses containers and MARKs nested deeper than any state dict', () => {
    refusedQuickly(op.pickle(op.proto(2), op.none, op.repeat(op.tuple1, 100), op.stop), /hostile\.pkl: containers nest more than 64 deep/);
    refusedQuickly(op.pickle(op.proto(2), op.repeat(op.mark, 100_000), op.stop), /hostile\.pkl: MARKs nest more than 64 deep/);
  });

  it('refuses a list appended into itself over and over (a cycle)', () => {
    const pickle = op.pickle(op.proto(2), op.emptyList, op.binput(0), op.repeat(op.pickle(op.binget(0), op.append), 100), op.stop);
    refusedQuickly(pickle, /containers nest more than 64 deep/);
  });

  it('refuses a GLOBAL name longer than any Python global, without searching the whole pickle for its end', () => {
    refusedQuickly(op.pickle(op.proto(2), Buffer.from('c'), Buffer.alloc(4 << 20, 0x61), op.stop), /hostile\.pkl: a GLOBAL name is longer than 256 bytes/);
    refusedQuickly(op.pickle(op.proto(4), op.binunicode('a'.repeat(1000)), op.shortBinunicode('b'), op.stackGlobal, op.stop), /global named by 1001 characters/);
  });
});
