-- Job lists (GET /v1/imports, GET /v1/exports/jobs): a principal's jobs of
-- one kind, newest first, paged by (created_at, id). This index serves the
-- list query as one range scan, whatever the number of jobs in the table.
CREATE INDEX IF NOT EXISTS bulkio_jobs_list_idx
    ON bulkio_jobs (principal, kind, created_at DESC, id DESC);
