-- mod_bulkio migration 004: counters that only go up, per-job counts by
-- error type, fair sharing between principals.

-- Running totals of records per (kind, resource, counter): counter is
-- 'processed', 'succeeded' or an error type. Written in the transaction of
-- each import batch (and with an export job's file); the retention sweep
-- leaves them alone, so /v1/metrics reads counters that never fall and
-- scans no error rows.
CREATE TABLE bulkio_record_totals (
    kind     text   NOT NULL CHECK (kind IN ('import', 'export')),
    resource text   NOT NULL
             CHECK (resource IN ('users', 'articles', 'comments')),
    counter  text   NOT NULL
             CHECK (counter IN ('processed', 'succeeded', 'PARSE_ERROR',
                                'VALIDATION_ERROR', 'FOREIGN_KEY_ERROR',
                                'DUPLICATE_ERROR')),
    value    bigint NOT NULL DEFAULT 0 CHECK (value >= 0),
    PRIMARY KEY (kind, resource, counter)
);

-- Failed records of a job by error type (error_count is their sum).
ALTER TABLE bulkio_jobs
    ADD COLUMN parse_errors       bigint NOT NULL DEFAULT 0,
    ADD COLUMN validation_errors  bigint NOT NULL DEFAULT 0,
    ADD COLUMN foreign_key_errors bigint NOT NULL DEFAULT 0,
    ADD COLUMN duplicate_errors   bigint NOT NULL DEFAULT 0;

UPDATE bulkio_jobs j
   SET parse_errors = e.parse, validation_errors = e.validation,
       foreign_key_errors = e.fk, duplicate_errors = e.dup
  FROM (SELECT job_id,
               count(*) FILTER (WHERE error_type = 'PARSE_ERROR') AS parse,
               count(*) FILTER (WHERE error_type = 'VALIDATION_ERROR')
                   AS validation,
               count(*) FILTER (WHERE error_type = 'FOREIGN_KEY_ERROR') AS fk,
               count(*) FILTER (WHERE error_type = 'DUPLICATE_ERROR') AS dup
          FROM bulkio_job_errors GROUP BY job_id) e
 WHERE e.job_id = j.id;

-- The totals start where the sums over the jobs still held stood, so the
-- counters do not reset at the upgrade.
INSERT INTO bulkio_record_totals (kind, resource, counter, value)
SELECT kind, resource, c.counter, sum(c.value)
  FROM bulkio_jobs,
       LATERAL (VALUES ('processed', total_records),
                       ('succeeded', success_count),
                       ('PARSE_ERROR', parse_errors),
                       ('VALIDATION_ERROR', validation_errors),
                       ('FOREIGN_KEY_ERROR', foreign_key_errors),
                       ('DUPLICATE_ERROR', duplicate_errors)) AS c(counter, value)
 WHERE kind = 'import' OR c.counter IN ('processed', 'succeeded')
 GROUP BY kind, resource, c.counter;

-- The claim counts running jobs per principal; BulkIOMaxJobsPerPrincipal
-- counts a principal's pending and running ones.
CREATE INDEX bulkio_jobs_active_principal_idx ON bulkio_jobs (principal)
    WHERE status IN ('pending', 'running');
