-- mod_bulkio migration 009: what job documents show of a job's source, and
-- the list of a principal's jobs across kinds (GET /v1/jobs).

SET client_min_messages = warning;

-- The file name an upload came with (a multipart part's filename), cut to
-- 255 bytes of valid UTF-8; a URL import's source is its source_url.
ALTER TABLE bulkio_jobs ADD COLUMN IF NOT EXISTS source_name text;

-- GET /v1/jobs: a principal's imports and exports together, newest first,
-- paged by (created_at, id): one range scan of this index per page, as
-- bulkio_jobs_list_idx (003) serves the lists of one kind.
CREATE INDEX IF NOT EXISTS bulkio_jobs_all_idx
    ON bulkio_jobs (principal, created_at DESC, id DESC);
