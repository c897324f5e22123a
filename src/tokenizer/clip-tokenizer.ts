import { join } from 'node:path';
import { ConfigError, InputError } from '../errors.js';
import { tensor, type Int64Tensor } from '../tensor/index.js';
import { basicTokenize } from './basic-tokenizer.js';
import { BytePairEncoder, toByteLevel } from './bpe.js';
import { readTokenizerFiles, type CLIPTokenizerFiles } from './tokenizer-files.js';

// transformers' slow CLIPTokenizer as diffusers loads it, without ftfy: architecture doc §3.1.

// CLIP's pre-tokenizer, which the reference runs with Python's `regex` module and IGNORECASE over lowercased
// text. Case-insensitivity then matters only through simple case folding: 's' also matches 'ſ' (U+017F), and
// U+0345, which folds to the letter 'ι', matches no alternative at all, so findall skips it. JavaScript's /i
// would call U+0345 a letter, hence no /i and both spelled out.
const PRE_TOKENIZER = /<\|[sſ]tartoftext\|>|<\|endoftext\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}\u0345]+/gu;

// The reference's BPE cache starts out holding these two words, so when the pre-tokenizer finds one (say the
// text spelled it in capitals, which the special-token split misses) it becomes one vocabulary entry.
const WHOLE_WORDS = new Set(['<|startoftext|>', '<|endoftext|>']);

export type Padding = 'max_length' | 'longest' | false;

export interface EncodeOptions {
  /** Length to pad and truncate to, special tokens included; default `model_max_length` (77). */
  maxLength?: number;
  /** Default 'max_length', as the Kandinsky prior pipeline calls it. */
  padding?: Padding;
  /** Keep at most `maxLength - 2` text tokens; default true. */
  truncation?: boolean;
}

export interface EncodedTexts {
  /** [N, L]: BOS, the text's tokens, EOS, then the pad token. */
  inputIds: Int64Tensor;
  /** [N, L]: 1 from BOS to EOS, 0 over padding. */
  attentionMask: Int64Tensor;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

export class CLIPTokenizer {
  readonly modelMaxLength: number | undefined;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly unkTokenId: number;
  private readonly bpe: BytePairEncoder;
  private readonly specialTokenIds: ReadonlyMap<string, number>;
  /** Splits text around special tokens written literally in it; one capture group, so they stay in the split. */
  private readonly specialTokenSplitter: RegExp;

  /** Loads a transformers tokenizer folder (e.g. `kandinsky-2-2-prior/tokenizer`). */
  static fromPretrained(dir: string): CLIPTokenizer {
    return new CLIPTokenizer(readTokenizerFiles(dir), join(dir, 'vocab.json'));
  }

  /** `vocabSource` names the vocabulary in error messages. */
  constructor(files: CLIPTokenizerFiles, vocabSource = 'vocab.json') {
    this.vocab = files.vocab;
    this.bpe = new BytePairEncoder(files.mergeRanks);
    this.modelMaxLength = files.modelMaxLength;
    const idOf = (token: string, role: string) => {
      const id = files.vocab.get(token);
      if (id === undefined) throw new ConfigError(`${vocabSource}: the ${role} token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    };
    const { bos, eos, unk, pad } = files.specialTokens;
    this.bosTokenId = idOf(bos, 'bos');
    this.eosTokenId = idOf(eos, 'eos');
    this.unkTokenId = idOf(unk, 'unk');
    this.padTokenId = idOf(pad, 'pad');
    this.specialTokenIds = new Map([bos, eos, unk, pad].map((token) => [token, idOf(token, 'special')]));
    // Longest first, so that a special token containing another one wins.
    const alternatives = [...this.specialTokenIds.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialTokenSplitter = new RegExp(`(${alternatives.join('|')})`);
  }

  /** The ids of `text`, without BOS/EOS and untruncated. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    text.split(this.specialTokenSplitter).forEach((piece, i) => {
      const isSpecialToken = i % 2 === 1;
      if (isSpecialToken) ids.push(this.specialTokenIds.get(piece)!);
      else if (piece !== '') this.tokenizeOrdinaryText(piece, ids);
    });
    return ids;
  }

  /** Tokenizes a batch into padded id and mask tensors, as `tokenizer(texts, padding=..., max_length=..., truncation=...)`. */
  encode(texts: readonly string[], options: EncodeOptions = {}): EncodedTexts {
    const { padding = 'max_length', truncation = true } = options;
    const maxLength = this.resolveMaxLength(options.maxLength, padding, truncation);
    const rows = texts.map((text, i) => {
      if (typeof text !== 'string') throw new InputError(`tokenizer: text ${i} is ${typeof text}, not a string`);
      const ids = this.tokenize(text);
      return [this.bosTokenId, ...(truncation ? ids.slice(0, maxLength! - 2) : ids), this.eosTokenId];
    });
    const width = padding === 'max_length' ? maxLength! : Math.max(0, ...rows.map((row) => row.length));
    const ragged = rows.findIndex((row) => row.length > width || (padding === false && row.length !== width));
    if (ragged >= 0) {
      throw new InputError(`tokenizer: text ${ragged} has ${rows[ragged].length} tokens where the batch needs ${width}; ` +
        'enable truncation or padding');
    }
    const inputIds = new BigInt64Array(rows.length * width).fill(BigInt(this.padTokenId));
    const attentionMask = new BigInt64Array(rows.length * width);
    rows.forEach((row, r) => {
      row.forEach((id, j) => {
        inputIds[r * width + j] = BigInt(id);
        attentionMask[r * width + j] = 1n;
      });
    });
    return { inputIds: tensor(inputIds, [rows.length, width]), attentionMask: tensor(attentionMask, [rows.length, width]) };
  }

  private tokenizeOrdinaryText(text: string, ids: number[]): void {
    for (const [word] of basicTokenize(text).join(' ').matchAll(PRE_TOKENIZER)) {
      const symbols = WHOLE_WORDS.has(word) ? [word] : this.bpe.encode(toByteLevel(word));
      for (const symbol of symbols) ids.push(this.vocab.get(symbol) ?? this.unkTokenId);
    }
  }

  private resolveMaxLength(requested: number | undefined, padding: Padding, truncation: boolean): number | undefined {
    const maxLength = requested ?? this.modelMaxLength;
    if (maxLength === undefined) {
      if (padding === 'max_length' || truncation) {
        throw new InputError('tokenizer: padding to or truncating at max length needs maxLength, ' +
          'and tokenizer_config.json sets no model_max_length');
      }
      return undefined;
    }
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new InputError(`tokenizer: maxLength must be an integer of at least 2 (BOS and EOS), got ${maxLength}`);
    }
    return maxLength;
  }
}
