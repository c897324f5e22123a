import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, InputError } from '../../src/errors.js';
import type { Int64Tensor } from '../../src/tensor/index.js';
import { CLIPTokenizer } from '../../src/tokenizer/index.js';
import { NEWEST_UNICODE_COVERED } from '../../src/tokenizer/unicode-14.js';
import { readInt64, readSafetensors } from '../../src/weights/safetensors.js';
import { fixturesDir, goldenDir, modelsDir } from '../helpers/fixtures.js';

const BOS = 49406;
const EOS = 49407;
const tokenizerDir = join(modelsDir, 'kandinsky-2-2-prior', 'tokenizer');
const tokenizer = CLIPTokenizer.fromPretrained(tokenizerDir);

interface TokenizerCase {
  name: string;
  kind: string;
  model: string;
  component: string;
  tensors: string;
  inputs: { texts: string[]; padding: 'max_length'; max_length: number; truncation: boolean };
  expected: { input_ids: { tensor: string }; attention_mask: { tensor: string } };
}

function tokenizerCases(): TokenizerCase[] {
  const manifest = JSON.parse(readFileSync(join(goldenDir, 'manifest.json'), 'utf8')) as { cases: TokenizerCase[] };
  return manifest.cases.filter((c) => c.kind === 'clip_tokenizer');
}

function rowsOf(data: BigInt64Array, width: number): number[][] {
  const rows: number[][] = [];
  for (let start = 0; start < data.length; start += width) rows.push(Array.from(data.subarray(start, start + width), Number));
  return rows;
}

function firstRow(t: Int64Tensor): number[] {
  return rowsOf(t.data, t.shape[1])[0];
}

describe('CLIPTokenizer against the golden cases', () => {
  const cases = tokenizerCases();

  it('finds the clip_tokenizer cases in the manifest', () => {
    assert.ok(cases.length > 0);
  });

  for (const c of cases) {
    it(`reproduces ${c.name} exactly`, () => {
      const tok = CLIPTokenizer.fromPretrained(join(fixturesDir, 'models', c.model, c.component));
      const { texts, padding, max_length: maxLength, truncation } = c.inputs;
      const got = tok.encode(texts, { padding, maxLength, truncation });
      const expected = readSafetensors(join(goldenDir, c.tensors)).tensors;
      const tensorOf = (name: string) => {
        const info = expected.find((t) => t.name === name);
        assert.ok(info, `${c.tensors} has no tensor "${name}"`);
        return { rows: rowsOf(readInt64(info), info.shape[1]), shape: info.shape };
      };
      for (const [field, actual] of [['input_ids', got.inputIds], ['attention_mask', got.attentionMask]] as const) {
        const want = tensorOf(c.expected[field].tensor);
        assert.deepEqual(actual.shape, want.shape, `${field} shape`);
        rowsOf(actual.data, actual.shape[1]).forEach((row, i) => {
          assert.deepEqual(row, want.rows[i], `${field} of text ${i} ${JSON.stringify(texts[i])}`);
        });
      }
    });
  }
});

describe('CLIPTokenizer.encode', () => {
  it('encodes the empty string as BOS, EOS and 75 pads, attending to the first two', () => {
    const { inputIds, attentionMask } = tokenizer.encode(['']);
    assert.deepEqual(inputIds.shape, [1, 77]);
    assert.deepEqual(firstRow(inputIds), [BOS, EOS, ...new Array(75).fill(EOS)]);
    assert.deepEqual(firstRow(attentionMask), [1, 1, ...new Array(75).fill(0)]);
  });

  it('pads with the pad token and masks exactly BOS..EOS', () => {
    const { inputIds, attentionMask } = tokenizer.encode(['a photo of a cat']);
    const ids = tokenizer.tokenize('a photo of a cat');
    assert.deepEqual(firstRow(inputIds).slice(0, ids.length + 2), [BOS, ...ids, EOS]);
    assert.equal(firstRow(attentionMask).reduce((a, b) => a + b), ids.length + 2);
    assert.equal(tokenizer.padTokenId, EOS);
  });

  it('truncates a long prompt to 75 text tokens and still ends it with EOS', () => {
    const text = 'a castle on a hill, '.repeat(20);
    const ids = tokenizer.tokenize(text);
    assert.ok(ids.length > 75);
    const { inputIds, attentionMask } = tokenizer.encode([text]);
    assert.deepEqual(firstRow(inputIds), [BOS, ...ids.slice(0, 75), EOS]);
    assert.ok(firstRow(attentionMask).every((m) => m === 1));
  });

  it("pads to the batch's longest text with padding 'longest'", () => {
    const { inputIds, attentionMask } = tokenizer.encode(['cat', 'a red fox'], { padding: 'longest' });
    assert.deepEqual(inputIds.shape, [2, 5]);
    assert.deepEqual(rowsOf(inputIds.data, 5), [[BOS, ...tokenizer.tokenize('cat'), EOS, EOS, EOS], [BOS, ...tokenizer.tokenize('a red fox'), EOS]]);
    assert.deepEqual(rowsOf(attentionMask.data, 5), [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]);
  });

  it('honours maxLength', () => {
    const { inputIds } = tokenizer.encode(['a red fox jumping'], { maxLength: 4 });
    assert.deepEqual(firstRow(inputIds), [BOS, ...tokenizer.tokenize('a red'), EOS]);
  });

  it('refuses a batch it cannot stack without padding or truncation', () => {
    assert.throws(() => tokenizer.encode(['cat', 'a red fox'], { padding: false }), InputError);
    assert.throws(() => tokenizer.encode(['a castle on a hill, '.repeat(20)], { truncation: false }), /text 0 has \d+ tokens where the batch needs 77/);
  });

  it('refuses a maxLength with no room for BOS and EOS', () => {
    assert.throws(() => tokenizer.encode(['cat'], { maxLength: 1 }), InputError);
  });
});

describe('CLIPTokenizer text normalisation (BasicTokenizer without ftfy)', () => {
  const same = (a: string, b: string) => assert.deepEqual(tokenizer.tokenize(a), tokenizer.tokenize(b));

  it('lowercases and collapses whitespace, tabs and newlines included', () => {
    same('A RED\tFox\n\r', 'a red fox');
    same('   leading  and trailing   ', 'leading and trailing');
    same('x\u00a0y\u3000z', 'x y z');
  });

  it('spaces CJK ideographs into words of their own, but not kana', () => {
    assert.deepEqual(tokenizer.tokenize('东京'), [19759, 506, 21078, 361]);
    same('东京', '东 京');
    assert.notDeepEqual(tokenizer.tokenize('こんにちは'), tokenizer.tokenize('こ ん に ち は'));
  });

  it('drops NUL, U+FFFD and control or format characters', () => {
    same('a\u0000b\u200bc\u0007d\ufffd\u00ad', 'abcd');
  });

  it('drops characters that Unicode 14.0 (Python 3.11) had not assigned yet', () => {
    same('cat \u{1fae8}', 'cat'); // SHAKING FACE, Unicode 15.0
    assert.notDeepEqual(tokenizer.tokenize('cat \u{1fae0}'), tokenizer.tokenize('cat')); // MELTING FACE, 14.0
  });

  it(`knows every assignment up to this Node's Unicode version (${process.versions.unicode})`, () => {
    const major = (version: string) => Number(version.split('.')[0]);
    assert.ok(major(process.versions.unicode ?? '0') <= major(NEWEST_UNICODE_COVERED),
      `Node uses Unicode ${process.versions.unicode}: extend src/tokenizer/unicode-14.ts past ${NEWEST_UNICODE_COVERED}`);
  });

  it('lowercases like Python: final sigma, dotted capital I', () => {
    same('ΟΔΟΣ', 'οδος');
    assert.notDeepEqual(tokenizer.tokenize('ΟΔΟΣ'), tokenizer.tokenize('οδοσ'));
    same('İstanbul', 'i\u0307stanbul');
  });

  it('skips U+0345, which the reference regex matches with no alternative', () => {
    same('a\u0345b', 'a b');
  });

  it('keeps special tokens written in the text whole, in any case', () => {
    assert.deepEqual(tokenizer.tokenize('a<|endoftext|>b'), [...tokenizer.tokenize('a'), EOS, ...tokenizer.tokenize('b')]);
    assert.deepEqual(tokenizer.tokenize('<|startoftext|><|ENDOFTEXT|>'), [BOS, EOS]);
  });

  it("splits English contractions off as CLIP's regex does", () => {
    assert.deepEqual(tokenizer.tokenize("don't"), [...tokenizer.tokenize('don'), ...tokenizer.tokenize("'t")]);
  });
});

describe('CLIPTokenizer.fromPretrained', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'clip-tokenizer-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const copyTokenizer = (name: string) => {
    const dir = join(scratch, name);
    cpSync(tokenizerDir, dir, { recursive: true });
    return dir;
  };

  it('reads the special tokens and model_max_length of the published tokenizer', () => {
    assert.equal(tokenizer.bosTokenId, BOS);
    assert.equal(tokenizer.eosTokenId, EOS);
    assert.equal(tokenizer.modelMaxLength, 77);
  });

  it('names a missing vocab.json', () => {
    const dir = copyTokenizer('no-vocab');
    unlinkSync(join(dir, 'vocab.json'));
    assert.throws(() => CLIPTokenizer.fromPretrained(dir), (err: Error) => err instanceof ConfigError && err.message.includes('vocab.json'));
  });

  it('names a malformed tokenizer_config.json', () => {
    const dir = copyTokenizer('bad-config');
    writeFileSync(join(dir, 'tokenizer_config.json'), '{"model_max_length": 77,');
    assert.throws(() => CLIPTokenizer.fromPretrained(dir), /tokenizer_config\.json: tokenizer config is not valid JSON/);
  });

  it('refuses a malformed merges.txt line', () => {
    const dir = copyTokenizer('bad-merges');
    writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\ni n\nt h e\n');
    assert.throws(() => CLIPTokenizer.fromPretrained(dir), /merges\.txt: line 3 should hold two symbols/);
  });

  it('refuses a tokenizer of another class', () => {
    const dir = copyTokenizer('gpt2');
    writeFileSync(join(dir, 'tokenizer_config.json'), '{"tokenizer_class": "GPT2Tokenizer"}');
    assert.throws(() => CLIPTokenizer.fromPretrained(dir), /"tokenizer_class" is "GPT2Tokenizer", expected "CLIPTokenizer"/);
  });

  it("lets special_tokens_map.json override the config's pad token", () => {
    const dir = copyTokenizer('pad-bang');
    writeFileSync(join(dir, 'special_tokens_map.json'), '{"pad_token": "!"}');
    const tok = CLIPTokenizer.fromPretrained(dir);
    assert.equal(tok.padTokenId, 0);
    assert.deepEqual(firstRow(tok.encode(['']).inputIds).slice(0, 3), [BOS, EOS, 0]);
  });
});
