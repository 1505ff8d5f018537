/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_file_io.h>
#include <apr_strings.h>

#include "bulkio_export.h"
#include "bulkio_job.h"
#include "bulkio_store.h"
#include "bulkio_util.h"

#define FETCH_ROWS     "1000"
#define PROGRESS_EVERY apr_time_from_sec(5)

/* Write buf to f and empty it. */
static apr_status_t drain(apr_file_t *f, bulkio_buf_t *buf)
{
    apr_status_t rv = apr_file_write_full(f, buf->data, buf->len, NULL);

    buf->len = 0;
    return rv;
}

bulkio_run_e bulkio_export_run(apr_pool_t *p, bulkio_job_ctx_t *job,
                               const char **preason)
{
    const bulkio_claim_t *c = job->claim;
    const char *tmp, *path, *error, *sql, *sep;
    const char *const *params;
    bulkio_progress_t prog;
    bulkio_export_t *exp;
    json_object *doc;
    apr_pool_t *chunk;
    apr_finfo_t fi;
    bulkio_buf_t buf;
    PGresult *res;
    apr_time_t started = apr_time_now(), last_log = started;
    apr_time_t last_renew = started;
    apr_file_t *f = NULL;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    apr_status_t rv;
    int nparams, i, n, cancel = 0;

    *preason = NULL;
    doc = json_tokener_parse(c->params);
    rv = doc ? bulkio_export_from_json(p, doc, &exp, &error) : APR_EINVAL;
    json_object_put(doc);
    if (rv != APR_SUCCESS) {
        *preason = apr_pstrcat(p, "the export's parameters are invalid: ",
                               doc ? error : "not JSON", NULL);
        return BULKIO_RUN_FAILED;
    }
    /* names of this attempt's own: a run that lost its lease unknowingly
     * never touches the files of the one that took the job over */
    tmp = apr_psprintf(p, "%s/export-%s.%d.tmp", job->spool_dir, c->job_id,
                       c->attempts);
    path = apr_psprintf(p, "%s/export-%s.%d.%s", job->spool_dir, c->job_id,
                        c->attempts, bulkio_export_ext(exp));
    rv = apr_file_open(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                       | APR_FOPEN_TRUNCATE | APR_FOPEN_BUFFERED,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE, p);
    if (rv != APR_SUCCESS) {
        *preason = "cannot write the export file into the spool directory";
        return BULKIO_RUN_FAILED;
    }
    sql = bulkio_export_sql(p, exp, &nparams, &params);
    if (bulkio_pq_exec(p, job->conn, "BEGIN READ ONLY", 0, NULL, NULL)
        != APR_SUCCESS
        || bulkio_pq_exec(p, job->conn, apr_pstrcat(
               p, "DECLARE bulkio_export NO SCROLL CURSOR FOR ", sql, NULL),
               nparams, params, NULL) != APR_SUCCESS) {
        rc = BULKIO_RUN_RETRY;
        goto leave;
    }
    bulkio_job_log(job, p, BULKIO_LOG_INFO, "Job %s started: export of %s "
                   "as %s, attempt %d", c->job_id, c->resource,
                   bulkio_format_name(bulkio_export_format(exp)), c->attempts);
    memset(&prog, 0, sizeof(prog));
    apr_pool_create(&chunk, p);
    bulkio_buf_init(&buf, chunk, 256 * 1024);
    sep = bulkio_export_sep(exp);
    bulkio_buf_add(&buf, bulkio_export_head(chunk, exp),
                   strlen(bulkio_export_head(chunk, exp)));
    for (;;) {
        res = PQexec(job->conn, "FETCH " FETCH_ROWS " FROM bulkio_export");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            PQclear(res);
            rc = BULKIO_RUN_RETRY;
            goto leave;
        }
        n = PQntuples(res);
        for (i = 0; i < n; ++i) {
            if (prog.records + i) {
                bulkio_buf_add(&buf, sep, strlen(sep));
            }
            bulkio_export_row(exp, res, i, &buf);
        }
        PQclear(res);
        prog.records += n;
        prog.success = prog.records;
        if (!n) {
            bulkio_buf_add(&buf, bulkio_export_tail(exp),
                           strlen(bulkio_export_tail(exp)));
        }
        if ((rv = drain(f, &buf)) != APR_SUCCESS) {
            *preason = "cannot write the export file (is the spool full?)";
            rc = BULKIO_RUN_FAILED;
            goto leave;
        }
        apr_pool_clear(chunk);
        bulkio_buf_init(&buf, chunk, 256 * 1024);
        if (!n) {
            break;
        }
        if (*job->stop) {
            /* the server stops: hand the job back now (it starts its file
             * again when claimed), its temporary file goes */
            rc = BULKIO_RUN_STOPPED;
            goto leave;
        }
        /* renew the lease well within its time, log less often */
        if (apr_time_now() - last_renew >= job->lease / 3
            || apr_time_now() - last_log >= PROGRESS_EVERY) {
            last_renew = apr_time_now();
            apr_file_info_get(&fi, APR_FINFO_SIZE, f);
            prog.bytes = fi.size;
            rv = bulkio_store_checkpoint(chunk, job->ctl, c->id, job->owner,
                                         job->lease, &prog, &cancel);
            if (rv != APR_SUCCESS) {
                rc = APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST
                                                : BULKIO_RUN_RETRY;
                goto leave;
            }
            if (apr_time_now() - last_log >= PROGRESS_EVERY) {
                bulkio_job_progress(job, chunk, &prog, prog.records, started);
                last_log = apr_time_now();
            }
            if (cancel || *job->stop) {
                rc = cancel ? BULKIO_RUN_CANCELED : BULKIO_RUN_STOPPED;
                goto leave;
            }
        }
    }
    if ((rv = apr_file_flush(f)) != APR_SUCCESS
        || (rv = apr_file_sync(f)) != APR_SUCCESS
        || (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f)) != APR_SUCCESS) {
        *preason = "cannot write the export file (is the spool full?)";
        rc = BULKIO_RUN_FAILED;
        goto leave;
    }
    apr_file_close(f);
    f = NULL;
    if ((rv = apr_file_rename(tmp, path, p)) != APR_SUCCESS) {
        *preason = "cannot rename the export file in the spool directory";
        rc = BULKIO_RUN_FAILED;
        goto leave;
    }
    rv = bulkio_store_export_file(p, job->ctl, c->id, job->owner, path,
                                  fi.size, prog.records, job->ttl);
    if (rv != APR_SUCCESS) {
        apr_file_remove(path, p);
        rc = APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST : BULKIO_RUN_RETRY;
        goto leave;
    }
    bulkio_job_progress(job, p, &prog, prog.records, started);
    bulkio_job_log(job, p, BULKIO_LOG_NOTICE, "Job %s finished after %.1f s:"
                   " %" APR_INT64_T_FMT " records, %" APR_OFF_T_FMT " bytes",
                   c->job_id, (double)(apr_time_now() - started)
                   / APR_USEC_PER_SEC, prog.records, fi.size);
leave:
    if (rc == BULKIO_RUN_RETRY && !*preason) {
        *preason = apr_pstrcat(p, "database error: ",
                               bulkio_pq_error(p, job->conn), NULL);
    }
    if (PQtransactionStatus(job->conn) != PQTRANS_IDLE) {
        PQclear(PQexec(job->conn, "ROLLBACK"));
    }
    if (f) {
        apr_file_close(f);
        apr_file_remove(tmp, p);
    }
    return rc;
}
