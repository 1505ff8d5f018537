-- mod_bulkio migration 010 (issue 27): the database spool, and the
-- commit position of each import's end for exports from a replica.
--
-- The database spool. With
-- BulkIOSpool database, an upload, a URL import's download and an export
-- job's file are PostgreSQL large objects, named in bulkio_jobs.source_path
-- as 'lo:<oid>' and committed in one transaction with that row. These
-- triggers unlink an object in the same transaction that lets go of it, so
-- none is ever orphaned:
-- - the row is deleted (the retention purge);
-- - source_path changes (an expired export's is set NULL; an export
--   re-recorded by the run that took the job over);
-- - an import ends for good (completed, failed, canceled): its upload is
--   needed no more.
--
-- Exports from a replica (BulkIOExportReplica): an import's finish_lsn is
-- pg_current_wal_lsn() when it ended (set by the trigger below, in the
-- transaction that ends it); a principal's export reads from the replica
-- once it has replayed that far (and shows the job ended).
-- Idempotent.

SET client_min_messages = warning;

ALTER TABLE bulkio_jobs ADD COLUMN IF NOT EXISTS finish_lsn pg_lsn;
CREATE INDEX IF NOT EXISTS bulkio_jobs_finish_idx
    ON bulkio_jobs (principal, finish_lsn DESC)
    WHERE kind = 'import' AND finish_lsn IS NOT NULL;

CREATE OR REPLACE FUNCTION bulkio_jobs_on_finish() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'import' AND NEW.status IS DISTINCT FROM OLD.status
       AND NEW.status IN ('completed', 'failed', 'canceled') THEN
        NEW.finish_lsn := pg_current_wal_lsn();
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS bulkio_jobs_finish ON bulkio_jobs;
CREATE TRIGGER bulkio_jobs_finish
    BEFORE UPDATE OF status ON bulkio_jobs
    FOR EACH ROW EXECUTE FUNCTION bulkio_jobs_on_finish();

CREATE OR REPLACE FUNCTION bulkio_spool_unlink(ref text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF ref ~ '^lo:[0-9]+$' THEN
        PERFORM lo_unlink(m.oid) FROM pg_largeobject_metadata m
          WHERE m.oid = substr(ref, 4)::oid;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION bulkio_spool_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.source_path IS NULL OR OLD.source_path !~ '^lo:[0-9]+$' THEN
        RETURN NEW;
    END IF;
    IF NEW.source_path IS DISTINCT FROM OLD.source_path THEN
        PERFORM bulkio_spool_unlink(OLD.source_path);
    ELSIF NEW.kind = 'import'
          AND NEW.status IN ('completed', 'failed', 'canceled') THEN
        PERFORM bulkio_spool_unlink(OLD.source_path);
        NEW.source_path := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION bulkio_spool_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bulkio_spool_unlink(OLD.source_path);
    RETURN OLD;
END
$$;

DROP TRIGGER IF EXISTS bulkio_spool_update ON bulkio_jobs;
CREATE TRIGGER bulkio_spool_update
    BEFORE UPDATE OF status, source_path ON bulkio_jobs
    FOR EACH ROW EXECUTE FUNCTION bulkio_spool_on_update();

DROP TRIGGER IF EXISTS bulkio_spool_delete ON bulkio_jobs;
CREATE TRIGGER bulkio_spool_delete
    AFTER DELETE ON bulkio_jobs
    FOR EACH ROW WHEN (OLD.source_path LIKE 'lo:%')
    EXECUTE FUNCTION bulkio_spool_on_delete();
