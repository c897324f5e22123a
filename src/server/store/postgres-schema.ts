// The PostgreSQL store's tables, versioned in `kandinsky_schema`: MIGRATIONS[n] takes a database from version
// n to n + 1. A later change appends a migration; it never edits one that has shipped. Key columns compare
// bytewise (COLLATE "C"): the canonical timestamps and ids order as strings, whatever the database's locale.

/** The channel the trigger NOTIFYs with the id of a prediction that changed. */
export const CHANGE_CHANNEL = 'kandinsky_prediction_changed';

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE predictions (
    id text COLLATE "C" PRIMARY KEY,
    account text NOT NULL,
    model text NOT NULL,
    version text NOT NULL,
    input text NOT NULL,
    status text NOT NULL CHECK (status IN ('starting', 'processing', 'succeeded', 'failed', 'canceled')),
    logs text NOT NULL,
    output text,
    error text,
    created_at text COLLATE "C" NOT NULL,
    started_at text COLLATE "C",
    completed_at text COLLATE "C",
    webhook text,
    webhook_events_filter text,
    stream boolean NOT NULL,
    secret text NOT NULL,
    cancel_requested boolean NOT NULL DEFAULT false,
    data_removed boolean NOT NULL DEFAULT false,
    lease_worker text,
    lease_expires_at bigint
  );
  CREATE INDEX predictions_by_account ON predictions (account, created_at, id);
  CREATE INDEX predictions_queue ON predictions (created_at, id) WHERE status = 'starting';
  CREATE INDEX predictions_leases ON predictions (lease_expires_at) WHERE status = 'processing';
  CREATE INDEX predictions_retention ON predictions (completed_at) WHERE NOT data_removed;

  CREATE TABLE prediction_outputs (
    prediction_id text COLLATE "C" NOT NULL REFERENCES predictions (id) ON DELETE CASCADE,
    name text NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (prediction_id, name)
  );

  CREATE TABLE uploads (
    id text COLLATE "C" PRIMARY KEY,
    account text NOT NULL,
    name text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    md5 text NOT NULL,
    metadata text NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    expires_at text,
    bytes bytea NOT NULL
  );
  CREATE INDEX uploads_by_account ON uploads (account, created_at, id);

  CREATE TABLE webhook_deliveries (
    id text COLLATE "C" PRIMARY KEY,
    prediction_id text NOT NULL,
    url text NOT NULL,
    event text NOT NULL,
    body text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id);

  -- Every change a client can see wakes the listeners of every process, from inside the changing transaction:
  -- the NOTIFY is delivered at commit, so nobody wakes before the change (outputs included) is readable.
  -- A lease renewal alone changes nothing a client sees and wakes nobody.
  CREATE FUNCTION kandinsky_notify_prediction() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('${CHANGE_CHANNEL}', NEW.id);
    RETURN NULL;
  END $$;
  CREATE TRIGGER predictions_created AFTER INSERT ON predictions
    FOR EACH ROW EXECUTE FUNCTION kandinsky_notify_prediction();
  CREATE TRIGGER predictions_changed AFTER UPDATE ON predictions
    FOR EACH ROW WHEN (
      (OLD.status, OLD.logs, OLD.output, OLD.error, OLD.started_at, OLD.completed_at, OLD.cancel_requested, OLD.data_removed, OLD.input)
      IS DISTINCT FROM
      (NEW.status, NEW.logs, NEW.output, NEW.error, NEW.started_at, NEW.completed_at, NEW.cancel_requested, NEW.data_removed, NEW.input)
    ) EXECUTE FUNCTION kandinsky_notify_prediction();

  CREATE TABLE server_keys (
    name text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
  );
  `,
];
