-- mod_bulkio migration 007: an import's dry_run and atomic options (issue
-- 23). A dry run applies nothing; an atomic import applies all its records
-- at once or none. Idempotent.

ALTER TABLE bulkio_jobs
    ADD COLUMN IF NOT EXISTS dry_run boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS atomic  boolean NOT NULL DEFAULT false;

-- set in the transaction that applies an atomic import's records: a worker
-- that takes the job over then only finishes it (else it starts again from
-- the first record)
ALTER TABLE bulkio_jobs
    ADD COLUMN IF NOT EXISTS atomic_applied boolean NOT NULL DEFAULT false;
