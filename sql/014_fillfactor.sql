-- mod_bulkio migration 014: the fillfactor of users, articles and comments,
-- the operator's choice (issue 26). A row that an import updates can be
-- written as a HOT update (no new index entries, the old version pruned on
-- the page) when no indexed column changes and its page has room for the
-- new version; at the default fillfactor of 100 a table loaded by imports
-- has full pages, so every update writes a new version elsewhere and a new
-- entry into every index. A lower fillfactor leaves room on each page at
-- the price of a larger table (bench/NOTES.md has the figures). It stays
-- 100 unless the operator chooses:
--   - at migration time: PGOPTIONS='-c bulkio.fillfactor=70' bulkio-migrate …
--     (all three tables);
--   - later: SELECT bulkio_set_fillfactor('users', 70);
-- A new fillfactor applies to pages written from then on; VACUUM FULL (or
-- CLUSTER) rewrites the existing ones. Idempotent.

SET client_min_messages = warning;

CREATE OR REPLACE FUNCTION bulkio_set_fillfactor(resource text,
                                                 fillfactor integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF resource IS NULL
       OR resource NOT IN ('users', 'articles', 'comments') THEN
        RAISE EXCEPTION 'bulkio_set_fillfactor: % is not users, articles or comments',
            coalesce(resource, 'NULL');
    END IF;
    IF fillfactor IS NULL OR fillfactor < 10 OR fillfactor > 100 THEN
        RAISE EXCEPTION 'bulkio_set_fillfactor: fillfactor % is not in 10-100',
            coalesce(fillfactor::text, 'NULL');
    END IF;
    EXECUTE format('ALTER TABLE %I SET (fillfactor = %s)', resource,
                   fillfactor);
END
$$;

DO $$
DECLARE
    chosen text := current_setting('bulkio.fillfactor', true);
    r text;
BEGIN
    IF coalesce(chosen, '') <> '' THEN
        IF chosen !~ '^[0-9]{1,3}$' THEN
            RAISE EXCEPTION 'bulkio.fillfactor: % is not a number', chosen;
        END IF;
        FOREACH r IN ARRAY ARRAY['users', 'articles', 'comments'] LOOP
            PERFORM bulkio_set_fillfactor(r, chosen::integer);
        END LOOP;
    END IF;
END
$$;
