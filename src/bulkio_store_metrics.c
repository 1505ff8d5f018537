/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_store_metrics.h"
#include "bulkio_store_sql.h"

/* The fixed label set of the kinds, in the order they are shown. */
#define M_KINDS "(VALUES (1, 'import'), (2, 'export')) AS k(o, kind)"

/* A running job, from the columns of RUNNING_SELECT. */
#define R(member, type) BULKIO_PQ_COL(bulkio_m_running_t, member, type)
static const bulkio_pq_col_t running_cols[] = {
    R(job_id, TEXT), R(kind, TEXT), R(resource, TEXT),
    R(format, TEXT), R(server, TEXT), R(owner, TEXT), R(started_at, TEXT),
    R(records, INT64), R(success, INT64), R(errors, INT64), R(bytes, INT64),
    R(bytes_total, INT64), R(elapsed, DOUBLE), R(lease_left, DOUBLE),
    BULKIO_PQ_END
};
#undef R

/* A running job's columns, as running_cols reads them. */
#define RUNNING_SELECT \
    "SELECT public_id AS job_id, kind, resource, format," \
    "       lease_server AS server, lease_owner AS owner," \
    "       " BULKIO_STORE_TS("started_at") " AS started_at," \
    "       checkpoint_records AS records, success_count AS success," \
    "       error_count AS errors, checkpoint_bytes AS bytes, bytes_total," \
    "       extract(epoch FROM now() - started_at)::float8 AS elapsed," \
    "       extract(epoch FROM lease_expires_at - now())::float8" \
    "       AS lease_left" \
    "  FROM bulkio_jobs WHERE status = 'running'"

/* The column member of bulkio_m_<st>_t. */
#define M(st, member, type) BULKIO_PQ_COL(bulkio_m_##st##_t, member, type)
static const bulkio_pq_col_t jobs_cols[] = {
    M(jobs, kind, TEXT), M(jobs, status, TEXT), M(jobs, count, INT64),
    BULKIO_PQ_END
};
static const bulkio_pq_col_t records_cols[] = {
    M(records, kind, TEXT), M(records, resource, TEXT),
    M(records, processed, INT64), M(records, succeeded, INT64),
    M(records, failed, INT64), BULKIO_PQ_END
};
static const bulkio_pq_col_t errors_cols[] = {
    M(errors, resource, TEXT), M(errors, error_type, TEXT),
    M(errors, count, INT64), BULKIO_PQ_END
};
#undef M

static const bulkio_pq_col_t queue_cols[] = {
    BULKIO_PQ_COL(bulkio_metrics_t, queue_depth, INT64),
    BULKIO_PQ_COL(bulkio_metrics_t, oldest_pending, DOUBLE), BULKIO_PQ_END
};

/* Finished jobs of one kind (1 import, 2 export) whose duration falls in
 * one bucket: their count and summed duration. */
typedef struct {
    apr_int64_t kind;
    apr_int64_t bucket;
    apr_int64_t count;
    double sum;
} bucket_t;

static const bulkio_pq_col_t bucket_cols[] = {
    BULKIO_PQ_COL(bucket_t, kind, INT64),
    BULKIO_PQ_COL(bucket_t, bucket, INT64),
    BULKIO_PQ_COL(bucket_t, count, INT64),
    BULKIO_PQ_COL(bucket_t, sum, DOUBLE), BULKIO_PQ_END
};

/* The duration histogram of each kind, from the rows of bucket_t. */
static apr_status_t durations(apr_pool_t *p, PGconn *conn,
                              bulkio_metrics_t *m)
{
    const char *bounds = "{";
    apr_array_header_t *rows;
    bulkio_m_durations_t *d;
    const bucket_t *b;
    apr_status_t rv;
    int i;

    for (i = 0; i < m->nbuckets; ++i) {
        bounds = apr_psprintf(p, "%s%s%.17g", bounds, i ? "," : "",
                              m->buckets[i]);
    }
    bounds = apr_pstrcat(p, bounds, "}", NULL);
    /* per kind and bucket (the number of bounds below the duration, so
     * the first bound at or above it), the count and sum of durations */
    rv = bulkio_pq_list(p, conn,
        "SELECT k.o AS kind,"
        "       (SELECT count(*) FROM unnest($1::float8[]) AS b(le)"
        "         WHERE b.le < d.s) AS bucket,"
        "       count(*) AS count, sum(d.s) AS sum"
        "  FROM (SELECT kind,"
        "               extract(epoch FROM completed_at - started_at)::float8"
        "               AS s"
        "          FROM bulkio_jobs"
        "         WHERE status IN ('completed', 'failed', 'canceled')"
        "           AND started_at IS NOT NULL"
        "           AND completed_at IS NOT NULL) AS d"
        "  JOIN " M_KINDS " ON k.kind = d.kind"
        " GROUP BY 1, 2", 1, &bounds, bucket_cols, sizeof(bucket_t), &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    m->durations = apr_array_make(p, 2, sizeof(bulkio_m_durations_t));
    for (i = 0; i < 2; ++i) {
        d = apr_array_push(m->durations);
        d->kind = i ? "export" : "import";
        d->counts = apr_pcalloc(p, sizeof(apr_int64_t)
                                   * (apr_size_t)(m->nbuckets + 1));
    }
    for (i = 0; i < rows->nelts; ++i) {
        b = &APR_ARRAY_IDX(rows, i, bucket_t);
        if (b->kind < 1 || b->kind > 2 || b->bucket < 0
            || b->bucket > m->nbuckets) {
            continue;
        }
        d = &APR_ARRAY_IDX(m->durations, b->kind - 1, bulkio_m_durations_t);
        d->counts[b->bucket] += b->count;
        d->count += b->count;
        d->sum += b->sum;
    }
    return APR_SUCCESS;
}

/* The metrics' queries, run in one snapshot. */
static apr_status_t metrics_read(apr_pool_t *p, PGconn *conn, void *baton)
{
    bulkio_metrics_t *m = baton;
    apr_status_t rv;

    rv = bulkio_pq_list(p, conn,
        "SELECT k.kind, s.status, count(j.id) AS count"
        "  FROM " M_KINDS
        " CROSS JOIN (VALUES (1, 'pending'), (2, 'running'), (3, 'completed'),"
        "                    (4, 'failed'), (5, 'canceled')) AS s(o, status)"
        "  LEFT JOIN bulkio_jobs j ON j.kind = k.kind AND j.status = s.status"
        " GROUP BY k.o, k.kind, s.o, s.status ORDER BY k.o, s.o",
        0, NULL, jobs_cols, sizeof(bulkio_m_jobs_t), &m->jobs);
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_list(p, conn, BULKIO_STORE_RECORDS_SQL, 0, NULL,
                            records_cols, sizeof(bulkio_m_records_t),
                            &m->records);
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_list(p, conn, BULKIO_STORE_ERRTYPES_SQL, 0, NULL,
                            errors_cols, sizeof(bulkio_m_errors_t),
                            &m->errors);
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_list(p, conn, RUNNING_SELECT " ORDER BY id", 0, NULL,
                            running_cols, sizeof(bulkio_m_running_t),
                            &m->running);
    }
    if (rv == APR_SUCCESS) {
        rv = durations(p, conn, m);
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_get(p, conn,
            "SELECT count(*) AS queue_depth,"
            "       coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            "       ::float8 AS oldest_pending"
            "  FROM bulkio_jobs WHERE status = 'pending'", 0, NULL,
            queue_cols, m);
    }
    return rv;
}

apr_status_t bulkio_store_metrics(apr_pool_t *p, PGconn *conn,
                                  const double *buckets, int nbuckets,
                                  bulkio_metrics_t **pm, const char **perror)
{
    bulkio_metrics_t *m = apr_pcalloc(p, sizeof(*m));
    apr_status_t rv;

    m->buckets = buckets;
    m->nbuckets = nbuckets;
    rv = bulkio_pq_txn(p, conn, "BEGIN ISOLATION LEVEL REPEATABLE READ,"
                       " READ ONLY", metrics_read, m, perror);
    if (rv == APR_SUCCESS) {
        *pm = m;
    }
    return rv;
}

apr_status_t bulkio_store_server_jobs(apr_pool_t *p, PGconn *conn,
                                      const char *server,
                                      apr_array_header_t **pjobs)
{
    return bulkio_pq_list(p, conn,
        RUNNING_SELECT " AND lease_server = $1 ORDER BY id", 1, &server,
        running_cols, sizeof(bulkio_m_running_t), pjobs);
}
