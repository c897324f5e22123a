import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { ConfigFields } from '../../src/config/index.js';

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
    assert.throws(() => f.ints('widths', [1]), refusal(/^net\/config\.json: field "widths" is \[8,-1\], expected a non-empty list of positive integers$/));
    assert.throws(() => f.bool('flip', true), refusal(/field "flip" is "yes", expected true or false/));
    assert.throws(() => f.perBlock('heads', 8, 3), refusal(/field "heads" is \[4,4\], expected a positive integer or a list of 3 \(one per block\)/));
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
});
