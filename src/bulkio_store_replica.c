/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_store_replica.h"

#define POLL apr_time_from_msec(50)

/* The principal's last finished import, on the primary. */
typedef struct {
    const char *id;
    const char *lsn;
} target_t;

static const bulkio_pq_col_t target_cols[] = {
    BULKIO_PQ_COL(target_t, id, TEXT),
    BULKIO_PQ_COL(target_t, lsn, TEXT),
    BULKIO_PQ_END
};

/* What the replica says about itself. */
typedef struct {
    int ready;
    int recovery;
    const char *lsn;
    double secs;
} seen_t;

static const bulkio_pq_col_t ready_cols[] = {
    BULKIO_PQ_COL(seen_t, ready, BOOL),
    BULKIO_PQ_END
};

static const bulkio_pq_col_t seen_cols[] = {
    BULKIO_PQ_COL(seen_t, recovery, BOOL),
    BULKIO_PQ_COL(seen_t, lsn, TEXT),
    BULKIO_PQ_COL(seen_t, secs, DOUBLE),
    BULKIO_PQ_END
};

static const bulkio_pq_col_t lag_cols[] = {
    BULKIO_PQ_COL(bulkio_replica_state_t, lag_bytes, INT64),
    BULKIO_PQ_END
};

/* The replica's connection, when it is one (in recovery). */
static apr_status_t replica_connect(apr_pool_t *p, const char *conninfo,
                                    PGconn **pconn, seen_t *seen)
{
    if (!conninfo || bulkio_pq_connect(p, conninfo, pconn) != APR_SUCCESS) {
        return APR_ECONNREFUSED;
    }
    if (bulkio_pq_get(p, *pconn,
            "SELECT pg_is_in_recovery() AS recovery,"
            "       pg_last_wal_replay_lsn()::text AS lsn,"
            "       coalesce(extract(epoch FROM now()"
            "                - pg_last_xact_replay_timestamp()), 0)::float8"
            "         AS secs", 0, NULL, seen_cols, seen) != APR_SUCCESS
        || !seen->recovery || !seen->lsn) {
        return APR_ECONNREFUSED;
    }
    return APR_SUCCESS;
}

apr_status_t bulkio_store_replica_ready(apr_pool_t *p, PGconn *primary,
                                        const char *conninfo,
                                        const char *principal,
                                        apr_int64_t job,
                                        apr_interval_time_t wait,
                                        PGconn **preplica,
                                        const char **pwhy)
{
    const char *tparams[] = { principal, bulkio_pq_int64(p, job) };
    const char *rparams[2];
    apr_time_t until = apr_time_now() + wait;
    PGconn *replica;
    target_t t;
    seen_t seen;
    apr_status_t rv;

    *preplica = NULL;
    *pwhy = "down";
    if ((rv = replica_connect(p, conninfo, &replica, &seen))
        != APR_SUCCESS) {
        return rv;
    }
    rv = bulkio_pq_get(p, primary,
        "SELECT i.id::text AS id, i.finish_lsn::text AS lsn"
        "  FROM bulkio_jobs i"
        " WHERE i.principal = coalesce($1, (SELECT principal FROM bulkio_jobs"
        "                                    WHERE id = $2::bigint))"
        "   AND i.kind = 'import' AND i.finish_lsn IS NOT NULL"
        " ORDER BY i.finish_lsn DESC LIMIT 1", 2, tparams, target_cols, &t);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        /* nothing of the principal's to wait for */
        *preplica = replica;
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        *pwhy = "the primary cannot tell the principal's last import";
        return APR_EGENERAL;
    }
    rparams[0] = t.lsn;
    rparams[1] = t.id;
    for (;;) {
        /* replayed that far, and the import's end is there */
        rv = bulkio_pq_get(p, replica,
            "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"
            "       AND EXISTS (SELECT 1 FROM bulkio_jobs WHERE id = $2::bigint"
            "                      AND finish_lsn IS NOT NULL) AS ready",
            2, rparams, ready_cols, &seen);
        if (rv != APR_SUCCESS) {
            return APR_ECONNREFUSED;
        }
        if (seen.ready) {
            *preplica = replica;
            return APR_SUCCESS;
        }
        if (apr_time_now() + POLL > until) {
            *pwhy = "lagging";
            return APR_TIMEUP;
        }
        apr_sleep(POLL);
    }
}

apr_status_t bulkio_store_replica_state(apr_pool_t *p, PGconn *primary,
                                        const char *conninfo,
                                        bulkio_replica_state_t *st)
{
    const char *params[1];
    PGconn *replica;
    apr_pool_t *sub;
    seen_t seen;
    apr_status_t rv;

    memset(st, 0, sizeof(*st));
    apr_pool_create(&sub, p);
    if (replica_connect(sub, conninfo, &replica, &seen) == APR_SUCCESS) {
        st->up = 1;
        params[0] = seen.lsn;
        rv = bulkio_pq_get(p, primary,
            "SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(),"
            "                                $1::pg_lsn), 0)::bigint"
            "         AS lag_bytes", 1, params, lag_cols, st);
        if (rv == APR_SUCCESS && st->lag_bytes > 0) {
            st->lag_seconds = seen.secs;
        }
    }
    apr_pool_destroy(sub);
    return APR_SUCCESS;
}
