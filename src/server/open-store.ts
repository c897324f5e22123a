import { ConfigError } from '../errors.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { Store } from './types.js';

/** `--store`: `sqlite` (the default: a file in --data). */
export async function openStore(spec: string, dataDir: string): Promise<Store> {
  if (spec === 'sqlite') return openSqliteStore(dataDir);
  throw new ConfigError(`--store: expected "sqlite", got ${JSON.stringify(spec)}`);
}
