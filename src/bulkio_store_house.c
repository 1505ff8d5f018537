/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_store_house.h"

/* Jobs finished more than $1 (an interval) ago. */
#define FINISHED_BEFORE \
    "status IN ('completed', 'failed', 'canceled')" \
    " AND completed_at < now() - $1::interval"

/* The parameters of a purge: how old ($1) and how many at most ($2). */
static const char *const *purge(apr_pool_t *p, apr_interval_time_t age,
                                int max)
{
    const char **params = apr_palloc(p, 2 * sizeof(*params));

    params[0] = bulkio_pq_secs(p, age);
    params[1] = apr_itoa(p, max);
    return params;
}

apr_status_t bulkio_store_purge_errors(apr_pool_t *p, PGconn *conn,
                                       apr_interval_time_t retention,
                                       int max, int *pcount)
{
    return bulkio_pq_count(p, conn,
        "DELETE FROM bulkio_job_errors e"
        " USING (SELECT x.job_id, x.record_index FROM bulkio_job_errors x"
        "         WHERE x.job_id IN (SELECT id FROM bulkio_jobs"
        "                             WHERE " FINISHED_BEFORE ")"
        "         LIMIT $2::int) d"
        " WHERE e.job_id = d.job_id AND e.record_index = d.record_index",
        2, purge(p, retention, max), pcount);
}

apr_status_t bulkio_store_purge_jobs(apr_pool_t *p, PGconn *conn,
                                     apr_interval_time_t retention, int max,
                                     PGresult **pres)
{
    /* only jobs whose error rows are gone already, so one statement never
     * deletes more than a batch */
    return bulkio_pq_exec(p, conn,
        "WITH old AS ("
        "  SELECT id FROM bulkio_jobs j WHERE " FINISHED_BEFORE
        "     AND NOT EXISTS (SELECT 1 FROM bulkio_job_errors e"
        "                      WHERE e.job_id = j.id)"
        "   ORDER BY id LIMIT $2::int FOR UPDATE SKIP LOCKED"
        ") DELETE FROM bulkio_jobs j USING old WHERE j.id = old.id"
        " RETURNING j.public_id::text, j.source_path", 2,
        purge(p, retention, max), pres);
}

/* Tombstones older than $1, at most $2 of them. */
#define OLD_TOMBSTONES \
    "DELETE FROM bulkio_tombstones WHERE id IN (" \
    "  SELECT id FROM bulkio_tombstones" \
    "   WHERE deleted_at < now() - $1::interval LIMIT $2::int)"

apr_status_t bulkio_store_purge_tombstones(apr_pool_t *p, PGconn *conn,
                                           apr_interval_time_t retention,
                                           int max, int *pcount)
{
    const char *const *params = purge(p, retention, max);

    return bulkio_pq_count(p, conn, OLD_TOMBSTONES, 2, params, pcount);
}

apr_status_t bulkio_store_purge_idem(apr_pool_t *p, PGconn *conn,
                                     apr_interval_time_t grace, int max,
                                     int *pcount)
{
    return bulkio_pq_count(p, conn,
        "DELETE FROM bulkio_idempotency_keys k"
        " USING (SELECT principal, endpoint, idem_key"
        "          FROM bulkio_idempotency_keys"
        "         WHERE expires_at < now()"
        "            OR (state = 'receiving'"
        "                AND lease_expires_at < now() - $1::interval)"
        "         LIMIT $2::int) d"
        " WHERE k.principal = d.principal AND k.endpoint = d.endpoint"
        "   AND k.idem_key = d.idem_key", 2, purge(p, grace, max), pcount);
}

apr_status_t bulkio_store_expire_exports(apr_pool_t *p, PGconn *conn,
                                         PGresult **pres)
{
    return bulkio_pq_exec(p, conn,
        "WITH old AS ("
        "  SELECT id, source_path FROM bulkio_jobs"
        "   WHERE kind = 'export' AND expires_at < now()"
        "     AND source_path IS NOT NULL FOR UPDATE SKIP LOCKED"
        ") UPDATE bulkio_jobs j SET source_path = NULL FROM old"
        "   WHERE j.id = old.id RETURNING old.source_path", 0, NULL, pres);
}

apr_status_t bulkio_store_spool_refs(apr_pool_t *p, PGconn *conn,
                                     const char *ids, PGresult **pres)
{
    return bulkio_pq_exec(p, conn,
        "SELECT public_id::text, status IN ('pending', 'running'),"
        "       regexp_replace(coalesce(source_path, ''), '^.*/', '')"
        "  FROM bulkio_jobs WHERE public_id = ANY($1::uuid[])",
        1, &ids, pres);
}
