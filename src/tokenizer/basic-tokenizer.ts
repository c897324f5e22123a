import { pythonLower } from './python-lower.js';
import { isUnassignedInUnicode14 } from './unicode-14.js';

// transformers' CLIPTokenizer without ftfy normalises text with
// BasicTokenizer(strip_accents=False, do_split_on_punc=False): see architecture doc §3.1 step 1.

const OTHER = /\p{C}/u;
const WHITESPACE = /[\t\n\r\p{Zs}]/u;
// What Python's str.split() still splits on once cleaning has turned the rest into spaces or dropped it.
const WORD_SEPARATORS = /[ \u2028\u2029]+/;

/** Category C* in Python 3.11, where tab, newline and carriage return count as whitespace instead. */
function isControl(ch: string, cp: number): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return OTHER.test(ch) || isUnassignedInUnicode14(cp);
}

/** The CJK ideograph blocks of BERT's `_is_chinese_char` (kana and hangul are not among them). */
function isCjkIdeograph(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/** Cleans, spaces CJK ideographs, NFC-normalises and lowercases `text`; returns its words. */
export function basicTokenize(text: string): string[] {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch, cp)) continue;
    if (WHITESPACE.test(ch)) cleaned += ' ';
    else if (isCjkIdeograph(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  return pythonLower(cleaned.normalize('NFC')).split(WORD_SEPARATORS).filter((word) => word !== '');
}
