// The Store on PostgreSQL, for any number of API and worker processes on any machines sharing one queue
// (DESIGN.md "The service", "Beyond one machine"). Workers claim with `FOR UPDATE SKIP LOCKED`, so concurrent
// claims never wait on each other nor take the same row; leases are judged on the database's clock, the one
// clock every machine shares; a trigger NOTIFYs the prediction id on every visible change, inside the
// changing transaction, so a listener never wakes before the change (outputs included) is readable.
// Output and upload bytes live in the database (bytea), so no machine needs a shared folder.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { KandinskyError, LeaseLostError, StoreError } from '../../errors.js';
import {
  LEASE_LAPSED_ERROR,
  SERVER_KEY,
  WEBHOOK_CLAIM_MS,
  type ListPage,
  type ListQuery,
  type OutputFile,
  type PredictionRecord,
  type PredictionStatus,
  type Store,
  type UploadedFile,
  type WebhookDelivery,
  type WebhookEvent,
} from '../types.js';
import { checkNewPrediction, checkNewUpload, checkOutputs } from './checks.js';
import { keysetPage, type Keyset } from './cursor.js';
import { CHANGE_CHANNEL, MIGRATIONS } from './postgres-schema.js';
import { canonicalTimestamp } from './timestamps.js';

/** Wait before listening again after the LISTEN connection broke. */
const RELISTEN_DELAY_MS = 1000;

// The database's clock stamps started_at, completed_at and leases: the one clock every machine shares. A
// stamp is never earlier than the one before it on the same prediction (created_at comes from the API
// process's clock), so the times stay in order whatever the machines' clocks say.
const NOW_TIMESTAMP = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const STARTED_AT = `greatest(created_at, ${NOW_TIMESTAMP} COLLATE "C")`;
const COMPLETED_AT = `greatest(coalesce(started_at, created_at), ${NOW_TIMESTAMP} COLLATE "C")`;
const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

// Advisory-lock keys: one for migrations, one for the queue-length check of createPrediction.
const SCHEMA_LOCK = 7_261_001;
const QUEUE_LOCK = 7_261_002;

const PREDICTION_COLUMNS = `id, account, model, version, input, status, logs, output, error, created_at, started_at, completed_at,
  webhook, webhook_events_filter, stream, secret, cancel_requested, data_removed`;

interface PredictionRow {
  id: string;
  account: string;
  model: string;
  version: string;
  input: string;
  status: PredictionStatus;
  logs: string;
  output: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  webhook: string | null;
  webhook_events_filter: string | null;
  stream: boolean;
  secret: string;
  cancel_requested: boolean;
  data_removed: boolean;
}

function toRecord(row: PredictionRow): PredictionRecord {
  return {
    id: row.id,
    account: row.account,
    model: row.model,
    version: row.version,
    input: JSON.parse(row.input) as Record<string, unknown>,
    status: row.status,
    logs: row.logs,
    output: row.output === null ? null : (JSON.parse(row.output) as OutputFile[]),
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    webhook: row.webhook,
    webhookEventsFilter: row.webhook_events_filter === null ? null : (JSON.parse(row.webhook_events_filter) as WebhookEvent[]),
    stream: row.stream,
    secret: row.secret,
    cancelRequested: row.cancel_requested,
    dataRemoved: row.data_removed,
  };
}

interface UploadRow {
  id: string;
  account: string;
  name: string;
  content_type: string;
  size: string;
  sha256: string;
  md5: string;
  metadata: string;
  created_at: string;
  expires_at: string | null;
}

function toUpload(row: UploadRow): UploadedFile {
  return {
    id: row.id,
    account: row.account,
    name: row.name,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    md5: row.md5,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

const UPLOAD_COLUMNS = 'id, account, name, content_type, size, sha256, md5, metadata, created_at, expires_at';

interface DeliveryRow {
  id: string;
  prediction_id: string;
  url: string;
  event: WebhookEvent;
  body: string;
  attempts: number;
  next_attempt_at: string;
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    predictionId: row.prediction_id,
    url: row.url,
    event: row.event,
    body: row.body,
    attempts: row.attempts,
    nextAttemptAt: Number(row.next_attempt_at),
  };
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the PostgreSQL URL';
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface PostgresStoreOptions {
  /** Connections in the pool (besides the one that LISTENs); default 10. */
  readonly poolSize?: number;
}

/** Connects to `url`, creates or migrates the tables (once, whichever process comes first) and starts listening. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = new PostgresStore(url, options);
  try {
    await store.migrate();
    await store.listen();
  } catch (e) {
    await store.close();
    throw e instanceof KandinskyError ? e : new StoreError(`${redacted(url)}: cannot open the store: ${(e as Error).message}`, { cause: e });
  }
  return store;
}

export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #listeners = new Set<(predictionId: string) => void>();
  /** Backends of our own pool: their NOTIFYs were already told to the listeners right after the commit. */
  readonly #ownBackends = new Set<number>();
  #listenClient: pg.Client | undefined;
  #closed = false;
  /** The URL without its password, naming the store in every refusal. */
  readonly name: string;

  constructor(private readonly url: string, options: PostgresStoreOptions = {}) {
    this.name = redacted(url);
    this.#pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle pooled connection that breaks is replaced at its next use; the event must not crash the process.
    this.#pool.on('error', () => {});
    this.#pool.on('connect', (client) => this.#ownBackends.add(backendOf(client)));
    this.#pool.on('remove', (client) => this.#ownBackends.delete(backendOf(client)));
  }

  /** Brings the schema to the newest version, under a lock so that processes starting together migrate once. */
  async migrate(): Promise<void> {
    await this.#transaction('migrate the schema', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS kandinsky_schema (version integer NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM kandinsky_schema');
      const version = rows[0]?.version ?? 0;
      if (version > MIGRATIONS.length) {
        throw new StoreError(`${this.name}: schema version ${version} is newer than this kandinsky knows (${MIGRATIONS.length}); upgrade kandinsky`);
      }
      for (let v = version; v < MIGRATIONS.length; v++) await client.query(MIGRATIONS[v]);
      if (rows.length === 0) await client.query('INSERT INTO kandinsky_schema (version) VALUES ($1)', [MIGRATIONS.length]);
      else await client.query('UPDATE kandinsky_schema SET version = $1', [MIGRATIONS.length]);
    });
  }

  /** One connection of its own LISTENs: pooled ones come and go. */
  async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL || message.payload === undefined || this.#ownBackends.has(message.processId)) return;
      this.#notify([message.payload]);
    });
    client.on('error', () => this.#relisten(client));
    client.on('end', () => this.#relisten(client));
    await client.connect();
    await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    if (this.#closed) await client.end();
    else this.#listenClient = client;
  }

  /** After a broken LISTEN connection (server restart, network): listen again until it works or the store closes. */
  #relisten(broken: pg.Client): void {
    if (this.#closed || this.#listenClient !== broken) return;
    this.#listenClient = undefined;
    broken.end().catch(() => {});
    const retry = () => {
      if (!this.#closed) this.listen().catch(() => setTimeout(retry, RELISTEN_DELAY_MS).unref());
    };
    setTimeout(retry, RELISTEN_DELAY_MS).unref();
  }

  async createPrediction(p: PredictionRecord, maxQueue?: number): Promise<boolean> {
    checkNewPrediction(p);
    const created = await this.#transaction('create a prediction', async (client) => {
      if (maxQueue !== undefined) {
        // Serialises the creates that check the queue's length, across API processes, so count and insert agree.
        await client.query('SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK]);
        const waiting = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM predictions WHERE status = 'starting'`);
        if (waiting.rows[0].n >= maxQueue) return false;
      }
      await client.query(
        `INSERT INTO predictions (id, account, model, version, input, status, logs, output, error, created_at, started_at, completed_at,
           webhook, webhook_events_filter, stream, secret, cancel_requested, data_removed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
        [
          p.id, p.account, p.model, p.version, JSON.stringify(p.input), p.status, p.logs,
          p.output === null ? null : JSON.stringify(p.output), p.error, p.createdAt, p.startedAt, p.completedAt, p.webhook,
          p.webhookEventsFilter === null ? null : JSON.stringify(p.webhookEventsFilter), p.stream, p.secret, p.cancelRequested, p.dataRemoved,
        ],
      );
      return true;
    });
    if (created) this.#notify([p.id]);
    return created;
  }

  async getPrediction(id: string): Promise<PredictionRecord | undefined> {
    const { rows } = await this.#query<PredictionRow>('read a prediction', `SELECT ${PREDICTION_COLUMNS} FROM predictions WHERE id = $1`, [id]);
    return rows.length === 0 ? undefined : toRecord(rows[0]);
  }

  async listPredictions(account: string, query: ListQuery): Promise<ListPage> {
    const after = query.createdAfter === undefined ? null : canonicalTimestamp(query.createdAfter, 'created_after');
    const before = query.createdBefore === undefined ? null : canonicalTimestamp(query.createdBefore, 'created_before');
    const filter = `account = $1 AND ($2::text IS NULL OR created_at >= $2) AND ($3::text IS NULL OR created_at < $3)`;
    const keyset = async (sql: string, key: Keyset | null, limit: number) => {
      const { rows } = await this.#query<PredictionRow>('list predictions', sql, [account, after, before, key?.createdAt ?? null, key?.id ?? null, limit]);
      return rows.map(toRecord);
    };
    const page = await keysetPage(
      {
        older: (key, limit) =>
          keyset(
            `SELECT ${PREDICTION_COLUMNS} FROM predictions
             WHERE ${filter} AND ($4::text IS NULL OR (created_at, id) < ($4, $5)) ORDER BY created_at DESC, id DESC LIMIT $6`,
            key,
            limit,
          ),
        newer: (key, limit) =>
          keyset(
            `SELECT ${PREDICTION_COLUMNS} FROM predictions
             WHERE ${filter} AND (created_at, id) > ($4, $5) ORDER BY created_at ASC, id ASC LIMIT $6`,
            key,
            limit,
          ),
      },
      query.cursor,
      query.limit,
    );
    return { results: page.rows, next: page.next, previous: page.previous };
  }

  async cancelPrediction(id: string): Promise<PredictionRecord | undefined> {
    const { rows } = await this.#query<PredictionRow>(
      'cancel a prediction',
      `UPDATE predictions SET
         status = CASE WHEN status = 'starting' THEN 'canceled' ELSE status END,
         completed_at = CASE WHEN status = 'starting' THEN ${COMPLETED_AT} ELSE completed_at END,
         cancel_requested = (status = 'processing')
       WHERE id = $1 AND (status = 'starting' OR (status = 'processing' AND NOT cancel_requested))
       RETURNING ${PREDICTION_COLUMNS}`,
      [id],
    );
    if (rows.length === 0) return this.getPrediction(id);
    this.#notify([id]);
    return toRecord(rows[0]);
  }

  async claimNext(worker: string, leaseMs: number): Promise<PredictionRecord | undefined> {
    // SKIP LOCKED: a row another worker is claiming right now is passed over, never waited for nor taken twice.
    const { rows } = await this.#query<PredictionRow>(
      'claim a prediction',
      `UPDATE predictions SET status = 'processing', started_at = ${STARTED_AT}, lease_worker = $1, lease_expires_at = ${NOW_MS} + $2
       WHERE id = (SELECT id FROM predictions WHERE status = 'starting' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING ${PREDICTION_COLUMNS}`,
      [worker, Math.round(leaseMs)],
    );
    if (rows.length === 0) return undefined;
    this.#notify([rows[0].id]);
    return toRecord(rows[0]);
  }

  async renewLease(predictionId: string, worker: string, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.#query(
      'renew a lease',
      `UPDATE predictions SET lease_expires_at = ${NOW_MS} + $3 WHERE id = $1 AND status = 'processing' AND lease_worker = $2`,
      [predictionId, worker, Math.round(leaseMs)],
    );
    return rowCount === 1;
  }

  async appendLogs(predictionId: string, worker: string, text: string): Promise<void> {
    const { rowCount } = await this.#query(
      'append logs',
      `UPDATE predictions SET logs = logs || $3 WHERE id = $1 AND status = 'processing' AND lease_worker = $2`,
      [predictionId, worker, text],
    );
    if (rowCount !== 1) throw this.#leaseLost(predictionId, worker);
    this.#notify([predictionId]);
  }

  async finishPrediction(
    predictionId: string,
    worker: string,
    result: { status: 'succeeded' | 'failed' | 'canceled'; error?: string; outputs?: readonly { file: OutputFile; bytes: Uint8Array }[] },
  ): Promise<void> {
    checkOutputs(predictionId, result.status, result.outputs);
    await this.#transaction('finish a prediction', async (client) => {
      // The row is locked first so the lease cannot lapse into a recovery between the check and the commit.
      const held = await client.query(`SELECT 1 FROM predictions WHERE id = $1 AND status = 'processing' AND lease_worker = $2 FOR UPDATE`, [
        predictionId,
        worker,
      ]);
      if (held.rows.length === 0) throw this.#leaseLost(predictionId, worker);
      for (const { file, bytes } of result.outputs ?? []) {
        await client.query(`INSERT INTO prediction_outputs (prediction_id, name, bytes) VALUES ($1, $2, $3)`, [predictionId, file.name, asBuffer(bytes)]);
      }
      await client.query(
        `UPDATE predictions SET status = $2, error = $3, output = $4, completed_at = ${COMPLETED_AT}, lease_worker = NULL, lease_expires_at = NULL
         WHERE id = $1`,
        [predictionId, result.status, result.error ?? null, result.outputs === undefined ? null : JSON.stringify(result.outputs.map((o) => o.file))],
      );
    });
    this.#notify([predictionId]);
  }

  /** `now` defaults to the database's clock, the one the leases were given by. */
  async recoverLapsedLeases(now?: number): Promise<readonly PredictionRecord[]> {
    const { rows } = await this.#query<PredictionRow>(
      'recover lapsed leases',
      `UPDATE predictions SET status = 'failed', error = $2, completed_at = ${COMPLETED_AT}, lease_worker = NULL, lease_expires_at = NULL
       WHERE status = 'processing' AND lease_expires_at < coalesce($1::bigint, ${NOW_MS})
       RETURNING ${PREDICTION_COLUMNS}`,
      [now === undefined ? null : Math.round(now), LEASE_LAPSED_ERROR],
    );
    this.#notify(rows.map((r) => r.id));
    return rows.map(toRecord);
  }

  async readOutput(predictionId: string, name: string): Promise<Uint8Array | undefined> {
    const { rows } = await this.#query<{ bytes: Buffer }>(
      'read an output file',
      `SELECT bytes FROM prediction_outputs WHERE prediction_id = $1 AND name = $2`,
      [predictionId, name],
    );
    return rows.length === 0 ? undefined : new Uint8Array(rows[0].bytes);
  }

  async createUpload(f: UploadedFile, bytes: Uint8Array): Promise<void> {
    checkNewUpload(f, bytes);
    await this.#query(
      'store an upload',
      `INSERT INTO uploads (id, account, name, content_type, size, sha256, md5, metadata, created_at, expires_at, bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [f.id, f.account, f.name, f.contentType, f.size, f.sha256, f.md5, JSON.stringify(f.metadata), f.createdAt, f.expiresAt, asBuffer(bytes)],
    );
  }

  async getUpload(id: string): Promise<{ file: UploadedFile; bytes: Uint8Array } | undefined> {
    const { rows } = await this.#query<UploadRow & { bytes: Buffer }>('read an upload', `SELECT ${UPLOAD_COLUMNS}, bytes FROM uploads WHERE id = $1`, [id]);
    return rows.length === 0 ? undefined : { file: toUpload(rows[0]), bytes: new Uint8Array(rows[0].bytes) };
  }

  async listUploads(account: string): Promise<readonly UploadedFile[]> {
    const { rows } = await this.#query<UploadRow>(
      'list uploads',
      `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE account = $1 ORDER BY created_at DESC, id DESC`,
      [account],
    );
    return rows.map(toUpload);
  }

  async deleteUpload(id: string): Promise<boolean> {
    const { rowCount } = await this.#query('delete an upload', `DELETE FROM uploads WHERE id = $1`, [id]);
    return rowCount === 1;
  }

  async enqueueWebhook(d: Omit<WebhookDelivery, 'attempts'>): Promise<void> {
    await this.#query(
      'queue a webhook delivery',
      `INSERT INTO webhook_deliveries (id, prediction_id, url, event, body, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [d.id, d.predictionId, d.url, d.event, d.body, Math.round(d.nextAttemptAt)],
    );
  }

  async dueWebhooks(now: number, limit: number): Promise<readonly WebhookDelivery[]> {
    // SKIP LOCKED: two API processes asking at once get different deliveries.
    const { rows } = await this.#query<DeliveryRow>(
      'read due webhook deliveries',
      `WITH due AS (
         SELECT id, next_attempt_at FROM webhook_deliveries WHERE next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE webhook_deliveries w SET next_attempt_at = $1 + $3 FROM due WHERE w.id = due.id
       RETURNING w.id, w.prediction_id, w.url, w.event, w.body, w.attempts, due.next_attempt_at`,
      [Math.round(now), limit, WEBHOOK_CLAIM_MS],
    );
    return rows.map(toDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
  }

  async webhookDelivered(id: string): Promise<void> {
    await this.#query('record a webhook delivery', `DELETE FROM webhook_deliveries WHERE id = $1`, [id]);
  }

  async webhookFailed(id: string, nextAttemptAt: number | null): Promise<void> {
    if (nextAttemptAt === null) {
      await this.#query('record a failed webhook delivery', `DELETE FROM webhook_deliveries WHERE id = $1`, [id]);
    } else {
      await this.#query(
        'record a failed webhook delivery',
        `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1`,
        [id, Math.round(nextAttemptAt)],
      );
    }
  }

  async removeDataOlderThan(cutoff: string): Promise<number> {
    const before = canonicalTimestamp(cutoff, 'cutoff');
    const ids = await this.#transaction('remove old prediction data', async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `UPDATE predictions SET input = '{}', output = NULL, logs = '', data_removed = true
         WHERE NOT data_removed AND completed_at < $1 RETURNING id`,
        [before],
      );
      const removed = rows.map((r) => r.id);
      await client.query(`DELETE FROM prediction_outputs WHERE prediction_id = ANY($1::text[])`, [removed]);
      return removed;
    });
    this.#notify(ids);
    return ids.length;
  }

  async serverKey(): Promise<Uint8Array> {
    // The first process to ask makes it; ON CONFLICT leaves the one made first, which every process then reads.
    await this.#query('make the server key', 'INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [SERVER_KEY, randomBytes(32)]);
    const { rows } = await this.#query<{ value: Buffer }>('read the server key', 'SELECT value FROM server_keys WHERE name = $1', [SERVER_KEY]);
    return new Uint8Array(rows[0].value);
  }

  onChange(listener: (predictionId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    const client = this.#listenClient;
    this.#listenClient = undefined;
    await Promise.all([client?.end().catch(() => {}), this.#pool.end().catch(() => {})]);
  }

  /** Listeners run on their own microtasks: one that throws neither undoes a commit nor silences the others. */
  #notify(ids: Iterable<string>): void {
    for (const id of ids) for (const listener of this.#listeners) queueMicrotask(() => listener(id));
  }

  #leaseLost(predictionId: string, worker: string): LeaseLostError {
    return new LeaseLostError(`${this.name}: worker ${worker} no longer holds prediction ${predictionId} (its lease lapsed, or it was finished)`);
  }

  #refusal(what: string, e: unknown): KandinskyError {
    if (e instanceof KandinskyError) return e;
    return new StoreError(`${this.name}: cannot ${what}: ${(e as Error).message}`, { cause: e });
  }

  async #query<R extends pg.QueryResultRow>(what: string, text: string, values: readonly unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new StoreError(`${this.name}: cannot ${what}: the store is closed`);
    try {
      return await this.#pool.query<R>(text, values as unknown[]);
    } catch (e) {
      throw this.#refusal(what, e);
    }
  }

  async #transaction<T>(what: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError(`${this.name}: cannot ${what}: the store is closed`);
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw this.#refusal(what, e);
    }
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw this.#refusal(what, e);
    } finally {
      client.release();
    }
  }
}

/** The server process behind a pooled connection: NOTIFYs name it as their sender. */
function backendOf(client: pg.PoolClient): number {
  return (client as unknown as { processID: number }).processID;
}
