-- mod_bulkio migration 008: bounded error storage (issue 29). An import
-- stores the entries of its failed records up to BulkIOMaxErrorRows
-- entries and BulkIOMaxErrorBytes bytes of record_data; past either, its
-- failed records are counted (error_count, errors_by_type) but not stored.
-- error_rows_stored and error_bytes_stored count what is stored (they grow
-- in the transaction that stores the entries, so a worker that takes the
-- job over goes on from them); errors_truncated_at and
-- errors_truncated_line name the first failed record without an entry
-- (NULL: none was left out). max_error_rows and max_error_bytes are the
-- caps, the server's when the job was created (NULL: none, as for the jobs
-- of before). Idempotent.

ALTER TABLE bulkio_jobs
    ADD COLUMN IF NOT EXISTS error_rows_stored bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS error_bytes_stored bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS errors_truncated_at bigint,
    ADD COLUMN IF NOT EXISTS errors_truncated_line bigint,
    ADD COLUMN IF NOT EXISTS max_error_rows bigint CHECK (max_error_rows >= 0),
    ADD COLUMN IF NOT EXISTS max_error_bytes bigint
        CHECK (max_error_bytes >= 0);

-- the jobs of before: what they stored
UPDATE bulkio_jobs j
   SET error_rows_stored = e.n, error_bytes_stored = e.bytes
  FROM (SELECT job_id, count(*) AS n,
               coalesce(sum(octet_length(record_data)), 0) AS bytes
          FROM bulkio_job_errors GROUP BY job_id) e
 WHERE j.id = e.job_id AND j.error_rows_stored = 0;
