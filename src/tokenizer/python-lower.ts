import { CASED_ONLY_IN_UNICODE_14, CASE_IGNORABLE_ONLY_IN_UNICODE_14 } from './unicode-14.js';

// Python's str.lower() and JavaScript's toLowerCase() agree on every code point assigned in Unicode 14.0,
// including the one context-dependent mapping, Final_Sigma: 'Σ' becomes 'ς' after a cased letter (skipping
// case-ignorable characters) unless a cased letter follows (likewise). Only the case properties behind that
// rule moved since Unicode 14.0, so where a 'Σ' occurs the rule is applied here with Python's properties.

const CAPITAL_SIGMA = 'Σ';
const CASED = /\p{Cased}/u;
const CASE_IGNORABLE = /\p{Case_Ignorable}/u;

function isCaseIgnorable(ch: string): boolean {
  return CASE_IGNORABLE.test(ch) || CASE_IGNORABLE_ONLY_IN_UNICODE_14.has(ch.codePointAt(0)!);
}

function isCased(ch: string): boolean {
  return CASED.test(ch) || CASED_ONLY_IN_UNICODE_14.has(ch.codePointAt(0)!);
}

/** Whether the nearest character from `start` in direction `step` that is not case-ignorable is cased. */
function casedLetterNear(chars: readonly string[], start: number, step: 1 | -1): boolean {
  for (let j = start; j >= 0 && j < chars.length; j += step) {
    if (!isCaseIgnorable(chars[j])) return isCased(chars[j]);
  }
  return false;
}

function lowerSigma(chars: readonly string[], i: number): string {
  const final = casedLetterNear(chars, i - 1, -1) && !casedLetterNear(chars, i + 1, 1);
  return final ? 'ς' : 'σ';
}

/** Python 3.11's `str.lower()`. */
export function pythonLower(text: string): string {
  if (!text.includes(CAPITAL_SIGMA)) return text.toLowerCase();
  const chars = [...text];
  return chars.map((ch, i) => (ch === CAPITAL_SIGMA ? lowerSigma(chars, i) : ch)).join('').toLowerCase();
}
