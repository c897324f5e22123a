// The embedded store (DESIGN.md "The service"): one SQLite file, `store.db`, in the data folder, shared
// by the API process and its worker child processes; output and upload bytes as files beside it.
// WAL with synchronous=NORMAL: a commit survives a killed process (not a power cut); readers never wait
// for the writer, and writers queue on busy_timeout. Every write is one BEGIN IMMEDIATE transaction.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { KandinskyError, LeaseLostError, StoreError } from '../../errors.js';
import {
  LEASE_LAPSED_ERROR, SERVER_KEY, WEBHOOK_CLAIM_MS,
  type ListPage, type ListQuery, type OutputFile, type PredictionRecord, type Store, type UploadedFile, type WebhookDelivery, type WebhookEvent,
} from '../types.js';
import { checkNewPrediction, checkNewUpload, checkOutputs } from './checks.js';
import { keysetPage, type Keyset } from './cursor.js';
import { writeFileAtomic } from '../../files/index.js';
import { readFileIfPresent, removeQuietly } from './files.js';
import { MIGRATIONS } from './sqlite-schema.js';
import { canonicalTimestamp, timestampNow } from './timestamps.js';

export const STORE_FILE = 'store.db';

export interface SqliteStoreOptions {
  /** How often, while someone listens, to look for changes other processes made (ms). */
  readonly changePollMs?: number;
  /** How long a write waits for another process's transaction before it fails (ms). */
  readonly busyTimeoutMs?: number;
}

/** Change rows older than this are pruned: far longer than any listener's poll interval. */
const CHANGE_LOG_KEEP_MS = 5 * 60_000;
const PRUNE_EVERY_CHANGES = 512;

type Row = Record<string, unknown>;

/** Opens (creating or migrating) `store.db` in `dataDir`, creating the folder when it is missing. */
export async function openSqliteStore(dataDir: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const file = join(dataDir, STORE_FILE);
  let db: Database.Database | undefined;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return new SqliteStore(db, dataDir, file, options.changePollMs ?? 75);
  } catch (e) {
    db?.close();
    throw e instanceof KandinskyError ? e : new StoreError(`${file}: cannot open the store: ${(e as Error).message}`, { cause: e });
  }
}

/** Brings the schema to the newest version; the check runs inside the write lock, so processes starting together migrate once. */
function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new StoreError(`${file}: schema version ${version} is newer than this kandinsky knows (${MIGRATIONS.length}); upgrade kandinsky`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

function toRecord(r: Row): PredictionRecord {
  return {
    id: r.id as string,
    account: r.account as string,
    model: r.model as string,
    version: r.version as string,
    input: r.input === null ? {} : JSON.parse(r.input as string) as Record<string, unknown>,
    status: r.status as PredictionRecord['status'],
    logs: (r.logs ?? '') as string,
    output: r.output === null ? null : JSON.parse(r.output as string) as OutputFile[],
    error: r.error as string | null,
    createdAt: r.created_at as string,
    startedAt: r.started_at as string | null,
    completedAt: r.completed_at as string | null,
    webhook: r.webhook as string | null,
    webhookEventsFilter: r.webhook_events_filter === null ? null : JSON.parse(r.webhook_events_filter as string) as WebhookEvent[],
    stream: r.stream === 1,
    secret: r.secret as string,
    cancelRequested: r.cancel_requested === 1,
    dataRemoved: r.data_removed === 1,
  };
}

function toUpload(r: Row): UploadedFile {
  return {
    id: r.id as string,
    account: r.account as string,
    name: r.name as string,
    contentType: r.content_type as string,
    size: r.size as number,
    sha256: r.sha256 as string,
    md5: r.md5 as string,
    metadata: JSON.parse(r.metadata as string) as Record<string, unknown>,
    createdAt: r.created_at as string,
    expiresAt: r.expires_at as string | null,
  };
}

function toDelivery(r: Row): WebhookDelivery {
  return {
    id: r.id as string,
    predictionId: r.prediction_id as string,
    url: r.url as string,
    event: r.event as WebhookEvent,
    body: r.body as string,
    attempts: r.attempts as number,
    nextAttemptAt: r.next_attempt_at as number,
  };
}

export class SqliteStore implements Store {
  #db: Database.Database | undefined;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #listeners = new Set<(predictionId: string) => void>();
  /** Tells this instance's change rows from other writers' when polling. */
  readonly #writer = randomBytes(8).toString('hex');
  #changesSincePrune = 0;
  #poll: NodeJS.Timeout | undefined;
  #lastSeenChange = 0;
  #lastDataVersion = 0;

  constructor(db: Database.Database, private readonly dataDir: string, readonly file: string, private readonly changePollMs: number) {
    this.#db = db;
    this.#sql = prepare(db);
  }

  async createPrediction(p: PredictionRecord, maxQueue?: number): Promise<boolean> {
    return this.#guard('create a prediction', () => {
      checkNewPrediction(p);
      return this.#write((changed) => {
        if (maxQueue !== undefined && (this.#sql.countQueued.get() as number) >= maxQueue) return false;
        this.#sql.insertPrediction.run({
          id: p.id, account: p.account, model: p.model, version: p.version, input: JSON.stringify(p.input), status: p.status,
          logs: p.logs, output: p.output === null ? null : JSON.stringify(p.output), error: p.error, created_at: p.createdAt,
          started_at: p.startedAt, completed_at: p.completedAt, webhook: p.webhook,
          webhook_events_filter: p.webhookEventsFilter === null ? null : JSON.stringify(p.webhookEventsFilter),
          stream: p.stream ? 1 : 0, secret: p.secret, cancel_requested: p.cancelRequested ? 1 : 0, data_removed: p.dataRemoved ? 1 : 0,
        });
        changed(p.id);
        return true;
      });
    });
  }

  async getPrediction(id: string): Promise<PredictionRecord | undefined> {
    return this.#guard('read a prediction', () => this.#get(id));
  }

  async listPredictions(account: string, query: ListQuery): Promise<ListPage> {
    const after = query.createdAfter === undefined ? null : canonicalTimestamp(query.createdAfter, 'created_after');
    const before = query.createdBefore === undefined ? null : canonicalTimestamp(query.createdBefore, 'created_before');
    const filter = { account, after, before };
    const page = await keysetPage({
      older: async (key: Keyset | null, limit: number) => this.#guard('list predictions', () => this.#sql.listOlder.all({
        ...filter, limit, key_created_at: key?.createdAt ?? null, key_id: key?.id ?? null,
      }).map((r) => toRecord(r as Row))),
      newer: async (key: Keyset, limit: number) => this.#guard('list predictions', () => this.#sql.listNewer.all({
        ...filter, limit, key_created_at: key.createdAt, key_id: key.id,
      }).map((r) => toRecord(r as Row))),
    }, query.cursor, query.limit);
    return { results: page.rows, next: page.next, previous: page.previous };
  }

  async cancelPrediction(id: string): Promise<PredictionRecord | undefined> {
    return this.#guard('cancel a prediction', () => this.#write((changed) => {
      const before = this.#get(id);
      if (before?.status === 'starting') this.#sql.cancelQueued.run({ id, now: timestampNow() });
      else if (before?.status === 'processing' && !before.cancelRequested) this.#sql.requestCancel.run({ id });
      else return before;
      changed(id);
      return this.#get(id);
    }));
  }

  async claimNext(worker: string, leaseMs: number): Promise<PredictionRecord | undefined> {
    return this.#guard('claim a prediction', () => this.#write((changed) => {
      const id = this.#sql.oldestQueued.get() as string | undefined;
      if (id === undefined) return undefined;
      this.#sql.claim.run({ id, worker, now: timestampNow(), expires_at: Date.now() + leaseMs });
      changed(id);
      return this.#get(id);
    }));
  }

  async renewLease(predictionId: string, worker: string, leaseMs: number): Promise<boolean> {
    return this.#guard('renew a lease', () => this.#sql.renewLease.run({ id: predictionId, worker, expires_at: Date.now() + leaseMs }).changes === 1);
  }

  async appendLogs(predictionId: string, worker: string, text: string): Promise<void> {
    return this.#guard('append logs', () => this.#write((changed) => {
      if (this.#sql.appendLogs.run({ id: predictionId, worker, text }).changes !== 1) throw this.#leaseLost(predictionId, worker);
      changed(predictionId);
    }));
  }

  async finishPrediction(
    predictionId: string,
    worker: string,
    result: { status: 'succeeded' | 'failed' | 'canceled'; error?: string; outputs?: readonly { file: OutputFile; bytes: Uint8Array }[] },
  ): Promise<void> {
    return this.#guard('finish a prediction', () => {
      checkOutputs(predictionId, result.status, result.outputs);
      if (this.#sql.holder.get({ id: predictionId }) !== worker) throw this.#leaseLost(predictionId, worker);
      // The files go first: once the row says succeeded, every file it names is whole.
      const folder = this.#outputFolder(predictionId);
      if (result.outputs?.length) mkdirSync(folder, { recursive: true });
      for (const { file, bytes } of result.outputs ?? []) writeFileAtomic(join(folder, file.name), bytes);
      const output = result.outputs === undefined ? null : JSON.stringify(result.outputs.map((o) => o.file));
      try {
        this.#write((changed) => {
          const done = this.#sql.finish.run({ id: predictionId, worker, status: result.status, error: result.error ?? null, output, now: timestampNow() });
          if (done.changes !== 1) throw this.#leaseLost(predictionId, worker);
          changed(predictionId);
        });
      } catch (e) {
        if (result.outputs !== undefined) removeQuietly(folder);
        throw e;
      }
    });
  }

  async recoverLapsedLeases(now = Date.now()): Promise<readonly PredictionRecord[]> {
    return this.#guard('recover lapsed leases', () => this.#write((changed) => {
      const ids = this.#sql.lapsed.all({ now }) as string[];
      const completedAt = timestampNow();
      return ids.map((id) => {
        this.#sql.failLapsed.run({ id, error: LEASE_LAPSED_ERROR, now: completedAt });
        changed(id);
        return this.#get(id)!;
      });
    }));
  }

  async readOutput(predictionId: string, name: string): Promise<Uint8Array | undefined> {
    return this.#guard('read an output file', () => {
      // Only names the row lists reach the file system: `name` comes from a URL.
      if (!this.#get(predictionId)?.output?.some((f) => f.name === name)) return undefined;
      return readFileIfPresent(join(this.#outputFolder(predictionId), name));
    });
  }

  async createUpload(f: UploadedFile, bytes: Uint8Array): Promise<void> {
    return this.#guard('store an upload', () => {
      checkNewUpload(f, bytes);
      mkdirSync(dirname(this.#uploadPath(f.id)), { recursive: true });
      writeFileAtomic(this.#uploadPath(f.id), bytes);
      this.#sql.insertUpload.run({
        id: f.id, account: f.account, name: f.name, content_type: f.contentType, size: f.size, sha256: f.sha256, md5: f.md5,
        metadata: JSON.stringify(f.metadata), created_at: f.createdAt, expires_at: f.expiresAt,
      });
    });
  }

  async getUpload(id: string): Promise<{ file: UploadedFile; bytes: Uint8Array } | undefined> {
    return this.#guard('read an upload', () => {
      const row = this.#sql.getUpload.get({ id }) as Row | undefined;
      const bytes = row === undefined ? undefined : readFileIfPresent(this.#uploadPath(id));
      return row === undefined || bytes === undefined ? undefined : { file: toUpload(row), bytes };
    });
  }

  async listUploads(account: string): Promise<readonly UploadedFile[]> {
    return this.#guard('list uploads', () => this.#sql.listUploads.all({ account }).map((r) => toUpload(r as Row)));
  }

  async deleteUpload(id: string): Promise<boolean> {
    return this.#guard('delete an upload', () => {
      if (this.#sql.deleteUpload.run({ id }).changes !== 1) return false;
      removeQuietly(this.#uploadPath(id));
      return true;
    });
  }

  async enqueueWebhook(d: Omit<WebhookDelivery, 'attempts'>): Promise<void> {
    return this.#guard('queue a webhook delivery', () => {
      this.#sql.insertDelivery.run({
        id: d.id, prediction_id: d.predictionId, url: d.url, event: d.event, body: d.body, next_attempt_at: d.nextAttemptAt,
      });
    });
  }

  async dueWebhooks(now: number, limit: number): Promise<readonly WebhookDelivery[]> {
    return this.#guard('read due webhook deliveries', () => this.#write(() => {
      const due = this.#sql.dueDeliveries.all({ now, limit }).map((r) => toDelivery(r as Row));
      for (const d of due) this.#sql.rescheduleDelivery.run({ id: d.id, next_attempt_at: now + WEBHOOK_CLAIM_MS, failed: 0 });
      return due;
    }));
  }

  async webhookDelivered(id: string): Promise<void> {
    return this.#guard('record a webhook delivery', () => {
      this.#sql.deleteDelivery.run({ id });
    });
  }

  async webhookFailed(id: string, nextAttemptAt: number | null): Promise<void> {
    return this.#guard('record a failed webhook delivery', () => {
      if (nextAttemptAt === null) this.#sql.deleteDelivery.run({ id });
      else this.#sql.rescheduleDelivery.run({ id, next_attempt_at: nextAttemptAt, failed: 1 });
    });
  }

  async removeDataOlderThan(cutoff: string): Promise<number> {
    const before = canonicalTimestamp(cutoff, 'cutoff');
    return this.#guard('remove old prediction data', () => {
      const ids = this.#write((changed) => {
        const expired = this.#sql.expired.all({ before }) as string[];
        for (const id of expired) {
          this.#sql.removeData.run({ id });
          changed(id);
        }
        return expired;
      });
      // After the commit: a crash in between leaves files nothing names any more.
      for (const id of ids) removeQuietly(this.#outputFolder(id));
      return ids.length;
    });
  }

  async serverKey(): Promise<Uint8Array> {
    return this.#guard('read the server key', () => this.#write(() => {
      this.#sql.insertServerKey.run({ name: SERVER_KEY, value: randomBytes(32) });
      return new Uint8Array(this.#sql.serverKey.get({ name: SERVER_KEY }) as Buffer);
    }));
  }

  onChange(listener: (predictionId: string) => void): () => void {
    this.#listeners.add(listener);
    if (this.#poll === undefined && this.#db !== undefined) {
      this.#lastSeenChange = (this.#sql.lastChange.get() as number | null) ?? 0;
      this.#lastDataVersion = this.#db.pragma('data_version', { simple: true }) as number;
      this.#poll = setInterval(() => {
        // A busy or briefly locked file must not take the process down from a timer; the changes wait in their
        // table, so the next tick reads them.
        try {
          this.#pollOtherWriters();
        } catch {
          /* next tick */
        }
      }, this.changePollMs).unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stopPolling();
    };
  }

  async close(): Promise<void> {
    this.#stopPolling();
    this.#db?.close();
    this.#db = undefined;
  }

  get #open(): Database.Database {
    if (this.#db === undefined) throw new StoreError(`${this.file}: the store is closed`);
    return this.#db;
  }

  /** Runs `fn` as one BEGIN IMMEDIATE transaction, logs the predictions it changed, and tells the listeners after the commit. */
  #write<T>(fn: (changed: (predictionId: string) => void) => T): T {
    const ids = new Set<string>();
    const at = Date.now();
    const result = this.#open.transaction(() => {
      const value = fn((id) => {
        ids.add(id);
        this.#sql.logChange.run({ id, writer: this.#writer, at });
      });
      if (ids.size > 0 && (this.#changesSincePrune += ids.size) >= PRUNE_EVERY_CHANGES) {
        this.#changesSincePrune = 0;
        this.#sql.pruneChanges.run({ before: at - CHANGE_LOG_KEEP_MS });
      }
      return value;
    }).immediate();
    this.#notify(ids);
    return result;
  }

  /** data_version moves only when another connection commits, so an idle poll costs one pragma. */
  #pollOtherWriters(): void {
    const db = this.#db;
    if (db === undefined) return;
    const version = db.pragma('data_version', { simple: true }) as number;
    if (version === this.#lastDataVersion) return;
    this.#lastDataVersion = version;
    const ids = new Set<string>();
    for (const row of this.#sql.changesSince.all({ seq: this.#lastSeenChange }) as Row[]) {
      this.#lastSeenChange = row.seq as number;
      if (row.writer !== this.#writer) ids.add(row.prediction_id as string);
    }
    this.#notify(ids);
  }

  /** Listeners run on their own microtasks: one that throws neither undoes a commit nor silences the others. */
  #notify(ids: Set<string>): void {
    for (const id of ids) for (const listener of this.#listeners) queueMicrotask(() => listener(id));
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }

  #get(id: string): PredictionRecord | undefined {
    const row = this.#sql.getPrediction.get({ id }) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  #leaseLost(predictionId: string, worker: string): LeaseLostError {
    return new LeaseLostError(`${this.file}: worker ${worker} no longer holds prediction ${predictionId} (its lease lapsed, or it was finished)`);
  }

  #outputFolder(predictionId: string): string {
    return join(this.dataDir, 'outputs', predictionId);
  }

  #uploadPath(id: string): string {
    return join(this.dataDir, 'uploads', id);
  }

  /** Every refusal leaves as a KandinskyError naming the store file: SQLite's and the file system's included. */
  async #guard<T>(what: string, fn: () => T): Promise<T> {
    try {
      return fn();
    } catch (e) {
      if (e instanceof KandinskyError) throw e;
      throw new StoreError(`${this.file}: cannot ${what}: ${(e as Error).message}`, { cause: e });
    }
  }
}

function prepare(db: Database.Database) {
  const keyset = `account = @account AND (@after IS NULL OR created_at >= @after) AND (@before IS NULL OR created_at < @before)`;
  return {
    getPrediction: db.prepare('SELECT * FROM predictions WHERE id = @id'),
    insertServerKey: db.prepare('INSERT OR IGNORE INTO server_keys (name, value) VALUES (@name, @value)'),
    serverKey: db.prepare('SELECT value FROM server_keys WHERE name = @name').pluck(),
    insertPrediction: db.prepare(`
      INSERT INTO predictions (id, account, model, version, input, status, logs, output, error, created_at, started_at, completed_at,
        webhook, webhook_events_filter, stream, secret, cancel_requested, data_removed)
      VALUES (@id, @account, @model, @version, @input, @status, @logs, @output, @error, @created_at, @started_at, @completed_at,
        @webhook, @webhook_events_filter, @stream, @secret, @cancel_requested, @data_removed)`),
    countQueued: db.prepare(`SELECT count(*) FROM predictions WHERE status = 'starting'`).pluck(),
    listOlder: db.prepare(`
      SELECT * FROM predictions
      WHERE ${keyset} AND (@key_created_at IS NULL OR (created_at, id) < (@key_created_at, @key_id))
      ORDER BY created_at DESC, id DESC LIMIT @limit`),
    listNewer: db.prepare(`
      SELECT * FROM predictions
      WHERE ${keyset} AND (created_at, id) > (@key_created_at, @key_id)
      ORDER BY created_at ASC, id ASC LIMIT @limit`),
    cancelQueued: db.prepare(`UPDATE predictions SET status = 'canceled', completed_at = @now WHERE id = @id`),
    requestCancel: db.prepare('UPDATE predictions SET cancel_requested = 1 WHERE id = @id'),
    oldestQueued: db.prepare(`SELECT id FROM predictions WHERE status = 'starting' ORDER BY created_at, id LIMIT 1`).pluck(),
    claim: db.prepare(`
      UPDATE predictions SET status = 'processing', started_at = @now, lease_worker = @worker, lease_expires_at = @expires_at
      WHERE id = @id`),
    holder: db.prepare(`SELECT lease_worker FROM predictions WHERE id = @id AND status = 'processing'`).pluck(),
    renewLease: db.prepare(`
      UPDATE predictions SET lease_expires_at = @expires_at WHERE id = @id AND status = 'processing' AND lease_worker = @worker`),
    appendLogs: db.prepare(`
      UPDATE predictions SET logs = coalesce(logs, '') || @text WHERE id = @id AND status = 'processing' AND lease_worker = @worker`),
    finish: db.prepare(`
      UPDATE predictions SET status = @status, error = @error, output = @output, completed_at = @now, lease_worker = NULL, lease_expires_at = NULL
      WHERE id = @id AND status = 'processing' AND lease_worker = @worker`),
    lapsed: db.prepare(`SELECT id FROM predictions WHERE status = 'processing' AND lease_expires_at < @now`).pluck(),
    failLapsed: db.prepare(`
      UPDATE predictions SET status = 'failed', error = @error, completed_at = @now, lease_worker = NULL, lease_expires_at = NULL
      WHERE id = @id`),
    expired: db.prepare(`SELECT id FROM predictions WHERE data_removed = 0 AND completed_at < @before`).pluck(),
    removeData: db.prepare('UPDATE predictions SET input = NULL, output = NULL, logs = NULL, data_removed = 1 WHERE id = @id'),
    insertUpload: db.prepare(`
      INSERT INTO uploads (id, account, name, content_type, size, sha256, md5, metadata, created_at, expires_at)
      VALUES (@id, @account, @name, @content_type, @size, @sha256, @md5, @metadata, @created_at, @expires_at)`),
    getUpload: db.prepare('SELECT * FROM uploads WHERE id = @id'),
    listUploads: db.prepare('SELECT * FROM uploads WHERE account = @account ORDER BY created_at DESC, id DESC'),
    deleteUpload: db.prepare('DELETE FROM uploads WHERE id = @id'),
    insertDelivery: db.prepare(`
      INSERT INTO webhook_deliveries (id, prediction_id, url, event, body, next_attempt_at)
      VALUES (@id, @prediction_id, @url, @event, @body, @next_attempt_at)`),
    dueDeliveries: db.prepare(`
      SELECT * FROM webhook_deliveries WHERE next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @limit`),
    rescheduleDelivery: db.prepare(`
      UPDATE webhook_deliveries SET next_attempt_at = @next_attempt_at, attempts = attempts + @failed WHERE id = @id`),
    deleteDelivery: db.prepare('DELETE FROM webhook_deliveries WHERE id = @id'),
    logChange: db.prepare('INSERT INTO prediction_changes (prediction_id, writer, at) VALUES (@id, @writer, @at)'),
    pruneChanges: db.prepare('DELETE FROM prediction_changes WHERE at < @before'),
    lastChange: db.prepare('SELECT max(seq) FROM prediction_changes').pluck(),
    changesSince: db.prepare('SELECT seq, prediction_id, writer FROM prediction_changes WHERE seq > @seq ORDER BY seq'),
  };
}
