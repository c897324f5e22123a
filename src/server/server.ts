import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';
import { loadAccounts } from './accounts.js';
import { buildApp } from './app.js';
import { ChangeFeed } from './changes.js';
import type { ServerContext } from './context.js';
import { modelDirResolver } from './model-dirs.js';
import { Catalogue } from './models/index.js';
import { openStore } from './open-store.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { startHousekeeping } from './housekeeping.js';
import { workerConfig, type WorkerOptions } from './worker/messages.js';
import { WorkerSupervisor } from './worker/supervisor.js';

/** Replicate removes an API prediction's input, output and logs an hour after it finishes (§6). */
export const DEFAULT_RETENTION_S = 3600;

export interface ServeOptions extends WorkerOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly modelsDir?: string;
  /** The origin clients reach this server at; default `http(s)://HOST:PORT`. */
  readonly publicUrl?: string;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** `sqlite` (default) or a postgres:// URL. */
  readonly store?: string;
  readonly maxQueue?: number;
  /**
   * The module whose `createRunner` (worker/runner.ts) the worker child loads to run each prediction; default
   * the pipelines. `kandinsky bench api` passes an instant stand-in.
   */
  readonly runner?: URL;
  /** False: API only, the predictions run in `kandinsky worker` processes on the same store. Default true. */
  readonly worker?: boolean;
  /** Seconds a finished prediction keeps its input, output and logs; 0: forever. Default DEFAULT_RETENTION_S. */
  readonly retentionS?: number;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  /** The public origin (no trailing slash). */
  readonly publicUrl: string;
  /** Where it listens. */
  readonly address: string;
  /** A token made at this first start, when none was configured. */
  readonly createdToken?: string;
  readonly models: readonly string[];
  /** Graceful: stops taking requests, lets the running prediction finish, then closes the store. */
  close(): Promise<void>;
}

/** The API process: HTTP, the webhook dispatcher, housekeeping, and (unless `worker` is false) the supervisor of one worker child. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const log = o.log ?? ((line: string) => console.error(line));
  const dataDir = resolve(o.dataDir);
  const modelsDir = o.modelsDir === undefined ? undefined : resolve(o.modelsDir);
  const https = o.tls ? tlsPair(o.tls.certFile, o.tls.keyFile) : undefined;
  const storeSpec = o.store ?? 'sqlite';
  const store = await openStore(storeSpec, dataDir);
  const accounts = loadAccounts(dataDir, await store.serverKey());
  const changes = new ChangeFeed(store);
  const catalogue = new Catalogue(modelDirResolver(modelsDir));
  let supervisor: WorkerSupervisor | undefined;
  const ctx: { -readonly [K in keyof ServerContext]: ServerContext[K] } = {
    store,
    accounts,
    catalogue,
    changes,
    publicUrl: o.publicUrl?.replace(/\/+$/, '') ?? '',
    outputForm: 'data',
    maxQueue: o.maxQueue,
    onQueued: () => supervisor?.wake(),
  };
  const app = buildApp(ctx, { https });
  let address: string;
  try {
    address = await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    await store.close();
    throw new ConfigError(`cannot listen on ${o.host}:${o.port} (${(err as Error).message})`);
  }
  // Known once listening (port 0 picks one).
  if (ctx.publicUrl === '') ctx.publicUrl = `${https ? 'https' : 'http'}://${hostForUrl(o.host, address)}`;
  // Clients wrap only https: and data: strings as files (§12): over plain HTTP, create and get carry data URIs.
  ctx.outputForm = ctx.publicUrl.startsWith('https:') ? 'url' : 'data';
  if (o.worker ?? true) {
    supervisor = new WorkerSupervisor({
      store,
      config: workerConfig(storeSpec, dataDir, modelsDir, ctx.publicUrl, o),
      timeoutS: o.timeoutS,
      onChanged: (id) => changes.notify(id),
      log,
    });
    supervisor.start();
  }
  const dispatcher = new WebhookDispatcher(store, accounts);
  dispatcher.start();
  const stopHousekeeping = startHousekeeping({ store, base: ctx, retentionS: o.retentionS ?? DEFAULT_RETENTION_S, log });
  return {
    publicUrl: ctx.publicUrl,
    address,
    createdToken: accounts.created,
    models: catalogue.models.map((m) => `${m.definition.owner}/${m.definition.name}`),
    close: async () => {
      await Promise.all([app.close(), supervisor?.stop(), stopHousekeeping()]);
      await dispatcher.stop();
      changes.close();
      await store.close();
    },
  };
}

/** The certificate and its key, checked before anything starts: a pair TLS cannot use is named, not a raw OpenSSL error. */
function tlsPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const pair = { cert: readTls(certFile, '--tls-cert'), key: readTls(keyFile, '--tls-key') };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new ConfigError(`--tls-cert ${certFile} / --tls-key ${keyFile}: not a PEM certificate and its private key (${(err as Error).message})`);
  }
  return pair;
}

function readTls(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${flag} ${file}: cannot read it (${(err as Error).message})`);
  }
}

/** `http://[::1]:8080/` from Fastify's address, keeping the host the user named when it is not a wildcard. */
function hostForUrl(host: string, address: string): string {
  const port = new URL(address).port;
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `${name.includes(':') ? `[${name}]` : name}:${port}`;
}
