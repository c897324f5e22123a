import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

// Who may call the API: each token is an account; an account sees only its own predictions and files.

export interface Account {
  readonly username: string;
}

export interface Accounts {
  /** The account a token belongs to, or undefined for an unknown token. */
  byToken(token: string): Account | undefined;
  /** The account's `whsec_` signing secret: derived from the store's server key, the same in every API process. */
  webhookSecret(account: string): string;
  /** A token made at first start (none was configured), to be shown to the user once. */
  readonly created?: string;
}

export const TOKENS_FILE = 'tokens.json';

/** `tokens.json`: `[{"token": "...", "username": "..."}]`; the username is optional. */
interface TokenEntry {
  readonly token: string;
  readonly username?: string;
}

/**
 * Tokens from KANDINSKY_API_TOKENS (comma-separated) or `<data>/tokens.json`; when neither names one, a token is
 * made and saved to tokens.json, so that the server is never open to anyone who can reach it.
 */
export function loadAccounts(dataDir: string, serverKey: Uint8Array, env: NodeJS.ProcessEnv = process.env): Accounts {
  mkdirSync(dataDir, { recursive: true });
  const fromEnv = (env.KANDINSKY_API_TOKENS ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const file = join(dataDir, TOKENS_FILE);
  let entries: TokenEntry[] = fromEnv.map((token) => ({ token }));
  let created: string | undefined;
  if (entries.length === 0 && existsSync(file)) entries = readTokensFile(file);
  if (entries.length === 0) {
    created = `r8_${randomBytes(20).toString('hex')}`;
    entries = [{ token: created }];
    writeFileSync(file, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  }
  const tokens = new Map(entries.map((e) => [e.token, { username: e.username ?? defaultUsername(e.token) }]));
  return {
    byToken: (token) => tokens.get(token),
    webhookSecret: (account) => `whsec_${createHmac('sha256', serverKey).update(`webhook-secret:${account}`).digest().subarray(0, 24).toString('base64')}`,
    created,
  };
}

function readTokensFile(file: string): TokenEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not JSON (${(err as Error).message}); expected [{"token": "...", "username": "..."}]`);
  }
  const ok = Array.isArray(parsed) && parsed.every((e) => typeof e?.token === 'string' && e.token !== '' && (e.username === undefined || typeof e.username === 'string'));
  if (!ok) throw new ConfigError(`${file}: expected [{"token": "...", "username": "..."}] with non-empty string tokens`);
  return parsed as TokenEntry[];
}

/** A token's account when the configuration names none: stable for the token, and not the token itself. */
function defaultUsername(token: string): string {
  return `user-${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}
