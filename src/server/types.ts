// The contracts between the service's parts: the HTTP layer, the model catalogue, the store (SQLite or
// PostgreSQL) and the worker processes that run the pipelines. Wire formats are replicate-api.md's.

/** The five statuses the clients know (never `aborted`, replicate-api.md §6). */
export type PredictionStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';

export const TERMINAL_STATUSES: readonly PredictionStatus[] = ['succeeded', 'failed', 'canceled'];

export type WebhookEvent = 'start' | 'output' | 'logs' | 'completed';

/** One stored output file of a prediction (an image, or the prior's JSON). */
export interface OutputFile {
  /** `out-0.webp`: the name the hosted model gives it. */
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
}

/** A prediction as stored: what the wire JSON is made from (see prediction-json in the HTTP layer). */
export interface PredictionRecord {
  /** 26 lowercase base32 characters. */
  readonly id: string;
  /** The account (token) that created it: only it can see, list or cancel it. */
  readonly account: string;
  /** `ai-forever/kandinsky-2.2`, `kandinsky/kandinsky-2.2-img2img`, ... */
  readonly model: string;
  /** The 64-hex version id actually used. */
  readonly version: string;
  /** The request's `input`, echoed as sent. */
  readonly input: Record<string, unknown>;
  readonly status: PredictionStatus;
  readonly logs: string;
  /** Null until the outputs exist (all at once), and after failure or cancel. */
  readonly output: readonly OutputFile[] | null;
  readonly error: string | null;
  /** RFC 3339 UTC with microseconds and `Z`. */
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly webhook: string | null;
  readonly webhookEventsFilter: readonly WebhookEvent[] | null;
  /** The request had `"stream": true` (echoed). */
  readonly stream: boolean;
  /** Unguessable: names the stream URL and the output file URLs, which need no token. */
  readonly secret: string;
  /** Set by cancel while processing: the worker stops between two steps and marks it canceled. */
  readonly cancelRequested: boolean;
  /** Inputs, outputs and logs removed after the retention period. */
  readonly dataRemoved: boolean;
}

/** A worker's hold on a running prediction: renewed while it runs; a lapsed lease means the worker died. */
export interface Lease {
  readonly predictionId: string;
  readonly worker: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface ListPage {
  readonly results: readonly PredictionRecord[];
  /** Opaque keyset cursors, or null at either end. */
  readonly next: string | null;
  readonly previous: string | null;
}

export interface ListQuery {
  readonly cursor?: string;
  readonly limit?: number;
  readonly createdAfter?: string;
  readonly createdBefore?: string;
}

/** A pending webhook delivery (the outbox): `completed` ones are retried with backoff, the others sent once. */
export interface WebhookDelivery {
  readonly id: string;
  readonly predictionId: string;
  readonly url: string;
  readonly event: WebhookEvent;
  /** The prediction JSON as it was at that moment (the body sent, byte for byte, on every attempt). */
  readonly body: string;
  readonly attempts: number;
  /** Epoch milliseconds. */
  readonly nextAttemptAt: number;
}

/** A file uploaded through the files API (image inputs). */
export interface UploadedFile {
  readonly id: string;
  readonly account: string;
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
  readonly metadata: Record<string, unknown>;
  readonly createdAt: string;
  readonly expiresAt: string | null;
}

/**
 * Where predictions, their queue, output files, uploads and the webhook outbox live. SQLite (embedded,
 * default) and PostgreSQL (several API and worker processes on any machines) implement it alike.
 */
export interface Store {
  /** Adds a `starting` prediction to the queue; refuses (returns false) when `maxQueue` predictions already wait. */
  createPrediction(p: PredictionRecord, maxQueue?: number): Promise<boolean>;
  getPrediction(id: string): Promise<PredictionRecord | undefined>;
  /** The account's predictions, newest first. */
  listPredictions(account: string, query: ListQuery): Promise<ListPage>;
  /**
   * Cancel: a `starting` prediction becomes `canceled` at once; a `processing` one gets `cancelRequested`
   * (its worker finishes it); a terminal one is returned unchanged.
   */
  cancelPrediction(id: string): Promise<PredictionRecord | undefined>;

  /** The oldest `starting` prediction, now `processing` with `startedAt` and a lease for `worker`; atomically. */
  claimNext(worker: string, leaseMs: number): Promise<PredictionRecord | undefined>;
  /** Extends the lease; false when the worker lost it (it lapsed and was recovered). */
  renewLease(predictionId: string, worker: string, leaseMs: number): Promise<boolean>;
  /** Appends to the logs of a prediction this worker holds; rejects with LeaseLostError when it no longer holds it. */
  appendLogs(predictionId: string, worker: string, text: string): Promise<void>;
  /**
   * Ends a prediction this worker holds; output file bytes are stored with it, in one transaction (files first,
   * so a succeeded prediction always has whole files). Rejects with LeaseLostError when the worker no longer holds it.
   */
  finishPrediction(
    predictionId: string,
    worker: string,
    result: { status: 'succeeded' | 'failed' | 'canceled'; error?: string; outputs?: readonly { file: OutputFile; bytes: Uint8Array }[] },
  ): Promise<void>;
  /**
   * Predictions whose lease lapsed (their worker died): failed with a clear error. Returns them as failed, for
   * the caller to announce (webhooks) as a worker announces the predictions it finishes.
   */
  recoverLapsedLeases(now?: number): Promise<readonly PredictionRecord[]>;

  readOutput(predictionId: string, name: string): Promise<Uint8Array | undefined>;

  createUpload(f: UploadedFile, bytes: Uint8Array): Promise<void>;
  getUpload(id: string): Promise<{ file: UploadedFile; bytes: Uint8Array } | undefined>;
  listUploads(account: string): Promise<readonly UploadedFile[]>;
  deleteUpload(id: string): Promise<boolean>;

  enqueueWebhook(d: Omit<WebhookDelivery, 'attempts'>): Promise<void>;
  /**
   * The deliveries due at `now`, earliest first, each hidden from further calls (of any process) for
   * WEBHOOK_CLAIM_MS: the caller reports each with webhookDelivered or webhookFailed; one it never reports
   * (its process died) comes due again after the claim.
   */
  dueWebhooks(now: number, limit: number): Promise<readonly WebhookDelivery[]>;
  webhookDelivered(id: string): Promise<void>;
  /** Reschedules a failed `completed` delivery, or drops it after its last attempt. */
  webhookFailed(id: string, nextAttemptAt: number | null): Promise<void>;

  /**
   * Retention: the terminal predictions completed before `cutoff` (RFC 3339) lose their input, output
   * (files included) and logs and get `dataRemoved`. Returns how many.
   */
  removeDataOlderThan(cutoff: string): Promise<number>;

  /**
   * The server's signing key, made on first use and kept in the store, so that every API process on it (any
   * machine) derives the same webhook secrets. Always the same bytes for one store.
   */
  serverKey(): Promise<Uint8Array>;
  /**
   * Calls `listener` whenever a prediction changes (status, logs, output): wake-ups for waits and streams.
   * Changes made through other store instances and processes on the same data arrive too, a little later.
   */
  onChange(listener: (predictionId: string) => void): () => void;
  close(): Promise<void>;
}

/** How long dueWebhooks hides a delivery it returned: longer than one delivery attempt can take. */
export const WEBHOOK_CLAIM_MS = 30_000;

/** The name of the server's signing key among the store's keys (Store.serverKey). */
export const SERVER_KEY = 'server-key';

/** The error of a prediction whose worker stopped without finishing it (the lease rule: failed, never run again). */
export const LEASE_LAPSED_ERROR = 'the worker running this prediction stopped (lease expired); it was not retried';

/** One entry of a 422 body (replicate-api.md §5.1). */
export interface InvalidField {
  readonly type:
    | 'required' | 'additional_property_not_allowed' | 'invalid_type' | 'enum' | 'number_gte' | 'number_lte' | 'format'
    // gojsonschema's names for minItems/maxItems: a fuse's `weights` must match its entries.
    | 'array_min_items' | 'array_max_items';
  /** `""` for the body, `"input"` for a missing input key, `"input.<key>"` for a bad value. */
  readonly field: string;
  readonly description: string;
}

/** A version of a served model, as `GET /v1/models/{owner}/{name}/versions/{id}` returns it. */
export interface ModelVersion {
  /** 64 hex characters; for our own models the sha256 of the canonical JSON of the schema. */
  readonly id: string;
  readonly createdAt: string;
  readonly cogVersion: string;
  /** The Cog-style OpenAPI document (replicate-api.md §11). */
  readonly openapiSchema: Record<string, unknown>;
}
