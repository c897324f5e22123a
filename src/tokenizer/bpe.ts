// Byte-level BPE as GPT-2 defined it and CLIP reuses it, with `</w>` marking the end of a word
// (architecture doc §3.1 step 3).

export const END_OF_WORD = '</w>';

/**
 * GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes (controls,
 * space, soft hyphen, ...) for U+0100 onwards in byte order, so that no BPE symbol is whitespace.
 */
function buildByteToUnicode(): string[] {
  const table: string[] = new Array(256);
  const isPrintable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(isPrintable(b) ? b : next++);
  return table;
}

const BYTE_TO_UNICODE = buildByteToUnicode();

/** The 256 byte-level symbols in byte order: CLIP's vocabulary starts with them, then each with `</w>`. */
export function byteLevelAlphabet(): readonly string[] {
  return BYTE_TO_UNICODE;
}
const utf8 = new TextEncoder();

/** The UTF-8 bytes of `text`, each spelled as its byte-to-unicode character. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of utf8.encode(text)) out += BYTE_TO_UNICODE[byte];
  return out;
}

/** Key of a merge in the rank table; symbols never contain a space (byte 0x20 is spelled U+0120). */
export function mergeKey(first: string, second: string): string {
  return `${first} ${second}`;
}

export class BytePairEncoder {
  private readonly cache = new Map<string, readonly string[]>();

  /** `ranks`: merge key -> priority, lower merges first (the line order of merges.txt). */
  constructor(private readonly ranks: ReadonlyMap<string, number>) {}

  /** Splits one byte-level word into vocabulary symbols; the last one carries `</w>`. */
  encode(word: string): readonly string[] {
    let symbols = this.cache.get(word);
    if (symbols === undefined) {
      symbols = this.merge(word);
      this.cache.set(word, symbols);
    }
    return symbols;
  }

  private merge(word: string): string[] {
    let symbols = [...word];
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      const best = this.lowestRankedPair(symbols);
      if (best === undefined) break;
      symbols = mergeEvery(symbols, best[0], best[1]);
    }
    return symbols;
  }

  private lowestRankedPair(symbols: readonly string[]): [string, string] | undefined {
    let best: [string, string] | undefined;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = this.ranks.get(mergeKey(symbols[i], symbols[i + 1]));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = [symbols[i], symbols[i + 1]];
      }
    }
    return best;
  }
}

/** Replaces each occurrence of the pair (first, second), scanning left to right without overlap. */
function mergeEvery(symbols: readonly string[], first: string, second: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === first && i + 1 < symbols.length && symbols[i + 1] === second) {
      out.push(first + second);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}
