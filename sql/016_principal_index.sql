-- mod_bulkio migration 016: drop bulkio_jobs_principal_idx (001), an index
-- on principal alone. Every query that looks a principal's jobs up is
-- served by an index that begins with principal: bulkio_jobs_all_idx
-- (009; GET /v1/jobs), bulkio_jobs_list_idx (003; the lists of one kind),
-- bulkio_jobs_active_principal_idx (004; the per-principal job limit), or
-- by the job's public id. The plain one was only written: an entry more
-- for every job created. Idempotent.

DROP INDEX IF EXISTS bulkio_jobs_principal_idx;
