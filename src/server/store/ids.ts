// Identifiers the store hands out (replicate-api.md §4): opaque, unguessable, safe as file names.
import { randomBytes } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lowercase RFC 4648 base32 of `bytes`, without padding. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** 26 lowercase base32 characters from 16 random bytes, as Cog's docs/http.md recommends (a UUID4's worth). */
export function newPredictionId(): string {
  return base32(randomBytes(16));
}

/** Upload ids look like prediction ids: the files API only needs them opaque and unique. */
export const newUploadId = newPredictionId;

/** 32 url-safe characters (24 random bytes): names a prediction's stream and file URLs, which need no token. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

const PREDICTION_ID = /^[a-z2-7]{26}$/;
/** Ids that become file names under the data folder: no separators, no dots, bounded. */
const FILE_SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function isPredictionId(id: string): boolean {
  return PREDICTION_ID.test(id);
}

export function isFileSafeId(id: string): boolean {
  return FILE_SAFE_ID.test(id);
}
