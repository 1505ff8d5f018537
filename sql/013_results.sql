-- mod_bulkio migration 013: per-record import results (issue 24). One row
-- per batch of an import: its first record's index, how many records it
-- holds and their entries, compactly (src/bulkio_results.h: one line per
-- record with its index and line as deltas, its action, its external id
-- and, for a failure, its error type). A batch's row is written in the
-- transaction that applies the batch and moves the job's checkpoint, so a
-- batch rolled back (a worker that died) leaves no row and the run that
-- takes the job over writes it again: GET /v1/imports/{id}/results has one
-- entry per record, none missing or doubled. A dry run's rows are
-- committed as they come (what would happen) and deleted when it starts
-- again. They go with the job (ON DELETE CASCADE: the retention purge).
-- About 45 bytes a record before PostgreSQL's own compression of the
-- entries (TOAST). Idempotent.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS bulkio_job_results (
    job_id       bigint NOT NULL REFERENCES bulkio_jobs (id) ON DELETE CASCADE,
    first_record bigint NOT NULL,
    records      int    NOT NULL CHECK (records > 0),
    entries      text   NOT NULL,
    PRIMARY KEY (job_id, first_record)
);
