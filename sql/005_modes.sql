-- mod_bulkio migration 005: import modes (issue 23). A job's mode, what
-- its applied records did (inserted + updated + unchanged + deleted =
-- success_count), and the error type NOT_FOUND_ERROR. Idempotent: every
-- statement can run again.

SET client_min_messages = warning;

ALTER TABLE bulkio_jobs
    ADD COLUMN IF NOT EXISTS mode            text,
    ADD COLUMN IF NOT EXISTS inserted_count  bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS updated_count   bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS unchanged_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS deleted_count   bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS not_found_errors bigint NOT NULL DEFAULT 0;

-- imports made before modes wrote as mode replace does
UPDATE bulkio_jobs SET mode = 'replace'
 WHERE kind = 'import' AND mode IS NULL;

ALTER TABLE bulkio_jobs DROP CONSTRAINT IF EXISTS bulkio_jobs_mode_check;
ALTER TABLE bulkio_jobs ADD CONSTRAINT bulkio_jobs_mode_check
    CHECK ((kind = 'import'
            AND mode IN ('upsert', 'insert', 'update', 'replace', 'delete'))
           OR mode IS NULL);

ALTER TABLE bulkio_job_errors
    DROP CONSTRAINT IF EXISTS bulkio_job_errors_error_type_check;
ALTER TABLE bulkio_job_errors ADD CONSTRAINT bulkio_job_errors_error_type_check
    CHECK (error_type IN ('PARSE_ERROR', 'VALIDATION_ERROR',
                          'FOREIGN_KEY_ERROR', 'DUPLICATE_ERROR',
                          'NOT_FOUND_ERROR'));

ALTER TABLE bulkio_record_totals
    DROP CONSTRAINT IF EXISTS bulkio_record_totals_counter_check;
ALTER TABLE bulkio_record_totals ADD CONSTRAINT bulkio_record_totals_counter_check
    CHECK (counter IN ('processed', 'succeeded', 'PARSE_ERROR',
                       'VALIDATION_ERROR', 'FOREIGN_KEY_ERROR',
                       'DUPLICATE_ERROR', 'NOT_FOUND_ERROR'));
