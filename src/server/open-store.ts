import { ConfigError } from '../errors.js';
import { openPostgresStore } from './store/postgres-store.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { Store } from './types.js';

/** `--store`: `sqlite` (the default: a file in --data) or a `postgres://` / `postgresql://` URL. */
export async function openStore(spec: string, dataDir: string): Promise<Store> {
  if (spec === 'sqlite') return openSqliteStore(dataDir);
  if (/^postgres(ql)?:\/\//.test(spec)) return openPostgresStore(spec);
  throw new ConfigError(`--store: expected "sqlite" or a postgres:// URL, got ${JSON.stringify(spec)}`);
}
