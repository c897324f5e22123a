// The Store on PostgreSQL, for any number of API and worker processes on any machines sharing one queue
// (DESIGN.md "The service", "Beyond one machine"). Workers claim with `FOR UPDATE SKIP LOCKED`, so concurrent
// claims never wait on each other nor take the same row; leases are judged on the database's clock, the one
// clock every machine shares; a trigger NOTIFYs the prediction id on every visible change, inside the
// changing transaction, so a listener never wakes before the change (outputs included) is readable.
import pg from 'pg';
import { KandinskyError } from '../../errors.js';
import type {
  ListPage,
  ListQuery,
  OutputFile,
  PredictionRecord,
  PredictionStatus,
  Store,
  UploadedFile,
  WebhookDelivery,
  WebhookEvent,
} from '../types.js';

const CHANNEL = 'kandinsky_prediction_changed';
const DEFAULT_PAGE_SIZE = 100;
/** How long a delivery handed out by dueWebhooks stays hidden from the other API processes. */
const WEBHOOK_RESERVATION_MS = 60_000;
/** Wait before listening again after the LISTEN connection broke. */
const RELISTEN_DELAY_MS = 1000;

const NOW_ISO = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

export const LEASE_LAPSED_ERROR =
  'The worker running this prediction stopped renewing its lease (it was killed or lost its connection); the prediction was not run again.';

/** The store's database could not be reached or refused what was asked. */
export class StoreError extends KandinskyError {}

// One lock key for schema creation and one for the queue-length check, in the advisory-lock space.
const SCHEMA_LOCK = 7_261_001;
const QUEUE_LOCK = 7_261_002;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS predictions (
  id text PRIMARY KEY,
  seq bigserial NOT NULL,
  account text NOT NULL,
  model text NOT NULL,
  version text NOT NULL,
  input text NOT NULL,
  status text NOT NULL,
  logs text NOT NULL,
  output text,
  error text,
  created_at text NOT NULL,
  created_ts timestamptz NOT NULL,
  started_at text,
  completed_at text,
  webhook text,
  webhook_events_filter text,
  stream boolean NOT NULL,
  secret text NOT NULL,
  cancel_requested boolean NOT NULL DEFAULT false,
  data_removed boolean NOT NULL DEFAULT false,
  lease_worker text,
  lease_expires_at bigint
);
CREATE INDEX IF NOT EXISTS predictions_queue ON predictions (created_ts, seq) WHERE status = 'starting';
CREATE INDEX IF NOT EXISTS predictions_leases ON predictions (lease_expires_at) WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS predictions_by_account ON predictions (account, created_ts DESC, id DESC);

CREATE TABLE IF NOT EXISTS prediction_outputs (
  prediction_id text NOT NULL REFERENCES predictions (id) ON DELETE CASCADE,
  name text NOT NULL,
  bytes bytea NOT NULL,
  PRIMARY KEY (prediction_id, name)
);

CREATE TABLE IF NOT EXISTS uploads (
  id text PRIMARY KEY,
  account text NOT NULL,
  name text NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  md5 text NOT NULL,
  metadata text NOT NULL,
  created_at text NOT NULL,
  expires_at text,
  bytes bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_account ON uploads (account, created_at DESC);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id text PRIMARY KEY,
  prediction_id text NOT NULL,
  url text NOT NULL,
  event text NOT NULL,
  body text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at);

CREATE OR REPLACE FUNCTION kandinsky_notify_prediction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${CHANNEL}', NEW.id);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS predictions_created ON predictions;
CREATE TRIGGER predictions_created AFTER INSERT ON predictions
  FOR EACH ROW EXECUTE FUNCTION kandinsky_notify_prediction();
DROP TRIGGER IF EXISTS predictions_changed ON predictions;
-- A lease renewal alone changes nothing a client sees: no wake-up for it.
CREATE TRIGGER predictions_changed AFTER UPDATE ON predictions
  FOR EACH ROW WHEN (
    (OLD.status, OLD.logs, OLD.output, OLD.error, OLD.started_at, OLD.completed_at, OLD.cancel_requested, OLD.data_removed, OLD.input)
    IS DISTINCT FROM
    (NEW.status, NEW.logs, NEW.output, NEW.error, NEW.started_at, NEW.completed_at, NEW.cancel_requested, NEW.data_removed, NEW.input)
  ) EXECUTE FUNCTION kandinsky_notify_prediction();
`;

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

/** A keyset position in an account's list, newest first; `older` pages go on with `next`. */
interface Cursor {
  readonly direction: 'older' | 'newer';
  readonly createdAt: string;
  readonly id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.direction === 'older' ? 'n' : 'p', c.createdAt, c.id])).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parts = undefined;
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 3 ||
    (parts[0] !== 'n' && parts[0] !== 'p') ||
    typeof parts[1] !== 'string' ||
    typeof parts[2] !== 'string' ||
    Number.isNaN(Date.parse(parts[1]))
  ) {
    throw new StoreError(`cursor: expected a cursor from a previous page's next or previous, got ${JSON.stringify(text)}`);
  }
  return { direction: parts[0] === 'n' ? 'older' : 'newer', createdAt: parts[1], id: parts[2] };
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

function leaseLost(predictionId: string, worker: string): StoreError {
  return new StoreError(
    `prediction ${predictionId}: worker ${worker} no longer holds it (its lease lapsed and it was recovered, or it was never claimed by this worker)`,
  );
}

export interface PostgresStoreOptions {
  /** Connections in the pool (besides the one that LISTENs); default 10. */
  readonly poolSize?: number;
}

export class PostgresStore implements Store {
  private readonly listeners = new Set<(predictionId: string) => void>();
  private listenClient: pg.Client | undefined;
  private closed = false;

  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
  ) {}

  /** Connects, creates the tables when missing (once, whichever process comes first) and starts listening. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle pooled connection that breaks is replaced at its next use; the event must not crash the process.
    pool.on('error', () => {});
    const store = new PostgresStore(url, pool);
    try {
      await store.transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await client.query(SCHEMA);
      });
      await store.listen();
    } catch (error) {
      await store.close();
      throw error instanceof StoreError ? error : new StoreError(`PostgreSQL store ${redacted(url)}: ${(error as Error).message}`, { cause: error });
    }
    return store;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || message.payload === undefined) return;
      for (const listener of this.listeners) listener(message.payload);
    });
    client.on('error', () => this.relisten(client));
    client.on('end', () => this.relisten(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listenClient = client;
  }

  /** After a broken LISTEN connection (server restart, network): listen again until it works or the store closes. */
  private relisten(broken: pg.Client): void {
    if (this.closed || this.listenClient !== broken) return;
    this.listenClient = undefined;
    broken.end().catch(() => {});
    const retry = () => {
      if (this.closed) return;
      this.listen().catch(() => setTimeout(retry, RELISTEN_DELAY_MS).unref());
    };
    setTimeout(retry, RELISTEN_DELAY_MS).unref();
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values as unknown[]);
    } catch (error) {
      throw new StoreError(`PostgreSQL store ${redacted(this.url)}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new StoreError(`PostgreSQL store ${redacted(this.url)}: ${(error as Error).message}`, { cause: error });
    }
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if (error instanceof KandinskyError) throw error;
      throw new StoreError(`PostgreSQL store ${redacted(this.url)}: ${(error as Error).message}`, { cause: error });
    } finally {
      client.release();
    }
  }

  async createPrediction(p: PredictionRecord, maxQueue?: number): Promise<boolean> {
    return this.transaction(async (client) => {
      if (maxQueue !== undefined) {
        // Serialises creates across API processes so that the count and the insert agree.
        await client.query('SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK]);
        const waiting = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM predictions WHERE status = 'starting'`);
        if (waiting.rows[0].n >= maxQueue) return false;
      }
      await client.query(
        `INSERT INTO predictions (id, account, model, version, input, status, logs, output, error, created_at, created_ts,
           started_at, completed_at, webhook, webhook_events_filter, stream, secret, cancel_requested, data_removed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text, $10::timestamptz, $11, $12, $13, $14, $15, $16, $17, $18)`,
        [
          p.id,
          p.account,
          p.model,
          p.version,
          JSON.stringify(p.input),
          p.status,
          p.logs,
          p.output === null ? null : JSON.stringify(p.output),
          p.error,
          p.createdAt,
          p.startedAt,
          p.completedAt,
          p.webhook,
          p.webhookEventsFilter === null ? null : JSON.stringify(p.webhookEventsFilter),
          p.stream,
          p.secret,
          p.cancelRequested,
          p.dataRemoved,
        ],
      );
      return true;
    });
  }

  async getPrediction(id: string): Promise<PredictionRecord | undefined> {
    const { rows } = await this.query<PredictionRow>(`SELECT ${PREDICTION_COLUMNS} FROM predictions WHERE id = $1`, [id]);
    return rows.length === 0 ? undefined : toRecord(rows[0]);
  }

  async listPredictions(account: string, query: ListQuery): Promise<ListPage> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const filters = ['account = $1'];
    const values: unknown[] = [account];
    if (query.createdAfter !== undefined) {
      values.push(query.createdAfter);
      filters.push(`created_ts > $${values.length}::timestamptz`);
    }
    if (query.createdBefore !== undefined) {
      values.push(query.createdBefore);
      filters.push(`created_ts < $${values.length}::timestamptz`);
    }
    const where = filters.join(' AND ');
    // The keyset comparison with the two values that follow the filters' own.
    const beyond = (direction: Cursor['direction']) =>
      `(created_ts, id) ${direction === 'older' ? '<' : '>'} ($${values.length + 1}::timestamptz, $${values.length + 2})`;
    const order = (direction: Cursor['direction']) => (direction === 'older' ? 'created_ts DESC, id DESC' : 'created_ts ASC, id ASC');

    const direction = cursor?.direction ?? 'older';
    const pageValues = cursor === undefined ? [...values] : [...values, cursor.createdAt, cursor.id];
    const pageWhere = cursor === undefined ? where : `${where} AND ${beyond(direction)}`;
    const { rows } = await this.query<PredictionRow>(
      `SELECT ${PREDICTION_COLUMNS} FROM predictions WHERE ${pageWhere} ORDER BY ${order(direction)} LIMIT ${limit + 1}`,
      pageValues,
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    if (direction === 'newer') page.reverse();
    const results = page.map(toRecord);
    if (results.length === 0) return { results, next: null, previous: null };

    const first = results[0];
    const last = results[results.length - 1];
    const exists = async (side: Cursor['direction'], from: PredictionRecord) => {
      const found = await this.query(`SELECT 1 FROM predictions WHERE ${where} AND ${beyond(side)} LIMIT 1`, [
        ...values,
        from.createdAt,
        from.id,
      ]);
      return found.rows.length > 0;
    };
    const hasOlder = direction === 'older' ? more : await exists('older', last);
    const hasNewer = direction === 'newer' ? more : cursor !== undefined && (await exists('newer', first));
    return {
      results,
      next: hasOlder ? encodeCursor({ direction: 'older', createdAt: last.createdAt, id: last.id }) : null,
      previous: hasNewer ? encodeCursor({ direction: 'newer', createdAt: first.createdAt, id: first.id }) : null,
    };
  }

  async cancelPrediction(id: string): Promise<PredictionRecord | undefined> {
    const { rows } = await this.query<PredictionRow>(
      `UPDATE predictions SET
         status = CASE WHEN status = 'starting' THEN 'canceled' ELSE status END,
         completed_at = CASE WHEN status = 'starting' THEN ${NOW_ISO} ELSE completed_at END,
         cancel_requested = (status = 'processing')
       WHERE id = $1 AND status IN ('starting', 'processing')
       RETURNING ${PREDICTION_COLUMNS}`,
      [id],
    );
    return rows.length > 0 ? toRecord(rows[0]) : this.getPrediction(id);
  }

  async claimNext(worker: string, leaseMs: number): Promise<PredictionRecord | undefined> {
    const { rows } = await this.query<PredictionRow>(
      `UPDATE predictions SET status = 'processing', started_at = ${NOW_ISO}, lease_worker = $1, lease_expires_at = ${NOW_MS} + $2
       WHERE id = (
         SELECT id FROM predictions WHERE status = 'starting' ORDER BY created_ts, seq LIMIT 1 FOR UPDATE SKIP LOCKED
       )
       RETURNING ${PREDICTION_COLUMNS}`,
      [worker, Math.round(leaseMs)],
    );
    return rows.length === 0 ? undefined : toRecord(rows[0]);
  }

  async renewLease(predictionId: string, worker: string, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.query(
      `UPDATE predictions SET lease_expires_at = ${NOW_MS} + $3
       WHERE id = $1 AND lease_worker = $2 AND status = 'processing'`,
      [predictionId, worker, Math.round(leaseMs)],
    );
    return rowCount === 1;
  }

  async appendLogs(predictionId: string, worker: string, text: string): Promise<void> {
    const { rowCount } = await this.query(
      `UPDATE predictions SET logs = logs || $3 WHERE id = $1 AND lease_worker = $2 AND status = 'processing'`,
      [predictionId, worker, text],
    );
    if (rowCount !== 1) throw leaseLost(predictionId, worker);
  }

  async finishPrediction(
    predictionId: string,
    worker: string,
    result: { status: 'succeeded' | 'failed' | 'canceled'; error?: string; outputs?: readonly { file: OutputFile; bytes: Uint8Array }[] },
  ): Promise<void> {
    const outputs = result.status === 'succeeded' ? (result.outputs ?? []) : [];
    await this.transaction(async (client) => {
      // The outputs go in first: the row's update fires the NOTIFY, and both commit together.
      const held = await client.query(
        `SELECT 1 FROM predictions WHERE id = $1 AND lease_worker = $2 AND status = 'processing' FOR UPDATE`,
        [predictionId, worker],
      );
      if (held.rows.length === 0) throw leaseLost(predictionId, worker);
      for (const { file, bytes } of outputs) {
        await client.query(
          `INSERT INTO prediction_outputs (prediction_id, name, bytes) VALUES ($1, $2, $3)
           ON CONFLICT (prediction_id, name) DO UPDATE SET bytes = EXCLUDED.bytes`,
          [predictionId, file.name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
        );
      }
      await client.query(
        `UPDATE predictions SET status = $2, error = $3, output = $4, completed_at = ${NOW_ISO},
           lease_worker = NULL, lease_expires_at = NULL
         WHERE id = $1`,
        [
          predictionId,
          result.status,
          result.status === 'failed' ? (result.error ?? null) : null,
          result.status === 'succeeded' ? JSON.stringify(outputs.map((o) => o.file)) : null,
        ],
      );
    });
  }

  async recoverLapsedLeases(now?: number): Promise<number> {
    const { rowCount } = await this.query(
      `UPDATE predictions SET status = 'failed', error = $2, completed_at = ${NOW_ISO}, lease_worker = NULL, lease_expires_at = NULL
       WHERE status = 'processing' AND lease_expires_at <= coalesce($1::bigint, ${NOW_MS})`,
      [now === undefined ? null : Math.round(now), LEASE_LAPSED_ERROR],
    );
    return rowCount ?? 0;
  }

  async readOutput(predictionId: string, name: string): Promise<Uint8Array | undefined> {
    const { rows } = await this.query<{ bytes: Buffer }>(
      `SELECT bytes FROM prediction_outputs WHERE prediction_id = $1 AND name = $2`,
      [predictionId, name],
    );
    return rows.length === 0 ? undefined : new Uint8Array(rows[0].bytes);
  }

  async createUpload(f: UploadedFile, bytes: Uint8Array): Promise<void> {
    await this.query(
      `INSERT INTO uploads (id, account, name, content_type, size, sha256, md5, metadata, created_at, expires_at, bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        f.id,
        f.account,
        f.name,
        f.contentType,
        f.size,
        f.sha256,
        f.md5,
        JSON.stringify(f.metadata),
        f.createdAt,
        f.expiresAt,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ],
    );
  }

  async getUpload(id: string): Promise<{ file: UploadedFile; bytes: Uint8Array } | undefined> {
    const { rows } = await this.query<UploadRow & { bytes: Buffer }>(`SELECT * FROM uploads WHERE id = $1`, [id]);
    return rows.length === 0 ? undefined : { file: toUpload(rows[0]), bytes: new Uint8Array(rows[0].bytes) };
  }

  async listUploads(account: string): Promise<readonly UploadedFile[]> {
    const { rows } = await this.query<UploadRow>(
      `SELECT id, account, name, content_type, size, sha256, md5, metadata, created_at, expires_at
       FROM uploads WHERE account = $1 ORDER BY created_at DESC, id DESC`,
      [account],
    );
    return rows.map(toUpload);
  }

  async deleteUpload(id: string): Promise<boolean> {
    const { rowCount } = await this.query(`DELETE FROM uploads WHERE id = $1`, [id]);
    return rowCount === 1;
  }

  async enqueueWebhook(d: Omit<WebhookDelivery, 'attempts'>): Promise<void> {
    await this.query(
      `INSERT INTO webhook_deliveries (id, prediction_id, url, event, body, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [d.id, d.predictionId, d.url, d.event, d.body, Math.round(d.nextAttemptAt)],
    );
  }

  /**
   * The deliveries due at `now`, oldest first. Each one handed out is hidden from other callers for a while, so
   * that the API processes sharing this database do not all send it; a sender that dies lets it come due again.
   */
  async dueWebhooks(now: number, limit: number): Promise<readonly WebhookDelivery[]> {
    const { rows } = await this.query<{
      id: string;
      prediction_id: string;
      url: string;
      event: WebhookEvent;
      body: string;
      attempts: number;
      next_attempt_at: string;
    }>(
      `WITH due AS (
         SELECT id, next_attempt_at FROM webhook_deliveries WHERE next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE webhook_deliveries w SET next_attempt_at = $1 + $3 FROM due WHERE w.id = due.id
       RETURNING w.id, w.prediction_id, w.url, w.event, w.body, w.attempts, due.next_attempt_at`,
      [Math.round(now), limit, WEBHOOK_RESERVATION_MS],
    );
    return rows
      .map((r) => ({
        id: r.id,
        predictionId: r.prediction_id,
        url: r.url,
        event: r.event,
        body: r.body,
        attempts: r.attempts,
        nextAttemptAt: Number(r.next_attempt_at),
      }))
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
  }

  async webhookDelivered(id: string): Promise<void> {
    await this.query(`DELETE FROM webhook_deliveries WHERE id = $1`, [id]);
  }

  async webhookFailed(id: string, nextAttemptAt: number | null): Promise<void> {
    if (nextAttemptAt === null) {
      await this.query(`DELETE FROM webhook_deliveries WHERE id = $1`, [id]);
    } else {
      await this.query(`UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1`, [
        id,
        Math.round(nextAttemptAt),
      ]);
    }
  }

  onChange(listener: (predictionId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    const client = this.listenClient;
    this.listenClient = undefined;
    await Promise.all([client?.end().catch(() => {}), this.pool.end().catch(() => {})]);
  }
}
