import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WeightsError } from '../../src/errors.js';
import { unpickle, type UnpicklerHooks } from '../../src/weights/pickle.js';
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
      findGlobal: (module, name) => (...args: unknown[]) => { calls.push(`${module}.${name}(${args.join(',')})`); return 'built'; },
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
});
