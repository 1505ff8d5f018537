-- mod_bulkio migration 006: an import's max_errors (issue 23): when its
-- failed records pass it, the job stops and ends failed. NULL: no limit.
-- Idempotent.

ALTER TABLE bulkio_jobs
    ADD COLUMN IF NOT EXISTS max_errors bigint CHECK (max_errors >= 0);
