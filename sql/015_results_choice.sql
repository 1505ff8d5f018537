-- mod_bulkio migration 015: whether an import keeps per-record results,
-- recorded on the job. The server that creates an import records its
-- BulkIOImportResults; whichever server runs the job (or takes it over)
-- follows the job, and GET /v1/imports/{id}/results answers from the job,
-- not from the server asked. Before, a job resumed by a server with the
-- other setting kept results for part of its records and still answered
-- 200. NULL: an import created before this migration, and every export;
-- for those the server's setting decides, as it did. Idempotent.

ALTER TABLE bulkio_jobs ADD COLUMN IF NOT EXISTS results boolean;
