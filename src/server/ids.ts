import { randomBytes } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 26 lowercase base32 characters from 128 random bits, as Cog recommends for prediction ids (replicate-api.md §4). */
export function newPredictionId(): string {
  const bytes = randomBytes(17);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** An unguessable path segment: it alone grants access to a prediction's stream and output files. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** RFC 3339 UTC with microseconds and `Z`, as Replicate writes timestamps. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Seconds from one timestamp to another, to the microsecond. */
export function secondsBetween(from: string, to: string): number {
  return (micros(to) - micros(from)) / 1e6;
}

function micros(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(.*)$/.exec(t);
  if (!m) return Date.parse(t) * 1000;
  return Date.parse(`${m[1]}${m[3]}`) * 1000 + Number((m[2] ?? '').padEnd(6, '0'));
}

export const newUploadId = newPredictionId;
