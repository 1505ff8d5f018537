/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <poll.h>
#include <stdlib.h>

#include <apr_strings.h>

#include "bulkio_store.h"

/* Timestamps leave the database as RFC 3339 UTC with milliseconds. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', " \
                "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static apr_status_t clear_result(void *res)
{
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t bulkio_pq_exec(apr_pool_t *p, PGconn *conn, const char *sql,
                            int nparams, const char *const *params,
                            PGresult **pres)
{
    PGresult *res;
    ExecStatusType st;

    res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (res) {
        apr_pool_cleanup_register(p, res, clear_result,
                                  apr_pool_cleanup_null);
    }
    if (pres) {
        *pres = res;
    }
    st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
           ? APR_SUCCESS : APR_EGENERAL;
}

const char *bulkio_pq_error(apr_pool_t *p, PGconn *conn)
{
    char *msg = apr_pstrdup(p, conn ? PQerrorMessage(conn) : "no connection");
    char *nl;

    while ((nl = strchr(msg, '\n'))) {
        *nl = nl[1] ? ' ' : '\0';
    }
    return msg;
}

/* Seconds as the text PostgreSQL reads into an interval. */
static const char *secs(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT " seconds",
                        (apr_int64_t)apr_time_sec(t));
}

static apr_int64_t int64_at(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0
           : apr_atoi64(PQgetvalue(res, row, col));
}

static const char *str_at(apr_pool_t *p, const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
           : apr_pstrdup(p, PQgetvalue(res, row, col));
}

apr_status_t bulkio_store_ping(apr_pool_t *p, PGconn *conn)
{
    return bulkio_pq_exec(p, conn, "SELECT 1", 0, NULL, NULL);
}

apr_status_t bulkio_store_idem_claim(apr_pool_t *p, PGconn *conn,
                                     bulkio_idem_t *idem,
                                     apr_interval_time_t lease,
                                     apr_interval_time_t ttl)
{
    const char *params[5];
    PGresult *res;
    apr_status_t rv;

    params[0] = idem->principal;
    params[1] = idem->endpoint;
    params[2] = idem->key;
    params[3] = secs(p, lease);
    params[4] = secs(p, ttl);
    /* A key past its TTL, or a claim whose uploader vanished, is free. */
    rv = bulkio_pq_exec(p, conn,
        "DELETE FROM bulkio_idempotency_keys"
        " WHERE principal = $1 AND endpoint = $2 AND idem_key = $3"
        "   AND (expires_at < now()"
        "        OR (state = 'receiving' AND lease_expires_at < now()))",
        3, params, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = bulkio_pq_exec(p, conn,
        "INSERT INTO bulkio_idempotency_keys"
        " (principal, endpoint, idem_key, state, lease_expires_at, expires_at)"
        " VALUES ($1, $2, $3, 'receiving', now() + $4::interval,"
        "         now() + $5::interval)"
        " ON CONFLICT DO NOTHING", 5, params, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!strcmp(PQcmdTuples(res), "1")) {
        idem->state = BULKIO_IDEM_CLAIMED;
        return APR_SUCCESS;
    }
    rv = bulkio_pq_exec(p, conn,
        "SELECT k.state, k.fingerprint, k.response_status, k.response_body,"
        "       j.public_id"
        "  FROM bulkio_idempotency_keys k"
        "  LEFT JOIN bulkio_jobs j ON j.id = k.job_id"
        " WHERE k.principal = $1 AND k.endpoint = $2 AND k.idem_key = $3",
        3, params, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Released between our insert and this read: as good as busy. */
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "done")) {
        idem->state = BULKIO_IDEM_BUSY;
        return APR_SUCCESS;
    }
    idem->state = BULKIO_IDEM_DONE;
    idem->fingerprint = str_at(p, res, 0, 1);
    idem->status = (int)int64_at(res, 0, 2);
    idem->body = str_at(p, res, 0, 3);
    idem->job_id = str_at(p, res, 0, 4);
    return APR_SUCCESS;
}

apr_status_t bulkio_store_idem_renew(apr_pool_t *p, PGconn *conn,
                                     const bulkio_idem_t *idem,
                                     apr_interval_time_t lease)
{
    const char *params[4];

    params[0] = idem->principal;
    params[1] = idem->endpoint;
    params[2] = idem->key;
    params[3] = secs(p, lease);
    return bulkio_pq_exec(p, conn,
        "UPDATE bulkio_idempotency_keys"
        "   SET lease_expires_at = now() + $4::interval"
        " WHERE principal = $1 AND endpoint = $2 AND idem_key = $3"
        "   AND state = 'receiving'", 4, params, NULL);
}

apr_status_t bulkio_store_idem_release(apr_pool_t *p, PGconn *conn,
                                       const bulkio_idem_t *idem)
{
    const char *params[3];

    params[0] = idem->principal;
    params[1] = idem->endpoint;
    params[2] = idem->key;
    return bulkio_pq_exec(p, conn,
        "DELETE FROM bulkio_idempotency_keys"
        " WHERE principal = $1 AND endpoint = $2 AND idem_key = $3"
        "   AND state = 'receiving'", 3, params, NULL);
}

apr_status_t bulkio_store_job_create(apr_pool_t *p, PGconn *conn,
                                     const bulkio_new_job_t *job,
                                     const bulkio_idem_t *idem,
                                     const char *fingerprint,
                                     int status, const char *body)
{
    const char *params[9];
    apr_status_t rv;

    if ((rv = bulkio_pq_exec(p, conn, "BEGIN", 0, NULL, NULL)) != APR_SUCCESS) {
        goto leave;
    }
    params[0] = job->job_id;
    params[1] = job->resource;
    params[2] = job->format;
    params[3] = job->principal;
    params[4] = job->source_path;
    params[5] = job->source_url;
    params[6] = apr_off_t_toa(p, job->bytes_total);
    params[7] = job->kind;
    params[8] = job->params ? job->params : "{}";
    if (job->max_active > 0) {
        /* the principal's jobs are counted and added to one at a time */
        const char *lp[2];
        PGresult *res;

        lp[0] = job->principal;
        lp[1] = apr_itoa(p, job->max_active);
        rv = bulkio_pq_exec(p, conn, "SELECT pg_advisory_xact_lock("
                            "hashtext('bulkio-principal:' || $1))", 1, lp,
                            NULL);
        if (rv == APR_SUCCESS) {
            rv = bulkio_pq_exec(p, conn, BULKIO_STORE_FULL_SQL, 2, lp,
                                &res);
        }
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        if (PQgetvalue(res, 0, 0)[0] == 't') {
            rv = APR_EAGAIN;
            goto leave;
        }
    }
    rv = bulkio_pq_exec(p, conn,
        "INSERT INTO bulkio_jobs (public_id, kind, resource, format, principal,"
        "                         source_path, source_url, bytes_total, params)"
        " VALUES ($1, $8, $2, $3, $4, $5, $6, $7, $9)", 9, params, NULL);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if (idem) {
        params[0] = idem->principal;
        params[1] = idem->endpoint;
        params[2] = idem->key;
        params[3] = fingerprint;
        params[4] = apr_itoa(p, status);
        params[5] = body;
        params[6] = job->job_id;
        rv = bulkio_pq_exec(p, conn,
            "UPDATE bulkio_idempotency_keys"
            "   SET state = 'done', fingerprint = $4, response_status = $5,"
            "       response_body = $6,"
            "       job_id = (SELECT id FROM bulkio_jobs WHERE public_id = $7)"
            " WHERE principal = $1 AND endpoint = $2 AND idem_key = $3"
            "   AND state = 'receiving'", 7, params, NULL);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
    }
    rv = bulkio_pq_exec(p, conn, "COMMIT", 0, NULL, NULL);
leave:
    if (rv != APR_SUCCESS && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
    return rv;
}

static double double_at(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0.0 : atof(PQgetvalue(res, row, col));
}

/* The columns of a job's status document, in the order job_at() reads. */
#define JOB_COLS \
    "id, public_id, kind, status, resource, format, reason," \
    " total_records, success_count, error_count," \
    " checkpoint_records, checkpoint_bytes, bytes_total," \
    " extract(epoch FROM coalesce(completed_at, now()) - started_at)," \
    " " TS("created_at") ", " TS("started_at") "," \
    " " TS("completed_at") ", source_path, coalesce(file_size, -1)," \
    " expires_at < now(), " TS("expires_at") ", params::text," \
    " (extract(epoch FROM created_at) * 1000000)::bigint"

static bulkio_job_t *job_at(apr_pool_t *p, const PGresult *res, int i)
{
    bulkio_job_t *j = apr_pcalloc(p, sizeof(*j));

    j->id = int64_at(res, i, 0);
    j->job_id = str_at(p, res, i, 1);
    j->kind = str_at(p, res, i, 2);
    j->status = str_at(p, res, i, 3);
    j->resource = str_at(p, res, i, 4);
    j->format = str_at(p, res, i, 5);
    j->reason = str_at(p, res, i, 6);
    j->total_records = int64_at(res, i, 7);
    j->success_count = int64_at(res, i, 8);
    j->error_count = int64_at(res, i, 9);
    j->processed_records = int64_at(res, i, 10);
    j->bytes_processed = int64_at(res, i, 11);
    j->bytes_total = int64_at(res, i, 12);
    j->elapsed_seconds = double_at(res, i, 13);
    j->created_at = str_at(p, res, i, 14);
    j->started_at = str_at(p, res, i, 15);
    j->completed_at = str_at(p, res, i, 16);
    j->source_path = str_at(p, res, i, 17);
    j->file_size = int64_at(res, i, 18);
    j->expired = !PQgetisnull(res, i, 19) && PQgetvalue(res, i, 19)[0] == 't';
    j->expires_at = str_at(p, res, i, 20);
    j->params = str_at(p, res, i, 21);
    j->created_us = int64_at(res, i, 22);
    return j;
}

apr_status_t bulkio_store_principal_full(apr_pool_t *p, PGconn *conn,
                                        const char *principal, int max,
                                        int *pfull)
{
    const char *params[2];
    PGresult *res;
    apr_status_t rv;

    params[0] = principal;
    params[1] = apr_itoa(p, max);
    rv = bulkio_pq_exec(p, conn, BULKIO_STORE_FULL_SQL, 2, params, &res);
    if (rv == APR_SUCCESS) {
        *pfull = max > 0 && PQgetvalue(res, 0, 0)[0] == 't';
    }
    return rv;
}

apr_status_t bulkio_store_job_get(apr_pool_t *p, PGconn *conn,
                                  const char *kind, const char *principal,
                                  const char *job_id, bulkio_job_t **pjob)
{
    const char *params[3];
    PGresult *res;
    apr_status_t rv;

    params[0] = job_id;
    params[1] = kind;
    params[2] = principal;
    rv = bulkio_pq_exec(p, conn,
        "SELECT " JOB_COLS
        "  FROM bulkio_jobs"
        " WHERE public_id = $1::uuid AND kind = $2 AND principal = $3",
        3, params, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) != 1) {
        return APR_NOTFOUND;
    }
    *pjob = job_at(p, res, 0);
    return APR_SUCCESS;
}

apr_status_t bulkio_store_job_list(apr_pool_t *p, PGconn *conn,
                                   const bulkio_job_query_t *q,
                                   apr_array_header_t **pjobs)
{
    const char *params[9];
    PGresult *res;
    apr_status_t rv;
    int i;

    params[0] = q->principal;
    params[1] = q->kind;
    params[2] = q->statuses;
    params[3] = q->resource;
    params[4] = q->created_after;
    params[5] = q->created_before;
    params[6] = q->after_set ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                            q->after_us) : NULL;
    params[7] = q->after_set ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                            q->after_id) : NULL;
    params[8] = apr_psprintf(p, "%d", q->limit);
    /* an unnamed statement is planned with its parameters: the filters
     * that are NULL fold away, and what is left is a range scan of
     * bulkio_jobs_list_idx (principal, kind, created_at DESC, id DESC) */
    rv = bulkio_pq_exec(p, conn,
        "SELECT " JOB_COLS
        "  FROM bulkio_jobs"
        " WHERE principal = $1 AND kind = $2"
        "   AND ($3::text[] IS NULL OR status = ANY ($3::text[]))"
        "   AND ($4::text IS NULL OR resource = $4::text)"
        "   AND ($5::timestamptz IS NULL OR created_at > $5::timestamptz)"
        "   AND ($6::timestamptz IS NULL OR created_at < $6::timestamptz)"
        "   AND ($7::bigint IS NULL OR (created_at, id) <"
        "        ('epoch'::timestamptz + $7::bigint * interval '1 microsecond',"
        "         $8::bigint))"
        " ORDER BY created_at DESC, id DESC"
        " LIMIT $9::integer",
        9, params, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pjobs = apr_array_make(p, PQntuples(res) + 1, sizeof(bulkio_job_t *));
    for (i = 0; i < PQntuples(res); ++i) {
        APR_ARRAY_PUSH(*pjobs, bulkio_job_t *) = job_at(p, res, i);
    }
    return APR_SUCCESS;
}

apr_status_t bulkio_store_errors_head(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, int max,
                                      PGresult **pres)
{
    const char *params[2];

    params[0] = apr_ltoa(p, (long)job);
    params[1] = apr_itoa(p, max);
    return bulkio_pq_exec(p, conn, BULKIO_STORE_ERRORS_SQL " LIMIT $2", 2,
                          params, pres);
}

void bulkio_store_error_at(const PGresult *res, int i, bulkio_rec_error_t *e)
{
    e->record_index = int64_at(res, i, 0);
    e->line = int64_at(res, i, 1);
    e->field = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
    e->error_type = PQgetvalue(res, i, 3);
    e->message = PQgetvalue(res, i, 4);
    e->record_data = PQgetvalue(res, i, 5);
    if (PQgetisnull(res, i, 5)) {
        e->record_data = NULL;
    }
}

apr_status_t bulkio_store_claim(apr_pool_t *p, PGconn *conn,
                                const char *server, const char *owner,
                                int max_jobs, apr_interval_time_t lease,
                                bulkio_claim_t **pclaim)
{
    const char *params[4];
    PGresult *res;
    bulkio_claim_t *c;
    apr_status_t rv;
    int i;

    params[0] = server;
    params[1] = owner;
    params[2] = secs(p, lease);
    params[3] = apr_itoa(p, max_jobs);
    if ((rv = bulkio_pq_exec(p, conn, "BEGIN", 0, NULL, NULL)) != APR_SUCCESS) {
        goto leave;
    }
    /* one claimer per server at a time, so the limit holds across
     * processes (and a graceful restart's overlapping schedulers) */
    rv = bulkio_pq_exec(p, conn, "SELECT pg_advisory_xact_lock("
                        "hashtext('bulkio-claim:' || $1))", 1, params, NULL);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = bulkio_pq_exec(p, conn,
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
        " RETURNING id, public_id, kind, resource, format, source_path,"
        "           source_url, reason, checkpoint_records, checkpoint_bytes,"
        "           total_records, success_count, error_count, attempts,"
        "           params::text, parse_errors, validation_errors,"
        "           foreign_key_errors, duplicate_errors",
        4, params, &res);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if ((rv = bulkio_pq_exec(p, conn, "COMMIT", 0, NULL, NULL)) != APR_SUCCESS) {
        goto leave;
    }
    if (PQntuples(res) != 1) {
        return APR_NOTFOUND;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->id = int64_at(res, 0, 0);
    c->job_id = str_at(p, res, 0, 1);
    c->kind = str_at(p, res, 0, 2);
    c->resource = str_at(p, res, 0, 3);
    c->format = str_at(p, res, 0, 4);
    c->source_path = str_at(p, res, 0, 5);
    c->source_url = str_at(p, res, 0, 6);
    c->reason = str_at(p, res, 0, 7);
    c->checkpoint_records = int64_at(res, 0, 8);
    c->checkpoint_bytes = int64_at(res, 0, 9);
    c->total_records = int64_at(res, 0, 10);
    c->success_count = int64_at(res, 0, 11);
    c->error_count = int64_at(res, 0, 12);
    c->attempts = (int)int64_at(res, 0, 13);
    c->params = str_at(p, res, 0, 14);
    for (i = 0; i < BULKIO_STORE_ERR_TYPES; ++i) {
        c->errors_by_type[i] = int64_at(res, 0, 15 + i);
    }
    *pclaim = c;
    return APR_SUCCESS;
leave:
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
    return rv;
}

apr_status_t bulkio_store_checkpoint(apr_pool_t *p, PGconn *conn,
                                     apr_int64_t job, const char *owner,
                                     apr_interval_time_t lease,
                                     const bulkio_progress_t *prog,
                                     int *pcancel)
{
    const char *params[7 + BULKIO_STORE_ERR_TYPES];
    PGresult *res;
    apr_status_t rv;
    int i;

    params[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, job);
    params[1] = owner;
    params[2] = secs(p, lease);
    params[3] = apr_psprintf(p, "%" APR_INT64_T_FMT, prog->records);
    params[4] = apr_psprintf(p, "%" APR_INT64_T_FMT, prog->bytes);
    params[5] = apr_psprintf(p, "%" APR_INT64_T_FMT, prog->success);
    params[6] = apr_psprintf(p, "%" APR_INT64_T_FMT, prog->errors);
    for (i = 0; i < BULKIO_STORE_ERR_TYPES; ++i) {
        params[7 + i] = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                     prog->by_type[i]);
    }
    /* an import's running totals grow by what this batch adds to the
     * job's counters, in the batch's transaction: counted exactly once
     * (an export's are counted with its file, see export_file) */
    rv = bulkio_pq_exec(p, conn,
        "WITH o AS ("
        "  SELECT id, kind, resource, total_records, success_count,"
        "         parse_errors, validation_errors, foreign_key_errors,"
        "         duplicate_errors"
        "    FROM bulkio_jobs"
        "   WHERE id = $1 AND lease_owner = $2 AND status = 'running'"
        "     FOR UPDATE),"
        " u AS ("
        "  UPDATE bulkio_jobs j"
        "     SET checkpoint_records = $4, checkpoint_bytes = $5,"
        "         total_records = $4, success_count = $6, error_count = $7,"
        "         parse_errors = $8, validation_errors = $9,"
        "         foreign_key_errors = $10, duplicate_errors = $11,"
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
        "           (6, 'DUPLICATE_ERROR', $11::bigint - u.duplicate_errors))"
        "         AS d(o, counter, value)"
        "   WHERE u.kind = 'import' AND d.value > 0"
        "   ORDER BY d.o"
        "      ON CONFLICT (kind, resource, counter)"
        "      DO UPDATE SET value = t.value + EXCLUDED.value)"
        "SELECT cancel_requested FROM u", 7 + BULKIO_STORE_ERR_TYPES, params,
        &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) != 1) {
        return APR_NOTFOUND;
    }
    *pcancel = PQgetvalue(res, 0, 0)[0] == 't';
    return APR_SUCCESS;
}

apr_status_t bulkio_store_finish(apr_pool_t *p, PGconn *conn,
                                 apr_int64_t job, const char *owner,
                                 const char *status, const char *reason)
{
    const char *params[4];
    PGresult *res;
    apr_status_t rv;

    params[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, job);
    params[1] = owner;
    params[2] = status;
    params[3] = reason;
    rv = bulkio_pq_exec(p, conn,
        "UPDATE bulkio_jobs"
        "   SET status = $3, reason = $4, lease_owner = NULL,"
        "       lease_server = NULL, lease_expires_at = NULL,"
        "       completed_at = CASE WHEN $3 = 'pending' THEN NULL"
        "                           ELSE now() END"
        " WHERE id = $1 AND lease_owner = $2", 4, params, &res);
    if (rv == APR_SUCCESS && strcmp(PQcmdTuples(res), "1")) {
        rv = APR_NOTFOUND;
    }
    return rv;
}

apr_status_t bulkio_store_cancel(apr_pool_t *p, PGconn *conn,
                                 const char *kind, const char *principal,
                                 const char *job_id, const char **pstatus)
{
    const char *params[3];
    PGresult *res;
    apr_status_t rv;

    params[0] = job_id;
    params[1] = kind;
    params[2] = principal;
    rv = bulkio_pq_exec(p, conn,
        "UPDATE bulkio_jobs"
        "   SET cancel_requested = status IN ('pending', 'running'),"
        "       status = CASE WHEN status = 'pending' THEN 'canceled'"
        "                     ELSE status END,"
        "       completed_at = CASE WHEN status = 'pending' THEN now()"
        "                           ELSE completed_at END"
        " WHERE public_id = $1::uuid AND kind = $2 AND principal = $3"
        " RETURNING status", 3, params, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) != 1) {
        return APR_NOTFOUND;
    }
    *pstatus = str_at(p, res, 0, 0);
    return APR_SUCCESS;
}

apr_status_t bulkio_store_export_file(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, const char *owner,
                                      const char *path, apr_off_t size,
                                      apr_int64_t records,
                                      apr_interval_time_t ttl)
{
    const char *params[6];
    PGresult *res;
    apr_status_t rv;

    params[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, job);
    params[1] = owner;
    params[2] = path;
    params[3] = apr_off_t_toa(p, size);
    params[4] = apr_psprintf(p, "%" APR_INT64_T_FMT, records);
    params[5] = secs(p, ttl);
    /* the running totals count an export's records once, when its file
     * is first recorded */
    rv = bulkio_pq_exec(p, conn,
        "WITH o AS ("
        "  SELECT id, resource, file_size FROM bulkio_jobs"
        "   WHERE id = $1 AND lease_owner = $2 FOR UPDATE),"
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
        "SELECT count(*) FROM u", 6, params, &res);
    if (rv == APR_SUCCESS && strcmp(PQgetvalue(res, 0, 0), "1")) {
        rv = APR_NOTFOUND;
    }
    return rv;
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

apr_status_t bulkio_store_import_source(apr_pool_t *p, PGconn *conn,
                                        apr_int64_t job, const char *owner,
                                        const char *path, const char *format,
                                        apr_off_t size)
{
    const char *params[5];
    PGresult *res;
    apr_status_t rv;

    params[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, job);
    params[1] = owner;
    params[2] = path;
    params[3] = format;
    params[4] = apr_off_t_toa(p, size);
    rv = bulkio_pq_exec(p, conn,
        "UPDATE bulkio_jobs SET source_path = $3, format = $4,"
        "       bytes_total = $5"
        " WHERE id = $1 AND lease_owner = $2", 5, params, &res);
    if (rv == APR_SUCCESS && strcmp(PQcmdTuples(res), "1")) {
        rv = APR_NOTFOUND;
    }
    return rv;
}

apr_status_t bulkio_store_renew(apr_pool_t *p, PGconn *conn, apr_int64_t job,
                                const char *owner, apr_interval_time_t lease)
{
    const char *params[3];
    PGresult *res;
    apr_status_t rv;

    params[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, job);
    params[1] = owner;
    params[2] = secs(p, lease);
    rv = bulkio_pq_exec(p, conn,
        "UPDATE bulkio_jobs SET lease_expires_at = now() + $3::interval"
        " WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        3, params, &res);
    if (rv == APR_SUCCESS && strcmp(PQcmdTuples(res), "1")) {
        rv = APR_NOTFOUND;
    }
    return rv;
}

/* The fixed label sets of the metrics, in the order they are shown. */
#define M_KINDS "(VALUES (1, 'import'), (2, 'export')) AS k(o, kind)"
#define M_RESOURCES "(VALUES (1, 'users'), (2, 'articles'), " \
                    "(3, 'comments')) AS r(o, resource)"

/* The running-job columns both readers select, in bulkio_m_running_t's
 * order. */
#define RUNNING_COLS \
    "public_id, kind, resource, format, lease_server, lease_owner, " \
    TS("started_at") ", checkpoint_records, success_count, error_count," \
    " checkpoint_bytes, bytes_total," \
    " extract(epoch FROM now() - started_at)::float8," \
    " extract(epoch FROM lease_expires_at - now())::float8"

static apr_array_header_t *running_rows(apr_pool_t *p, const PGresult *res)
{
    apr_array_header_t *a = apr_array_make(p, PQntuples(res) + 1,
                                           sizeof(bulkio_m_running_t));
    int i;

    for (i = 0; i < PQntuples(res); ++i) {
        bulkio_m_running_t *j = apr_array_push(a);

        j->job_id = str_at(p, res, i, 0);
        j->kind = str_at(p, res, i, 1);
        j->resource = str_at(p, res, i, 2);
        j->format = str_at(p, res, i, 3);
        j->server = str_at(p, res, i, 4);
        j->owner = str_at(p, res, i, 5);
        j->started_at = str_at(p, res, i, 6);
        j->records = int64_at(res, i, 7);
        j->success = int64_at(res, i, 8);
        j->errors = int64_at(res, i, 9);
        j->bytes = int64_at(res, i, 10);
        j->bytes_total = int64_at(res, i, 11);
        j->elapsed = double_at(res, i, 12);
        j->lease_left = double_at(res, i, 13);
    }
    return a;
}

/* The metrics' queries, run in one snapshot. */
static apr_status_t metrics_read(apr_pool_t *p, PGconn *conn,
                                 bulkio_metrics_t *m)
{
    const char *params[1];
    PGresult *res;
    apr_status_t rv;
    int i, k;

    rv = bulkio_pq_exec(p, conn,
        "SELECT k.kind, s.status, count(j.id)"
        "  FROM " M_KINDS
        " CROSS JOIN (VALUES (1, 'pending'), (2, 'running'), (3, 'completed'),"
        "                    (4, 'failed'), (5, 'canceled')) AS s(o, status)"
        "  LEFT JOIN bulkio_jobs j ON j.kind = k.kind AND j.status = s.status"
        " GROUP BY k.o, k.kind, s.o, s.status ORDER BY k.o, s.o",
        0, NULL, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    m->jobs = apr_array_make(p, PQntuples(res) + 1, sizeof(bulkio_m_jobs_t));
    for (i = 0; i < PQntuples(res); ++i) {
        bulkio_m_jobs_t *e = apr_array_push(m->jobs);

        e->kind = str_at(p, res, i, 0);
        e->status = str_at(p, res, i, 1);
        e->count = int64_at(res, i, 2);
    }

    rv = bulkio_pq_exec(p, conn, BULKIO_STORE_RECORDS_SQL, 0, NULL, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    m->records = apr_array_make(p, PQntuples(res) + 1,
                                sizeof(bulkio_m_records_t));
    for (i = 0; i < PQntuples(res); ++i) {
        bulkio_m_records_t *e = apr_array_push(m->records);

        e->kind = str_at(p, res, i, 0);
        e->resource = str_at(p, res, i, 1);
        e->processed = int64_at(res, i, 2);
        e->succeeded = int64_at(res, i, 3);
        e->failed = int64_at(res, i, 4);
    }

    rv = bulkio_pq_exec(p, conn, BULKIO_STORE_ERRTYPES_SQL, 0, NULL, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    m->errors = apr_array_make(p, PQntuples(res) + 1,
                               sizeof(bulkio_m_errors_t));
    for (i = 0; i < PQntuples(res); ++i) {
        bulkio_m_errors_t *e = apr_array_push(m->errors);

        e->resource = str_at(p, res, i, 0);
        e->error_type = str_at(p, res, i, 1);
        e->count = int64_at(res, i, 2);
    }

    rv = bulkio_pq_exec(p, conn,
        "SELECT " RUNNING_COLS " FROM bulkio_jobs"
        " WHERE status = 'running' ORDER BY id", 0, NULL, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    m->running = running_rows(p, res);

    /* per kind and bucket (the number of bounds below the duration, so
     * the first bound at or above it), the count and sum of durations */
    params[0] = "{";
    for (i = 0; i < m->nbuckets; ++i) {
        params[0] = apr_psprintf(p, "%s%s%.17g", params[0], i ? "," : "",
                                 m->buckets[i]);
    }
    params[0] = apr_pstrcat(p, params[0], "}", NULL);
    rv = bulkio_pq_exec(p, conn,
        "SELECT k.o, (SELECT count(*) FROM unnest($1::float8[]) AS b(le)"
        "              WHERE b.le < d.s),"
        "       count(*), sum(d.s)"
        "  FROM (SELECT kind,"
        "               extract(epoch FROM completed_at - started_at)::float8"
        "               AS s"
        "          FROM bulkio_jobs"
        "         WHERE status IN ('completed', 'failed', 'canceled')"
        "           AND started_at IS NOT NULL"
        "           AND completed_at IS NOT NULL) AS d"
        "  JOIN " M_KINDS " ON k.kind = d.kind"
        " GROUP BY 1, 2", 1, params, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    m->durations = apr_array_make(p, 2, sizeof(bulkio_m_durations_t));
    for (k = 0; k < 2; ++k) {
        bulkio_m_durations_t *d = apr_array_push(m->durations);

        d->kind = k ? "export" : "import";
        d->counts = apr_pcalloc(p, sizeof(apr_int64_t)
                                   * (apr_size_t)(m->nbuckets + 1));
    }
    for (i = 0; i < PQntuples(res); ++i) {
        apr_int64_t kind = int64_at(res, i, 0), b = int64_at(res, i, 1);
        bulkio_m_durations_t *d;

        if (kind < 1 || kind > 2 || b < 0 || b > m->nbuckets) {
            continue;
        }
        d = &APR_ARRAY_IDX(m->durations, kind - 1, bulkio_m_durations_t);
        d->counts[b] += int64_at(res, i, 2);
        d->count += int64_at(res, i, 2);
        d->sum += double_at(res, i, 3);
    }

    rv = bulkio_pq_exec(p, conn,
        "SELECT count(*),"
        "       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8"
        "  FROM bulkio_jobs WHERE status = 'pending'", 0, NULL, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    m->queue_depth = int64_at(res, 0, 0);
    m->oldest_pending = double_at(res, 0, 1);
    return APR_SUCCESS;
}

apr_status_t bulkio_store_metrics(apr_pool_t *p, PGconn *conn,
                                  const double *buckets, int nbuckets,
                                  bulkio_metrics_t **pm, const char **perror)
{
    bulkio_metrics_t *m = apr_pcalloc(p, sizeof(*m));
    apr_status_t rv;

    m->buckets = buckets;
    m->nbuckets = nbuckets;
    rv = bulkio_pq_exec(p, conn, "BEGIN ISOLATION LEVEL REPEATABLE READ,"
                        " READ ONLY", 0, NULL, NULL);
    if (rv == APR_SUCCESS) {
        rv = metrics_read(p, conn, m);
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_exec(p, conn, "COMMIT", 0, NULL, NULL);
    }
    if (rv != APR_SUCCESS) {
        /* the error is gone once rolled back */
        *perror = bulkio_pq_error(p, conn);
        if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
            PQclear(PQexec(conn, "ROLLBACK"));
        }
        return rv;
    }
    *pm = m;
    return APR_SUCCESS;
}

apr_status_t bulkio_store_server_jobs(apr_pool_t *p, PGconn *conn,
                                      const char *server,
                                      apr_array_header_t **pjobs)
{
    const char *params[1];
    PGresult *res;
    apr_status_t rv;

    params[0] = server;
    rv = bulkio_pq_exec(p, conn,
        "SELECT " RUNNING_COLS " FROM bulkio_jobs"
        " WHERE status = 'running' AND lease_server = $1 ORDER BY id",
        1, params, &res);
    if (rv == APR_SUCCESS) {
        *pjobs = running_rows(p, res);
    }
    return rv;
}

/* ---- connection health, resuming after a database outage, retention ---- */

int bulkio_pq_revive(PGconn *conn)
{
    struct pollfd pfd;
    int i;

    if (!conn) {
        return 0;
    }
    /* an idle connection has nothing to read unless the server closed it
     * (shutdown, restart, terminated backend): then it has sent an error
     * and the end of the stream, which libpq sees one read at a time */
    for (i = 0; i < 4 && PQstatus(conn) == CONNECTION_OK
                && PQtransactionStatus(conn) == PQTRANS_IDLE; ++i) {
        pfd.fd = PQsocket(conn);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0 || !PQconsumeInput(conn)) {
            break;
        }
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        PQreset(conn);
    }
    return PQstatus(conn) == CONNECTION_OK;
}

int bulkio_pq_broken(PGconn *conn)
{
    return !conn || PQstatus(conn) != CONNECTION_OK;
}

apr_status_t bulkio_store_resume(apr_pool_t *p, PGconn *conn,
                                 bulkio_claim_t *c, const char *owner,
                                 apr_interval_time_t lease)
{
    const char *params[3];
    PGresult *res;
    apr_status_t rv;
    int i;

    params[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, c->id);
    params[1] = owner;
    params[2] = secs(p, lease);
    rv = bulkio_pq_exec(p, conn,
        "UPDATE bulkio_jobs SET lease_expires_at = now() + $3::interval"
        " WHERE id = $1 AND lease_owner = $2 AND status = 'running'"
        " RETURNING checkpoint_records, checkpoint_bytes, total_records,"
        "           success_count, error_count, source_path, format,"
        "           parse_errors, validation_errors, foreign_key_errors,"
        "           duplicate_errors",
        3, params, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) != 1) {
        return APR_NOTFOUND;
    }
    c->checkpoint_records = int64_at(res, 0, 0);
    c->checkpoint_bytes = int64_at(res, 0, 1);
    c->total_records = int64_at(res, 0, 2);
    c->success_count = int64_at(res, 0, 3);
    c->error_count = int64_at(res, 0, 4);
    c->source_path = str_at(p, res, 0, 5);
    c->format = str_at(p, res, 0, 6);
    for (i = 0; i < BULKIO_STORE_ERR_TYPES; ++i) {
        c->errors_by_type[i] = int64_at(res, 0, 7 + i);
    }
    return APR_SUCCESS;
}

#define FINISHED_BEFORE \
    "status IN ('completed', 'failed', 'canceled')" \
    " AND completed_at < now() - $1::interval"

apr_status_t bulkio_store_purge_errors(apr_pool_t *p, PGconn *conn,
                                       apr_interval_time_t retention,
                                       int max, int *pcount)
{
    const char *params[2];
    PGresult *res;
    apr_status_t rv;

    params[0] = secs(p, retention);
    params[1] = apr_itoa(p, max);
    rv = bulkio_pq_exec(p, conn,
        "DELETE FROM bulkio_job_errors e"
        " USING (SELECT x.job_id, x.record_index FROM bulkio_job_errors x"
        "         WHERE x.job_id IN (SELECT id FROM bulkio_jobs"
        "                             WHERE " FINISHED_BEFORE ")"
        "         LIMIT $2::int) d"
        " WHERE e.job_id = d.job_id AND e.record_index = d.record_index",
        2, params, &res);
    *pcount = rv == APR_SUCCESS ? atoi(PQcmdTuples(res)) : 0;
    return rv;
}

apr_status_t bulkio_store_purge_jobs(apr_pool_t *p, PGconn *conn,
                                     apr_interval_time_t retention, int max,
                                     PGresult **pres)
{
    const char *params[2];

    params[0] = secs(p, retention);
    params[1] = apr_itoa(p, max);
    /* only jobs whose error rows are gone already, so one statement never
     * deletes more than a batch */
    return bulkio_pq_exec(p, conn,
        "WITH old AS ("
        "  SELECT id FROM bulkio_jobs j WHERE " FINISHED_BEFORE
        "     AND NOT EXISTS (SELECT 1 FROM bulkio_job_errors e"
        "                      WHERE e.job_id = j.id)"
        "   ORDER BY id LIMIT $2::int FOR UPDATE SKIP LOCKED"
        ") DELETE FROM bulkio_jobs j USING old WHERE j.id = old.id"
        " RETURNING j.public_id::text, j.source_path", 2, params, pres);
}

apr_status_t bulkio_store_purge_idem(apr_pool_t *p, PGconn *conn,
                                     apr_interval_time_t grace, int max,
                                     int *pcount)
{
    const char *params[2];
    PGresult *res;
    apr_status_t rv;

    params[0] = secs(p, grace);
    params[1] = apr_itoa(p, max);
    rv = bulkio_pq_exec(p, conn,
        "DELETE FROM bulkio_idempotency_keys k"
        " USING (SELECT principal, endpoint, idem_key"
        "          FROM bulkio_idempotency_keys"
        "         WHERE expires_at < now()"
        "            OR (state = 'receiving'"
        "                AND lease_expires_at < now() - $1::interval)"
        "         LIMIT $2::int) d"
        " WHERE k.principal = d.principal AND k.endpoint = d.endpoint"
        "   AND k.idem_key = d.idem_key", 2, params, &res);
    *pcount = rv == APR_SUCCESS ? atoi(PQcmdTuples(res)) : 0;
    return rv;
}

apr_status_t bulkio_store_spool_refs(apr_pool_t *p, PGconn *conn,
                                     const char *ids, PGresult **pres)
{
    const char *params[1];

    params[0] = ids;
    return bulkio_pq_exec(p, conn,
        "SELECT public_id::text, status IN ('pending', 'running'),"
        "       regexp_replace(coalesce(source_path, ''), '^.*/', '')"
        "  FROM bulkio_jobs WHERE public_id = ANY($1::uuid[])",
        1, params, pres);
}
