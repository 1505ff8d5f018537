/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_store_jobs.h"
#include "bulkio_store_sql.h"

/* A job's status document, from the columns of JOB_SELECT. */
#define J(member, type) BULKIO_PQ_COL(bulkio_job_t, member, type)
#define BY_TYPE(name, i) \
    { name, BULKIO_PQ_INT64, offsetof(bulkio_job_t, errors_by_type[i]) }
static const bulkio_pq_col_t job_cols[] = {
    J(id, INT64), J(job_id, TEXT), J(kind, TEXT), J(status, TEXT),
    J(resource, TEXT), J(format, TEXT), J(reason, TEXT), J(principal, TEXT),
    J(source, TEXT),
    BY_TYPE("parse_errors", 0), BY_TYPE("validation_errors", 1),
    BY_TYPE("foreign_key_errors", 2), BY_TYPE("duplicate_errors", 3),
    BY_TYPE("not_found_errors", 4),
    J(total_records, INT64), J(success_count, INT64), J(error_count, INT64),
    J(inserted_count, INT64), J(updated_count, INT64),
    J(unchanged_count, INT64), J(deleted_count, INT64), J(mode, TEXT),
    J(max_errors, INT64), J(errors_stored, INT64), J(truncated_at, INT64),
    J(truncated_line, INT64),
    J(dry_run, BOOL), J(atomic, BOOL), J(results, INT),
    J(processed_records, INT64), J(bytes_processed, INT64),
    J(bytes_total, INT64), J(elapsed_seconds, DOUBLE),
    J(params, TEXT), J(source_path, TEXT), J(file_size, INT64),
    J(expired, BOOL), J(expires_at, TEXT), J(created_at, TEXT),
    J(started_at, TEXT), J(completed_at, TEXT), J(created_us, INT64),
    J(expires_s, INT64), J(hook_url, TEXT), J(hook_state, TEXT),
    J(hook_event_id, TEXT), J(hook_attempts, INT64),
    J(hook_last_status, INT64), J(hook_last_error, TEXT),
    J(hook_last_attempt_at, TEXT), J(hook_next_attempt_at, TEXT),
    J(hook_delivered_at, TEXT),
    BULKIO_PQ_END
};
#undef BY_TYPE
#undef J

/* The columns of a job's status document, labelled as job_cols reads them;
 * an ORDER BY names the table's columns (j.created_at), not these labels
 * (its timestamps are text). */
#define JOB_SELECT \
    "SELECT j.id, j.public_id AS job_id, j.kind, j.status, j.resource," \
    "       j.format, j.reason, j.principal," \
    "       coalesce(j.source_name, j.source_url) AS source," \
    "       j.parse_errors, j.validation_errors, j.foreign_key_errors," \
    "       j.duplicate_errors, j.not_found_errors," \
    "       j.total_records, j.success_count," \
    "       j.error_count, j.inserted_count, j.updated_count," \
    "       j.unchanged_count, j.deleted_count, j.mode," \
    "       coalesce(j.max_errors, -1) AS max_errors," \
    "       j.error_rows_stored AS errors_stored," \
    "       coalesce(j.errors_truncated_at, -1) AS truncated_at," \
    "       coalesce(j.errors_truncated_line, -1) AS truncated_line," \
    "       j.dry_run, j.atomic, coalesce(j.results::int, -1) AS results," \
    "       j.checkpoint_records AS processed_records," \
    "       j.checkpoint_bytes AS bytes_processed, j.bytes_total," \
    "       extract(epoch FROM coalesce(j.completed_at, now())" \
    "                          - j.started_at) AS elapsed_seconds," \
    "       j.params::text AS params, j.source_path," \
    "       coalesce(j.file_size, -1) AS file_size," \
    "       j.expires_at < now() AS expired," \
    "       " BULKIO_STORE_TS("j.expires_at") " AS expires_at," \
    "       " BULKIO_STORE_TS("j.created_at") " AS created_at," \
    "       " BULKIO_STORE_TS("j.started_at") " AS started_at," \
    "       " BULKIO_STORE_TS("j.completed_at") " AS completed_at," \
    "       (extract(epoch FROM j.created_at) * 1000000)::bigint" \
    "       AS created_us," \
    "       coalesce(extract(epoch FROM j.expires_at), 0)::bigint" \
    "       AS expires_s," \
    "       w.hook_url, w.hook_state, w.hook_event_id::text AS hook_event_id," \
    "       w.hook_attempts, coalesce(w.hook_last_status, -1)" \
    "       AS hook_last_status, w.hook_last_error," \
    "       " BULKIO_STORE_TS("w.hook_last_attempt_at") \
    "       AS hook_last_attempt_at," \
    "       " BULKIO_STORE_TS("w.hook_next_attempt_at") \
    "       AS hook_next_attempt_at," \
    "       " BULKIO_STORE_TS("w.hook_delivered_at") " AS hook_delivered_at" \
    "  FROM bulkio_jobs j" \
    "  LEFT JOIN (SELECT job_id AS hook_job, url AS hook_url," \
    "                    state AS hook_state, event_id AS hook_event_id," \
    "                    attempts AS hook_attempts," \
    "                    last_status AS hook_last_status," \
    "                    last_error AS hook_last_error," \
    "                    last_attempt_at AS hook_last_attempt_at," \
    "                    next_attempt_at AS hook_next_attempt_at," \
    "                    delivered_at AS hook_delivered_at" \
    "               FROM bulkio_webhooks) w ON w.hook_job = j.id"

/* A record error, from the columns of ERRORS_SQL. */
#define E(member, type) BULKIO_PQ_COL(bulkio_rec_error_t, member, type)
static const bulkio_pq_col_t error_cols[] = {
    E(record_index, INT64), E(line, INT64), E(field, TEXT),
    E(error_type, TEXT), E(message, TEXT), E(record_data, TEXT), BULKIO_PQ_END
};
#undef E

/* The errors of job $1 in record order, as error_cols reads them. */
#define ERRORS_SQL \
    "SELECT record_index, line, field, error_type," \
    "       error_message AS message, record_data" \
    "  FROM bulkio_job_errors WHERE job_id = $1 ORDER BY record_index"

/* A column of one value read into a variable of its own. */
static const bulkio_pq_col_t status_col[] = {
    { "status", BULKIO_PQ_TEXT, 0 }, BULKIO_PQ_END
};
static const bulkio_pq_col_t full_col[] = {
    { "is_full", BULKIO_PQ_BOOL, 0 }, BULKIO_PQ_END
};

/* One job to create, in its transaction. */
typedef struct {
    const bulkio_new_job_t *job;
    const bulkio_idem_t *idem;
    const char *fingerprint;
    int status;
    const char *body;
} create_t;

static apr_status_t create(apr_pool_t *p, PGconn *conn, void *baton)
{
    const create_t *cr = baton;
    const bulkio_new_job_t *job = cr->job;
    const char *params[] = {
        job->job_id, job->resource, job->format, job->principal,
        job->source_path, job->source_url, apr_off_t_toa(p, job->bytes_total),
        job->kind, job->params ? job->params : "{}", job->mode,
        job->max_errors, job->max_error_rows, job->max_error_bytes,
        job->dry_run ? "true" : "false", job->atomic ? "true" : "false",
        job->source_name,
        strcmp(job->kind, "import") ? NULL
                                    : job->results ? "true" : "false"
    };
    apr_status_t rv;
    int full = 0;

    if (job->max_active > 0) {
        /* the principal's jobs are counted and added to one at a time */
        rv = bulkio_pq_exec(p, conn, "SELECT pg_advisory_xact_lock("
                            "hashtext('bulkio-principal:' || $1))", 1,
                            &job->principal, NULL);
        if (rv == APR_SUCCESS) {
            rv = bulkio_store_principal_full(p, conn, job->principal,
                                             job->max_active, &full);
        }
        if (rv != APR_SUCCESS || full) {
            return rv != APR_SUCCESS ? rv : APR_EAGAIN;
        }
    }
    rv = bulkio_pq_exec(p, conn,
        "INSERT INTO bulkio_jobs (public_id, kind, resource, format, principal,"
        "                         source_path, source_url, bytes_total, params,"
        "                         mode, max_errors, max_error_rows,"
        "                         max_error_bytes, dry_run, atomic,"
        "                         source_name, results)"
        " VALUES ($1, $8, $2, $3, $4, $5, $6, $7, $9, $10, $11, $12, $13,"
        "         $14, $15, $16, $17)", 17, params, NULL);
    if (rv == APR_SUCCESS && job->callback_url) {
        /* its delivery waits for the job's end (sql/011_webhooks.sql) */
        const char *hook[] = {
            job->job_id, job->callback_url, job->callback_base
        };

        rv = bulkio_pq_one(p, conn,
            "INSERT INTO bulkio_webhooks (job_id, event_id, url, base)"
            " SELECT id, gen_random_uuid(), $2, $3 FROM bulkio_jobs"
            "  WHERE public_id = $1::uuid", 3, hook);
    }
    if (rv == APR_SUCCESS && cr->idem) {
        rv = bulkio_store_idem_complete(p, conn, cr->idem, cr->fingerprint,
                                        cr->status, cr->body, job->job_id);
    }
    return rv;
}

apr_status_t bulkio_store_job_create(apr_pool_t *p, PGconn *conn,
                                     const bulkio_new_job_t *job,
                                     const bulkio_idem_t *idem,
                                     const char *fingerprint,
                                     int status, const char *body,
                                     const char **perror)
{
    create_t cr;

    cr.job = job;
    cr.idem = idem;
    cr.fingerprint = fingerprint;
    cr.status = status;
    cr.body = body;
    return bulkio_pq_txn(p, conn, NULL, create, &cr, perror);
}

apr_status_t bulkio_store_principal_full(apr_pool_t *p, PGconn *conn,
                                        const char *principal, int max,
                                        int *pfull)
{
    const char *params[] = { principal, apr_itoa(p, max) };
    apr_status_t rv;
    int full = 0;

    rv = bulkio_pq_get(p, conn,
        "SELECT count(*) >= $2::int AS is_full FROM bulkio_jobs"
        " WHERE principal = $1 AND status IN ('pending', 'running')",
        2, params, full_col, &full);
    if (rv == APR_SUCCESS) {
        *pfull = max > 0 && full;
    }
    return rv;
}

apr_status_t bulkio_store_job_get(apr_pool_t *p, PGconn *conn,
                                  const char *kind, const char *principal,
                                  const char *job_id, bulkio_job_t **pjob)
{
    const char *params[] = { job_id, kind, principal };
    bulkio_job_t *j = apr_pcalloc(p, sizeof(*j));
    apr_status_t rv;

    rv = bulkio_pq_get(p, conn, JOB_SELECT
        " WHERE public_id = $1::uuid AND kind = $2 AND principal = $3",
        3, params, job_cols, j);
    if (rv == APR_SUCCESS) {
        *pjob = j;
    }
    return rv;
}

apr_status_t bulkio_store_export_get(apr_pool_t *p, PGconn *conn,
                                     const char *job_id, bulkio_job_t **pjob)
{
    bulkio_job_t *j = apr_pcalloc(p, sizeof(*j));
    apr_status_t rv;

    rv = bulkio_pq_get(p, conn, JOB_SELECT
        " WHERE public_id = $1::uuid AND kind = 'export'", 1, &job_id,
        job_cols, j);
    if (rv == APR_SUCCESS) {
        *pjob = j;
    }
    return rv;
}

/* The filters of a job list, $1 to $7 of the parameters filters() gives.
 * An unnamed statement is planned with its parameters: the filters that
 * are NULL fold away, and what is left is a range scan of
 * bulkio_jobs_list_idx (principal, kind, created_at DESC, id DESC) for a
 * list of one kind, of bulkio_jobs_all_idx (principal, created_at DESC,
 * id DESC) for the list across kinds. */
#define LIST_WHERE \
    " WHERE principal = $1 AND ($2::text IS NULL OR kind = $2::text)" \
    "   AND ($3::text[] IS NULL OR status = ANY ($3::text[]))" \
    "   AND ($4::text IS NULL OR resource = $4::text)" \
    "   AND ($5::timestamptz IS NULL OR created_at > $5::timestamptz)" \
    "   AND ($6::timestamptz IS NULL OR created_at < $6::timestamptz)" \
    "   AND ($7::text IS NULL OR public_id::text LIKE $7::text || '%')"
#define LIST_NPARAMS 7

/* The parameters of LIST_WHERE, with room for n more. */
static const char **filters(apr_pool_t *p, const bulkio_job_query_t *q,
                            int n)
{
    const char **params = apr_pcalloc(p, (LIST_NPARAMS + n)
                                         * sizeof(*params));

    params[0] = q->principal;
    params[1] = q->kind;
    params[2] = q->statuses;
    params[3] = q->resource;
    params[4] = q->created_after;
    params[5] = q->created_before;
    params[6] = q->id_prefix;
    return params;
}

apr_status_t bulkio_store_job_list(apr_pool_t *p, PGconn *conn,
                                   const bulkio_job_query_t *q,
                                   apr_array_header_t **pjobs)
{
    const char **params = filters(p, q, 3);
    apr_array_header_t *rows;
    apr_status_t rv;
    int i;

    if (q->after_set) {
        params[LIST_NPARAMS] = bulkio_pq_int64(p, q->after_us);
        params[LIST_NPARAMS + 1] = bulkio_pq_int64(p, q->after_id);
    }
    params[LIST_NPARAMS + 2] = apr_itoa(p, q->limit);
    rv = bulkio_pq_list(p, conn, JOB_SELECT LIST_WHERE
        "   AND ($8::bigint IS NULL OR (created_at, id) <"
        "        ('epoch'::timestamptz + $8::bigint * interval '1 microsecond',"
        "         $9::bigint))"
        " ORDER BY j.created_at DESC, j.id DESC"
        " LIMIT $10::integer",
        LIST_NPARAMS + 3, params, job_cols, sizeof(bulkio_job_t), &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pjobs = apr_array_make(p, rows->nelts + 1, sizeof(bulkio_job_t *));
    for (i = 0; i < rows->nelts; ++i) {
        APR_ARRAY_PUSH(*pjobs, bulkio_job_t *) = &APR_ARRAY_IDX(rows, i,
                                                               bulkio_job_t);
    }
    return APR_SUCCESS;
}

apr_status_t bulkio_store_job_count(apr_pool_t *p, PGconn *conn,
                                    const bulkio_job_query_t *q,
                                    apr_int64_t *ptotal)
{
    static const bulkio_pq_col_t total_col[] = {
        { "total", BULKIO_PQ_INT64, 0 }, BULKIO_PQ_END
    };

    return bulkio_pq_get(p, conn, "SELECT count(*) AS total"
                         "  FROM bulkio_jobs" LIST_WHERE, LIST_NPARAMS,
                         filters(p, q, 0), total_col, ptotal);
}

apr_status_t bulkio_store_cancel(apr_pool_t *p, PGconn *conn,
                                 const char *kind, const char *principal,
                                 const char *job_id, const char **pstatus)
{
    const char *params[] = { job_id, kind, principal };

    return bulkio_pq_get(p, conn,
        "UPDATE bulkio_jobs"
        "   SET cancel_requested = status IN ('pending', 'running'),"
        "       status = CASE WHEN status = 'pending' THEN 'canceled'"
        "                     ELSE status END,"
        "       completed_at = CASE WHEN status = 'pending' THEN now()"
        "                           ELSE completed_at END"
        " WHERE public_id = $1::uuid AND kind = $2 AND principal = $3"
        " RETURNING status", 3, params, status_col, pstatus);
}

apr_status_t bulkio_store_errors_head(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, int max,
                                      apr_array_header_t **perrors)
{
    const char *params[] = { bulkio_pq_int64(p, job), apr_itoa(p, max) };

    return bulkio_pq_list(p, conn, ERRORS_SQL " LIMIT $2", 2, params,
                          error_cols, sizeof(bulkio_rec_error_t), perrors);
}

apr_status_t bulkio_store_errors_send(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job)
{
    const char *params[] = { bulkio_pq_int64(p, job) };

    return bulkio_pq_send(conn, ERRORS_SQL, 1, params);
}

void bulkio_store_error_at(const PGresult *res, int i, bulkio_rec_error_t *e)
{
    bulkio_pq_row(res, i, error_cols, e);
}

apr_status_t bulkio_store_import_source(apr_pool_t *p, PGconn *conn,
                                        apr_int64_t job, const char *owner,
                                        const char *path, const char *format,
                                        apr_off_t size)
{
    const char *params[] = {
        bulkio_pq_int64(p, job), owner, path, format, apr_off_t_toa(p, size)
    };

    return bulkio_pq_one(p, conn,
        "UPDATE bulkio_jobs SET source_path = $3, format = $4,"
        "       bytes_total = $5"
        " WHERE id = $1 AND lease_owner = $2", 5, params);
}

apr_status_t bulkio_store_export_file(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, const char *owner,
                                      const char *path, apr_off_t size,
                                      apr_int64_t records,
                                      apr_interval_time_t ttl)
{
    const char *params[] = {
        bulkio_pq_int64(p, job), owner, path, apr_off_t_toa(p, size),
        bulkio_pq_int64(p, records), bulkio_pq_secs(p, ttl)
    };

    /* the running totals count an export's records once, when its file
     * is first recorded; the statement returns a row when owner holds the
     * job and nobody asked to cancel it (the row lock orders it with the
     * DELETE's update) */
    return bulkio_pq_one(p, conn,
        "WITH o AS ("
        "  SELECT id, resource, file_size FROM bulkio_jobs"
        "   WHERE id = $1 AND lease_owner = $2 AND NOT cancel_requested"
        "     FOR UPDATE),"
        " u AS ("
        "  UPDATE bulkio_jobs j"
        "     SET source_path = $3, file_size = $4,"
        "         total_records = $5, success_count = $5,"
        "         checkpoint_records = $5, checkpoint_bytes = $4,"
        "         expires_at = now() + $6::interval"
        "    FROM o WHERE j.id = o.id"
        "  RETURNING o.resource, o.file_size AS was),"
        " t AS ("
        "  INSERT INTO bulkio_record_totals AS t (kind, resource, counter,"
        "                                         value)"
        "  SELECT 'export', u.resource, d.counter, $5::bigint"
        "    FROM u, (VALUES (1, 'processed'), (2, 'succeeded'))"
        "         AS d(o, counter)"
        "   WHERE u.was IS NULL AND $5::bigint > 0"
        "   ORDER BY d.o"
        "      ON CONFLICT (kind, resource, counter)"
        "      DO UPDATE SET value = t.value + EXCLUDED.value)"
        "SELECT 1 FROM u", 6, params);
}
