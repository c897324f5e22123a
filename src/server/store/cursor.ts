// Keyset pagination of the predictions list, newest first on (created_at, id), with opaque cursors
// (replicate-api.md §10). The page logic is shared by every store; each store only runs the two queries.
import { InputError } from '../../errors.js';
import { isCanonicalTimestamp } from './timestamps.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** A row's place in the newest-first order. */
export interface Keyset {
  readonly createdAt: string;
  readonly id: string;
}

/** Where a page starts: just older than `key` (a `next` link) or just newer (a `previous` link). */
export interface PageCursor extends Keyset {
  readonly direction: 'older' | 'newer';
}

/** A store's two keyset queries, with the account and date filters already applied. */
export interface KeysetSource<T extends Keyset> {
  /** Up to `limit` rows older than `key` (from the newest when null), newest first. */
  older(key: Keyset | null, limit: number): Promise<readonly T[]>;
  /** Up to `limit` rows newer than `key`, oldest first. */
  newer(key: Keyset, limit: number): Promise<readonly T[]>;
}

export interface KeysetPage<T> {
  readonly rows: readonly T[];
  readonly next: string | null;
  readonly previous: string | null;
}

/** base64url of a small JSON: opaque to clients, readable when debugging. */
export function encodeCursor(c: PageCursor): string {
  return Buffer.from(JSON.stringify({ d: c.direction === 'older' ? 'o' : 'n', c: c.createdAt, i: c.id })).toString('base64url');
}

export function decodeCursor(text: string): PageCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const { d, c, i } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if ((d !== 'o' && d !== 'n') || typeof c !== 'string' || !isCanonicalTimestamp(c) || typeof i !== 'string') {
    throw new InputError(`cursor: expected a cursor from a next or previous link of this server, got ${JSON.stringify(text)}`);
  }
  return { direction: d === 'o' ? 'older' : 'newer', createdAt: c, id: i };
}

/** The page size asked for, or the default; refuses what is not a whole number in 1..MAX_PAGE_SIZE. */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InputError(`limit: expected a whole number from 1 to ${MAX_PAGE_SIZE}, got ${limit}`);
  }
  return limit;
}

/** One page from `cursor` (or the newest), with links only where rows lie beyond it in that direction. */
export async function keysetPage<T extends Keyset>(source: KeysetSource<T>, cursor: string | undefined, limit: number | undefined): Promise<KeysetPage<T>> {
  const size = pageSize(limit);
  const from = cursor === undefined ? null : decodeCursor(cursor);
  const rows = from?.direction === 'newer' ? [...await source.newer(from, size)].reverse() : await source.older(from, size);
  if (rows.length === 0) return { rows, next: null, previous: null };
  const newest = rows[0];
  const oldest = rows[rows.length - 1];
  const [older, newer] = await Promise.all([source.older(oldest, 1), source.newer(newest, 1)]);
  return {
    rows,
    next: older.length > 0 ? encodeCursor({ ...keyOf(oldest), direction: 'older' }) : null,
    previous: newer.length > 0 ? encodeCursor({ ...keyOf(newest), direction: 'newer' }) : null,
  };
}

function keyOf(row: Keyset): Keyset {
  return { createdAt: row.createdAt, id: row.id };
}
