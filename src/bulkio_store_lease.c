/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_store_lease.h"

/* What claim_cols reads that a resumed job refreshes: the claim returns
 * these and more, a resume only these. */
#define RESUMED \
    "format, source_path, checkpoint_records, checkpoint_bytes," \
    " total_records, success_count, error_count, parse_errors," \
    " validation_errors, foreign_key_errors, duplicate_errors," \
    " not_found_errors, inserted_count, updated_count, unchanged_count," \
    " deleted_count, mode, coalesce(max_errors, -1) AS max_errors," \
    " coalesce(max_error_rows, -1) AS max_error_rows," \
    " coalesce(max_error_bytes, -1) AS max_error_bytes," \
    " dry_run, atomic, atomic_applied," \
    " coalesce(results::int, -1) AS results"

/* A claimed job, from the columns the claim returns (RESUMED last). */
#define C(member, type) BULKIO_PQ_COL(bulkio_claim_t, member, type)
#define BY_TYPE(name, i) \
    { name, BULKIO_PQ_INT64, offsetof(bulkio_claim_t, errors_by_type[i]) }
#define ACT(name, i) \
    { name, BULKIO_PQ_INT64, offsetof(bulkio_claim_t, acts[i]) }
static const bulkio_pq_col_t claim_cols[] = {
    C(id, INT64), C(job_id, TEXT), C(kind, TEXT), C(resource, TEXT),
    C(source_url, TEXT), C(reason, TEXT), C(attempts, INT), C(params, TEXT),
    C(format, TEXT), C(source_path, TEXT), C(checkpoint_records, INT64),
    C(checkpoint_bytes, INT64), C(total_records, INT64),
    C(success_count, INT64), C(error_count, INT64),
    BY_TYPE("parse_errors", 0), BY_TYPE("validation_errors", 1),
    BY_TYPE("foreign_key_errors", 2), BY_TYPE("duplicate_errors", 3),
    BY_TYPE("not_found_errors", 4), ACT("inserted_count", 0),
    ACT("updated_count", 1), ACT("unchanged_count", 2),
    ACT("deleted_count", 3), C(mode, TEXT), C(max_errors, INT64),
    C(max_error_rows, INT64), C(max_error_bytes, INT64),
    C(dry_run, BOOL), C(atomic, BOOL), C(atomic_applied, BOOL),
    C(results, INT), BULKIO_PQ_END
};
#undef ACT
#undef BY_TYPE
#undef C

void bulkio_store_claim_keep(apr_pool_t *p, bulkio_claim_t *c)
{
    bulkio_pq_keep(p, claim_cols, c);
}

/* Whether a job was asked to stop, into an int of its own. */
static const bulkio_pq_col_t cancel_col[] = {
    { "cancel_requested", BULKIO_PQ_BOOL, 0 }, BULKIO_PQ_END
};

/* Renew owner ($2)'s lease on running job $1 for $3. */
#define RENEW_SQL \
    "UPDATE bulkio_jobs SET lease_expires_at = now() + $3::interval" \
    " WHERE id = $1 AND lease_owner = $2 AND status = 'running'"

/* One claim, in its transaction. */
typedef struct {
    const char *const *params;
    bulkio_claim_t *claim;
} claim_t;

static apr_status_t claim(apr_pool_t *p, PGconn *conn, void *baton)
{
    claim_t *cl = baton;
    apr_status_t rv;

    /* one claimer per server at a time, so the limit holds across
     * processes (and a graceful restart's overlapping schedulers) */
    rv = bulkio_pq_exec(p, conn, "SELECT pg_advisory_xact_lock("
                        "hashtext('bulkio-claim:' || $1))", 1, cl->params,
                        NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return bulkio_pq_get(p, conn,
        "UPDATE bulkio_jobs j"
        "   SET status = 'running', lease_server = $1, lease_owner = $2,"
        "       lease_expires_at = now() + $3::interval,"
        "       started_at = coalesce(started_at, now()),"
        "       attempts = attempts + 1"
        /* fair sharing: the oldest job among the principals with the
         * fewest running jobs (live leases, every server), so one client's
         * long queue does not keep the others waiting */
        " WHERE j.id = (SELECT c.id FROM bulkio_jobs c"
        "                 LEFT JOIN (SELECT principal, count(*) AS n"
        "                              FROM bulkio_jobs"
        "                             WHERE status = 'running'"
        "                               AND lease_expires_at >= now()"
        "                             GROUP BY principal) r"
        "                        ON r.principal = c.principal"
        "                WHERE c.status = 'pending'"
        "                   OR (c.status = 'running'"
        "                       AND c.lease_expires_at < now())"
        "                ORDER BY coalesce(r.n, 0), c.id"
        "                LIMIT 1 FOR UPDATE OF c SKIP LOCKED)"
        "   AND (SELECT count(*) FROM bulkio_jobs"
        "         WHERE status = 'running' AND lease_server = $1"
        "           AND lease_expires_at >= now()) < $4::int"
        " RETURNING id, public_id AS job_id, kind, resource, source_url,"
        "           reason, attempts, params::text AS params, " RESUMED,
        4, cl->params, claim_cols, cl->claim);
}

apr_status_t bulkio_store_claim(apr_pool_t *p, PGconn *conn,
                                const char *server, const char *owner,
                                int max_jobs, apr_interval_time_t lease,
                                bulkio_claim_t **pclaim)
{
    const char *params[] = {
        server, owner, bulkio_pq_secs(p, lease), apr_itoa(p, max_jobs)
    };
    claim_t cl;
    apr_status_t rv;

    cl.params = params;
    cl.claim = apr_pcalloc(p, sizeof(*cl.claim));
    /* nothing to claim rolls back an update of no row */
    rv = bulkio_pq_txn(p, conn, NULL, claim, &cl, NULL);
    if (rv == APR_SUCCESS) {
        *pclaim = cl.claim;
    }
    return rv;
}

/* Record a checkpoint (bulkio_store_checkpoint()); with totals, the
 * running totals grow too. */
static apr_status_t checkpoint(apr_pool_t *p, PGconn *conn, apr_int64_t job,
                               const char *owner, apr_interval_time_t lease,
                               const bulkio_progress_t *prog, int totals,
                               int *pcancel)
{
    const char *params[8 + BULKIO_STORE_ERR_TYPES + BULKIO_STORE_ACTS] = {
        bulkio_pq_int64(p, job), owner, bulkio_pq_secs(p, lease),
        bulkio_pq_int64(p, prog->records), bulkio_pq_int64(p, prog->bytes),
        bulkio_pq_int64(p, prog->success), bulkio_pq_int64(p, prog->errors)
    };
    int i;

    params[7 + BULKIO_STORE_ERR_TYPES + BULKIO_STORE_ACTS] = totals ? "true"
                                                                    : "false";

    for (i = 0; i < BULKIO_STORE_ERR_TYPES; ++i) {
        params[7 + i] = bulkio_pq_int64(p, prog->by_type[i]);
    }
    for (i = 0; i < BULKIO_STORE_ACTS; ++i) {
        params[7 + BULKIO_STORE_ERR_TYPES + i] = bulkio_pq_int64(
                                                     p, prog->acts[i]);
    }
    /* an import's running totals grow by what this batch adds to the
     * job's counters, in the batch's transaction: counted exactly once
     * (an export's are counted with its file, see export_file) */
    return bulkio_pq_get(p, conn,
        "WITH o AS ("
        "  SELECT id, kind, resource, total_records, success_count,"
        "         parse_errors, validation_errors, foreign_key_errors,"
        "         duplicate_errors, not_found_errors"
        "    FROM bulkio_jobs"
        "   WHERE id = $1 AND lease_owner = $2 AND status = 'running'"
        "     FOR UPDATE),"
        " u AS ("
        "  UPDATE bulkio_jobs j"
        "     SET checkpoint_records = $4, checkpoint_bytes = $5,"
        "         total_records = $4, success_count = $6, error_count = $7,"
        "         parse_errors = $8, validation_errors = $9,"
        "         foreign_key_errors = $10, duplicate_errors = $11,"
        "         not_found_errors = $12, inserted_count = $13,"
        "         updated_count = $14, unchanged_count = $15,"
        "         deleted_count = $16,"
        "         lease_expires_at = now() + $3::interval"
        "    FROM o WHERE j.id = o.id"
        "  RETURNING j.cancel_requested, o.*),"
        " t AS ("
        "  INSERT INTO bulkio_record_totals AS t (kind, resource, counter,"
        "                                         value)"
        "  SELECT u.kind, u.resource, d.counter, d.value"
        "    FROM u, LATERAL (VALUES"
        "           (1, 'processed', $4::bigint - u.total_records),"
        "           (2, 'succeeded', $6::bigint - u.success_count),"
        "           (3, 'PARSE_ERROR', $8::bigint - u.parse_errors),"
        "           (4, 'VALIDATION_ERROR', $9::bigint - u.validation_errors),"
        "           (5, 'FOREIGN_KEY_ERROR',"
        "            $10::bigint - u.foreign_key_errors),"
        "           (6, 'DUPLICATE_ERROR', $11::bigint - u.duplicate_errors),"
        "           (7, 'NOT_FOUND_ERROR', $12::bigint - u.not_found_errors))"
        "         AS d(o, counter, value)"
        "   WHERE u.kind = 'import' AND $17::boolean AND d.value > 0"
        "   ORDER BY d.o"
        "      ON CONFLICT (kind, resource, counter)"
        "      DO UPDATE SET value = t.value + EXCLUDED.value)"
        "SELECT cancel_requested FROM u",
        8 + BULKIO_STORE_ERR_TYPES + BULKIO_STORE_ACTS, params,
        cancel_col, pcancel);
}

apr_status_t bulkio_store_checkpoint(apr_pool_t *p, PGconn *conn,
                                     apr_int64_t job, const char *owner,
                                     apr_interval_time_t lease,
                                     const bulkio_progress_t *prog,
                                     int *pcancel)
{
    return checkpoint(p, conn, job, owner, lease, prog, 1, pcancel);
}

apr_status_t bulkio_store_counts(apr_pool_t *p, PGconn *conn,
                                 apr_int64_t job, const char *owner,
                                 apr_interval_time_t lease,
                                 const bulkio_progress_t *prog, int *pcancel)
{
    return checkpoint(p, conn, job, owner, lease, prog, 0, pcancel);
}

/* Update the job (params: $1 its id, $2 owner, $3 the lease) that owner
 * holds: set, and a renewed lease; whether it was asked to stop into
 * *pcancel. */
static apr_status_t held_update(apr_pool_t *p, PGconn *conn, const char *set,
                                const char *const *params, int nparams,
                                int *pcancel)
{
    int cancel;

    return bulkio_pq_get(p, conn, apr_pstrcat(p,
        "UPDATE bulkio_jobs SET ", set, ","
        "       lease_expires_at = now() + $3::interval"
        " WHERE id = $1 AND lease_owner = $2 AND status = 'running'"
        " RETURNING cancel_requested", NULL), nparams, params, cancel_col,
        pcancel ? pcancel : &cancel);
}

apr_status_t bulkio_store_position(apr_pool_t *p, PGconn *conn,
                                   apr_int64_t job, const char *owner,
                                   apr_interval_time_t lease,
                                   apr_int64_t records, apr_off_t bytes,
                                   int *pcancel)
{
    const char *params[] = {
        bulkio_pq_int64(p, job), owner, bulkio_pq_secs(p, lease),
        bulkio_pq_int64(p, records), bulkio_pq_int64(p, bytes)
    };

    return held_update(p, conn, "checkpoint_records = $4,"
                       " checkpoint_bytes = $5", params, 5, pcancel);
}

apr_status_t bulkio_store_applied(apr_pool_t *p, PGconn *conn,
                                  apr_int64_t job, const char *owner,
                                  apr_interval_time_t lease)
{
    const char *params[] = {
        bulkio_pq_int64(p, job), owner, bulkio_pq_secs(p, lease)
    };

    return held_update(p, conn, "atomic_applied = true", params, 3, NULL);
}

/* The restart of a job: its error entries go, its counters start again. */
static apr_status_t restart(apr_pool_t *p, PGconn *conn, void *baton)
{
    const char *const *params = baton;
    apr_status_t rv;

    rv = bulkio_pq_one(p, conn,
        "UPDATE bulkio_jobs SET checkpoint_records = 0, checkpoint_bytes = 0,"
        "       total_records = 0, success_count = 0, error_count = 0,"
        "       parse_errors = 0, validation_errors = 0,"
        "       foreign_key_errors = 0, duplicate_errors = 0,"
        "       not_found_errors = 0, inserted_count = 0, updated_count = 0,"
        "       unchanged_count = 0, deleted_count = 0,"
        "       error_rows_stored = 0, error_bytes_stored = 0,"
        "       errors_truncated_at = NULL, errors_truncated_line = NULL"
        " WHERE id = $1 AND lease_owner = $2 AND status = 'running'", 2,
        params);
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_exec(p, conn, "DELETE FROM bulkio_job_errors"
                            " WHERE job_id = $1", 1, params, NULL);
    }
    if (rv == APR_SUCCESS) {
        /* a dry run's results, kept like its errors (013_results.sql) */
        rv = bulkio_pq_exec(p, conn, "DELETE FROM bulkio_job_results"
                            " WHERE job_id = $1", 1, params, NULL);
    }
    return rv;
}

apr_status_t bulkio_store_restart(apr_pool_t *p, PGconn *conn,
                                  bulkio_claim_t *c, const char *owner)
{
    const char *params[] = { bulkio_pq_int64(p, c->id), owner };
    apr_status_t rv;

    rv = bulkio_pq_txn(p, conn, NULL, restart, (void *)params, NULL);
    if (rv == APR_SUCCESS) {
        c->checkpoint_records = c->checkpoint_bytes = c->total_records = 0;
        c->success_count = c->error_count = 0;
        memset(c->errors_by_type, 0, sizeof(c->errors_by_type));
        memset(c->acts, 0, sizeof(c->acts));
    }
    return rv;
}

apr_status_t bulkio_store_renew(apr_pool_t *p, PGconn *conn, apr_int64_t job,
                                const char *owner, apr_interval_time_t lease)
{
    const char *params[] = {
        bulkio_pq_int64(p, job), owner, bulkio_pq_secs(p, lease)
    };

    return bulkio_pq_one(p, conn, RENEW_SQL, 3, params);
}

apr_status_t bulkio_store_resume(apr_pool_t *p, PGconn *conn,
                                 bulkio_claim_t *c, const char *owner,
                                 apr_interval_time_t lease)
{
    const char *params[] = {
        bulkio_pq_int64(p, c->id), owner, bulkio_pq_secs(p, lease)
    };

    /* the columns the statement does not return are left as they are */
    return bulkio_pq_get(p, conn, RENEW_SQL " RETURNING " RESUMED, 3,
                         params, claim_cols, c);
}

apr_status_t bulkio_store_finish(apr_pool_t *p, PGconn *conn,
                                 apr_int64_t job, const char *owner,
                                 const char *status, const char *reason)
{
    const char *params[] = { bulkio_pq_int64(p, job), owner, status, reason };

    return bulkio_pq_one(p, conn,
        "UPDATE bulkio_jobs"
        "   SET status = $3, reason = $4, lease_owner = NULL,"
        "       lease_server = NULL, lease_expires_at = NULL,"
        "       completed_at = CASE WHEN $3 = 'pending' THEN NULL"
        "                           ELSE now() END"
        " WHERE id = $1 AND lease_owner = $2", 4, params);
}
