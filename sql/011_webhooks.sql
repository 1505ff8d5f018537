-- mod_bulkio migration 011: completion webhooks (issue 24). A job created
-- with callback_url has one row here; it waits until the job ends, then
-- the worker delivers the job's status document, at least once, retrying
-- with backoff. Senders claim due rows with FOR UPDATE SKIP LOCKED and a
-- lease, so a crash or a second server neither loses a delivery nor sends
-- it twice at once. Idempotent.

CREATE TABLE IF NOT EXISTS bulkio_webhooks (
    job_id           bigint      PRIMARY KEY
                     REFERENCES bulkio_jobs (id) ON DELETE CASCADE,
    event_id         uuid        NOT NULL UNIQUE,
    url              text        NOT NULL,
    base             text        NOT NULL,        -- the API's mount (/v1)
    state            text        NOT NULL DEFAULT 'waiting'
                     CHECK (state IN ('waiting', 'pending', 'sending',
                                      'delivered', 'failed')),
    body             text,                         -- fixed at the first try
    attempts         integer     NOT NULL DEFAULT 0,
    last_status      integer,                      -- HTTP status, or NULL
    last_error       text,
    due_since        timestamptz,                  -- when the job ended
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    lease_owner      text,
    lease_expires_at timestamptz
);

CREATE INDEX IF NOT EXISTS bulkio_webhooks_due_idx
    ON bulkio_webhooks (next_attempt_at) WHERE state IN ('pending', 'sending');

-- A job's end makes its delivery due, in the same transaction, whichever
-- statement ends it (a worker, a cancel, the give-up after many attempts).
CREATE OR REPLACE FUNCTION bulkio_webhook_due() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bulkio_webhooks
       SET state = 'pending', due_since = now(), next_attempt_at = now()
     WHERE job_id = NEW.id AND state = 'waiting';
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER bulkio_webhook_due
    AFTER UPDATE OF status ON bulkio_jobs
    FOR EACH ROW
    WHEN (NEW.status IN ('completed', 'failed', 'canceled')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION bulkio_webhook_due();
