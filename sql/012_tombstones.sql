-- mod_bulkio migration 012: tombstones (issue 24). A row that a
-- mode=delete import removes leaves its resource, external id and time of
-- deletion here, written by the same statement as the delete (so a dry run
-- or an atomic import rolled back leaves none), with the job and principal
-- that deleted it. GET /v1/exports?include_deleted=true adds them;
-- housekeeping removes those older than BulkIOTombstoneRetention.
-- Idempotent.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS bulkio_tombstones (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource    text        NOT NULL
                CHECK (resource IN ('users', 'articles', 'comments')),
    external_id text        NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now(),
    job_id      bigint,     -- bulkio_jobs.id (kept when the job row goes)
    principal   text
);

-- incremental exports: a resource's tombstones after a time, in order
CREATE INDEX IF NOT EXISTS bulkio_tombstones_resource_deleted
    ON bulkio_tombstones (resource, deleted_at);
