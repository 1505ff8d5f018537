-- mod_bulkio migration 002: indexes for the worker's periodic sweeps
-- (BulkIOJobRetention, Idempotency-Key TTL, orphaned spool files).

-- finished jobs by completion time
CREATE INDEX bulkio_jobs_finished_idx ON bulkio_jobs (completed_at)
    WHERE status IN ('completed', 'failed', 'canceled');

-- spool files still named by a job
CREATE INDEX bulkio_jobs_source_path_idx ON bulkio_jobs (source_path)
    WHERE source_path IS NOT NULL;

-- keys past their TTL
CREATE INDEX bulkio_idempotency_keys_expires_idx
    ON bulkio_idempotency_keys (expires_at);
