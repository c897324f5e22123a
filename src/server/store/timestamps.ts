// RFC 3339 UTC timestamps with microseconds and `Z` (replicate-api.md §4). The store compares them as
// strings, which orders them in time only because every stored one has this one fixed-width form.
import { InputError } from '../../errors.js';

const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const ISO_8601 = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d)(?::(\d\d)(?:\.(\d+))?)?)?(Z|z|[+-]\d\d:?\d\d)?$/;

/** `ms` (epoch milliseconds, fractions kept to the microsecond) in the canonical form. */
export function timestampOf(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.floor((ms - whole) * 1000);
  return `${new Date(whole).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** Now, to the microsecond: the monotonic clock keeps one process's timestamps in creation order. */
export function timestampNow(): string {
  return timestampOf(performance.timeOrigin + performance.now());
}

export function isCanonicalTimestamp(text: string): boolean {
  return CANONICAL.test(text);
}

/**
 * Any ISO 8601 date or date-time a client may send as a filter (`2024-09-12`, `2024-09-12T22:22:51+02:00`,
 * `...51.044455Z`) in the canonical form, so it compares with stored timestamps; `field` names it in the refusal.
 */
export function canonicalTimestamp(text: string, field: string): string {
  const m = ISO_8601.exec(text);
  const offset = m?.[5] === undefined || m[5] === 'z' ? 'Z' : m[5];
  const seconds = m === null ? NaN : Date.parse(`${m[1]}T${m[2] ?? '00:00'}:${m[3] ?? '00'}${offset}`);
  if (m === null || Number.isNaN(seconds)) {
    throw new InputError(`${field}: expected an ISO 8601 date-time such as 2024-09-12T22:22:51.044455Z, got ${JSON.stringify(text)}`);
  }
  const fraction = (m[4] ?? '').slice(0, 6).padEnd(6, '0');
  return `${new Date(seconds).toISOString().slice(0, -4)}${fraction}Z`;
}
