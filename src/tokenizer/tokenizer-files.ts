import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readConfigText, readJsonObject } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { mergeKey } from './bpe.js';

// The files of a transformers CLIPTokenizer folder (what `save_pretrained` writes).

/** CLIP's vocabulary is 49152 ids: 256 bytes, 2 special tokens, and one id per merge it reads. */
const MERGES_READ = 49152 - 256 - 2;

export interface SpecialTokens {
  readonly bos: string;
  readonly eos: string;
  readonly unk: string;
  readonly pad: string;
}

type SpecialTokenName = 'bos_token' | 'eos_token' | 'unk_token' | 'pad_token';

/** CLIPTokenizer's constructor defaults, for a token neither JSON file names. */
const DEFAULT_SPECIAL_TOKENS: Record<SpecialTokenName, string> = {
  bos_token: '<|startoftext|>',
  eos_token: '<|endoftext|>',
  unk_token: '<|endoftext|>',
  pad_token: '<|endoftext|>',
};

export interface CLIPTokenizerFiles {
  readonly vocab: ReadonlyMap<string, number>;
  readonly mergeRanks: ReadonlyMap<string, number>;
  readonly specialTokens: SpecialTokens;
  /** `model_max_length`; undefined when unset or transformers' "no limit" sentinel (1e30). */
  readonly modelMaxLength: number | undefined;
}

function readVocab(path: string): Map<string, number> {
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(readJsonObject(path, 'tokenizer file'))) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ConfigError(`${path}: token ${JSON.stringify(token)} should map to a non-negative integer id, got ${JSON.stringify(id)}`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

/** Line 0 is the `#version` header; later duplicates of a merge win, as in a Python dict. */
function readMergeRanks(path: string): Map<string, number> {
  const lines = readConfigText(path, 'tokenizer merges file').trim().split('\n').slice(1, MERGES_READ + 1);
  const ranks = new Map<string, number>();
  lines.forEach((line, rank) => {
    const pair = line.trim().split(/\s+/);
    if (pair.length !== 2) {
      throw new ConfigError(`${path}: line ${rank + 2} should hold two symbols separated by a space, got ${JSON.stringify(line)}`);
    }
    ranks.set(mergeKey(pair[0], pair[1]), rank);
  });
  return ranks;
}

/** A special token is saved either as a plain string or as an AddedToken object with `content`. */
function tokenContent(value: unknown, path: string, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  throw new ConfigError(`${path}: "${key}" should be a string or an object with a string "content", got ${JSON.stringify(value)}`);
}

/** Other tokenizers ship vocab.json and merges.txt too (GPT-2, RoBERTa) but split text differently. */
function checkTokenizerClass(config: Record<string, unknown>, path: string): void {
  const name = config.tokenizer_class;
  if (name !== undefined && name !== 'CLIPTokenizer' && name !== 'CLIPTokenizerFast') {
    throw new ConfigError(`${path}: "tokenizer_class" is ${JSON.stringify(name)}, expected "CLIPTokenizer"`);
  }
}

function readModelMaxLength(config: Record<string, unknown>, path: string): number | undefined {
  const value = config.model_max_length;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${path}: "model_max_length" should be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Reads vocab.json, merges.txt and tokenizer_config.json (required) and special_tokens_map.json (optional, as
 * in transformers: its entries override the config's).
 */
export function readTokenizerFiles(dir: string): CLIPTokenizerFiles {
  const configPath = join(dir, 'tokenizer_config.json');
  const mapPath = join(dir, 'special_tokens_map.json');
  const config = readJsonObject(configPath, 'tokenizer config');
  checkTokenizerClass(config, configPath);
  const map = existsSync(mapPath) ? readJsonObject(mapPath, 'special tokens map') : {};
  const special = (key: SpecialTokenName) =>
    tokenContent(map[key], mapPath, key) ?? tokenContent(config[key], configPath, key) ?? DEFAULT_SPECIAL_TOKENS[key];
  return {
    vocab: readVocab(join(dir, 'vocab.json')),
    mergeRanks: readMergeRanks(join(dir, 'merges.txt')),
    specialTokens: { bos: special('bos_token'), eos: special('eos_token'), unk: special('unk_token'), pad: special('pad_token') },
    modelMaxLength: readModelMaxLength(config, configPath),
  };
}
