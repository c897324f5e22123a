// The SQLite store's tables, versioned by `PRAGMA user_version`: MIGRATIONS[n] takes a database from
// version n to n + 1. A later change appends a migration; it never edits one that has shipped.

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE predictions (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    input TEXT,
    status TEXT NOT NULL CHECK (status IN ('starting', 'processing', 'succeeded', 'failed', 'canceled')),
    logs TEXT,
    output TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    completed_at TEXT,
    webhook TEXT,
    webhook_events_filter TEXT,
    stream INTEGER NOT NULL,
    secret TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    data_removed INTEGER NOT NULL DEFAULT 0,
    lease_worker TEXT,
    lease_expires_at INTEGER
  ) STRICT;
  CREATE INDEX predictions_by_account ON predictions (account, created_at, id);
  CREATE INDEX predictions_queue ON predictions (created_at, id) WHERE status = 'starting';
  CREATE INDEX predictions_leases ON predictions (lease_expires_at) WHERE status = 'processing';
  CREATE INDEX predictions_retention ON predictions (completed_at) WHERE data_removed = 0;

  -- Which predictions changed, for the other processes' onChange listeners; pruned after a few minutes.
  CREATE TABLE prediction_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    prediction_id TEXT NOT NULL,
    writer TEXT NOT NULL,
    at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT
  ) STRICT;
  CREATE INDEX uploads_by_account ON uploads (account, created_at, id);

  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    prediction_id TEXT NOT NULL,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id);

  -- Keys made once and shared by every process on this store (the webhook signing key).
  CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;
  `,
];
