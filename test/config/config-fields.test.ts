import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { ConfigFields, MAX_BLOCKS, MAX_SIZE, readJsonObject } from '../../src/config/index.js';

const fields = (json: Record<string, unknown>) => new ConfigFields(json, 'net/config.json');

/** Asserts a ConfigError whose message matches every pattern. */
function refusal(...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

describe('ConfigFields', () => {
  it('gives the default for an absent key and for null, the value otherwise', () => {
    const f = fields({ layers: null, widths: [8, 16], flip: false, heads: 4 });
    assert.equal(f.int('layers', 2), 2);
    assert.equal(f.int('missing', 3), 3);
    assert.deepEqual(f.ints('widths', [1]), [8, 16]);
    assert.deepEqual(f.ints('absent', [1]), [1]);
    assert.equal(f.bool('flip', true), false);
    assert.equal(f.bool('absent', true), true);
    assert.deepEqual(f.perBlock('heads', 8, 3), [4, 4, 4]);
    assert.equal(f.exactly('scale', 1, 1), 1);
  });

  it('refuses a value of the wrong kind, naming the file, the field, the value and what it expects', () => {
    const f = fields({ widths: [8, -1], flip: 'yes', heads: [4, 4], scale: 2 });
    assert.throws(() => f.ints('widths', [1]), refusal(/^net\/config\.json: field "widths" is \[8,-1\], expected a list of 1 to 64 positive integers \(each at most 1048576\)$/));
    assert.throws(() => f.bool('flip', true), refusal(/field "flip" is "yes", expected true or false/));
    assert.throws(() => f.perBlock('heads', 8, 3), refusal(/field "heads" is \[4,4\], expected a positive integer \(at most 1048576\) or a list of 3 \(one per block\)/));
    assert.throws(() => f.exactly('scale', 1, 1), refusal(/field "scale" is 2, expected 1 \(the only value supported\)/));
  });

  it('names the index of an unsupported block type and lists the supported ones', () => {
    const f = fields({ down_block_types: ['A', 'C'] });
    assert.throws(() => f.blockTypes('down_block_types', ['A', 'B'], [], 2),
      refusal(/field "down_block_types" \[1\] is "C", an unsupported block type; supported: A, B/));
    assert.throws(() => f.blockTypes('down_block_types', ['A', 'C'], [], 3),
      refusal(/field "down_block_types" is \["A","C"\], expected a list of 3 block types/));
  });

  it('says when the value it refuses is the default of an unset key', () => {
    assert.throws(() => fields({}).oneOf('norm_type', ['spatial'], 'group'),
      refusal(/field "norm_type" is "group", expected one of "spatial" \(the supported values\); the config leaves it unset, so that is the default/));
    assert.throws(() => fields({ norm_type: 'group' }).oneOf('norm_type', ['spatial'], 'group'), (err: Error) => !/default/.test(err.message));
  });

  it('keeps null as a value of its own for oneOf, where None is an option', () => {
    assert.equal(fields({ norm_in_type: null }).oneOf('norm_in_type', ['layer', null], 'layer'), null);
    assert.throws(() => fields({ added_emb_type: null }).oneOf('added_emb_type', ['prd'], 'prd'), refusal(/field "added_emb_type" is null, expected one of "prd"/));
  });

  it('says a required field is missing', () => {
    assert.throws(() => fields({ encoder_hid_dim: null }).int('encoder_hid_dim'), refusal(/net\/config\.json: field "encoder_hid_dim" is missing/));
  });

  it('bounds every width and count by MAX_SIZE (2^20), or by the tighter bound a field gives', () => {
    const f = fields({ widest: MAX_SIZE, wider: MAX_SIZE + 1, tokens: 30_000 });
    assert.equal(f.int('widest'), MAX_SIZE);
    assert.throws(() => f.int('wider'), refusal(/field "wider" is 1048577, expected a positive integer \(at most 1048576\)/));
    assert.throws(() => f.int('tokens', 77, { max: 2048 }), refusal(/field "tokens" is 30000, expected a positive integer \(at most 2048\)/));
    assert.throws(() => fields({ w: [8, MAX_SIZE + 1] }).ints('w', [1]), refusal(/field "w" is \[8,1048577\]/));
    assert.throws(() => fields({ h: [8, 1e9] }).perBlock('h', 8, 2), refusal(/field "h" is \[8,1000000000\]/));
  });

  it('refuses fractions, Infinity, negatives, zero, text and integers past 2^53', () => {
    const f = fields({ half: 1.5, inf: Infinity, neg: -3, zero: 0, text: '32', huge: 1e300, nan: NaN });
    for (const key of ['half', 'inf', 'neg', 'zero', 'text', 'nan']) assert.throws(() => f.int(key), refusal(new RegExp(`field "${key}" is .*, expected a positive integer`)));
    assert.throws(() => f.int('inf'), refusal(/field "inf" is Infinity/));
    assert.throws(() => f.integer('huge'), refusal(/field "huge" is 1e\+300, expected an integer/));
    assert.equal(f.integer('neg'), -3);
    assert.throws(() => f.positive('inf'), refusal(/field "inf" is Infinity, expected a positive finite number/));
    assert.throws(() => f.number('nan', 1), refusal(/field "nan" is NaN, expected a finite number/));
  });

  it(`refuses a list of more than ${MAX_BLOCKS} entries and shows a huge one cut short`, () => {
    const long = new Array<number>(1_000_000).fill(8);
    assert.throws(() => fields({ w: long }).ints('w', [1]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /field "w" is \[8,8,8,8,8,8,8,8,\.\.\.\] \(1000000 entries\), expected a list of 1 to 64/);
      assert.ok(err.message.length < 200);
      return true;
    });
    assert.throws(() => fields({ t: new Array<string>(65).fill('A') }).blockTypes('t', ['A'], [], 65), refusal(/\(65 entries\), expected a list of 65 block types/));
    assert.throws(() => fields({ s: 'x'.repeat(1e6) }).bool('s', true), refusal(/field "s" is "x{99}\.\.\. \(1000002 characters\), expected true or false/));
  });

  it('reads finite numbers, fixed-length lists of them, and forms of its own through parsed', () => {
    const f = fields({ scale: 0.5, mean: [0.5, 0.25, 0], short: [1, 2], size: { edge: 4 }, odd: 'x' });
    assert.equal(f.number('scale', 1), 0.5);
    assert.deepEqual(f.numbers('mean', 3, [1, 1, 1]), [0.5, 0.25, 0]);
    assert.deepEqual(f.numbers('absent', 3, [1, 1, 1]), [1, 1, 1]);
    assert.throws(() => f.numbers('short', 3, [1, 1, 1]), refusal(/field "short" is \[1,2\], expected a list of 3 finite numbers/));
    const edge = (v: unknown) => (typeof v === 'object' && v !== null && 'edge' in v ? (v as { edge: number }).edge : undefined);
    assert.equal(f.parsed('size', 1, edge, '{"edge": n}'), 4);
    assert.equal(f.parsed('absent', 1, edge, '{"edge": n}'), 1);
    assert.throws(() => f.parsed('odd', 1, edge, '{"edge": n}'), refusal(/^net\/config\.json: field "odd" is "x", expected \{"edge": n\}$/));
  });
});

describe('readJsonObject', () => {
  const write = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'json-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, text);
    return path;
  };

  it('refuses deep nesting and floods of containers before parsing them', () => {
    assert.throws(() => readJsonObject(write(`{"a": ${'['.repeat(1000)}${']'.repeat(1000)}}`), 'config.json'), /nests deeper than 32 levels/);
    const started = performance.now();
    assert.throws(() => readJsonObject(write(`{"a": [${new Array(2_000_000).fill('[]').join(',')}]}`), 'config.json'), /more than 100000 arrays and objects/);
    assert.ok(performance.now() - started < 2000);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.deepEqual(readJsonObject(write(`{"a": "[[[\\"{{{", "b": [1, {"c": "]]"}]}`), 'config.json'), { a: '[[["{{{', b: [1, { c: ']]' }] });
  });

  it('names a missing file, a directory, a file too large and text that is not a JSON object', () => {
    assert.throws(() => readJsonObject('/nonexistent/config.json', 'config.json of unet'), /\/nonexistent\/config\.json: config\.json of unet not found/);
    assert.throws(() => readJsonObject(tmpdir(), 'config.json'), /is not a regular file/);
    assert.throws(() => readJsonObject(write(' '.repeat(17 * 1024 * 1024)), 'config.json'), /more than the 16777216/);
    assert.throws(() => readJsonObject(write('[1, 2]'), 'config.json'), /must be a JSON object, got an array/);
    assert.throws(() => readJsonObject(write('{"a": '), 'config.json'), /is not valid JSON/);
  });
});
