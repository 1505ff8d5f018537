/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_export.h"
#include "bulkio_job.h"
#include "bulkio_pq.h"
#include "bulkio_spool.h"
#include "bulkio_store_jobs.h"
#include "bulkio_store_lease.h"
#include "bulkio_util.h"

#define PROGRESS_EVERY apr_time_from_sec(5)

/* One run of an export job while its file is written. */
typedef struct {
    apr_pool_t *pool;
    bulkio_job_ctx_t *job;
    bulkio_spool_t *file;
    bulkio_progress_t prog;
    apr_time_t started;
    apr_time_t last_renew;
    apr_time_t last_log;
    bulkio_run_e rc;             /* COMPLETED, or why write_chunk() ended */
    const char *reason;
    bulkio_gzip_t *gz;           /* compressing the file, or NULL */
} run_t;

static apr_status_t file_out(void *baton, const char *data, apr_size_t len)
{
    return bulkio_spool_write(((run_t *)baton)->file, data, len);
}

/* Write len bytes of data to the file, through gzip when the export is
 * compressed (at_end: the stream's end). */
static apr_status_t file_write(run_t *run, const char *data, apr_size_t len,
                               int at_end)
{
    return run->gz ? bulkio_gzip_write(run->gz, data, len, at_end)
                   : file_out(run, data, len);
}

static void export_row(void *baton, const PGresult *res, int i,
                       bulkio_buf_t *out)
{
    bulkio_export_row(baton, res, i, out);
}

/* A database call on conn failed with rv: LOST when another worker holds
 * the job now, else RETRY and why. */
static bulkio_run_e lost_or_retry(run_t *run, apr_status_t rv, PGconn *conn)
{
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return BULKIO_RUN_LOST;
    }
    run->reason = apr_pstrcat(run->pool, "database error: ",
                              bulkio_pq_error(run->pool, conn), NULL);
    return BULKIO_RUN_RETRY;
}

/* Write a chunk to the file. Between chunks: the server's stop, and well
 * within the lease time its renewal with the progress, which tells of a
 * cancel too; on the job's second connection, the first one streams. */
static apr_status_t write_chunk(void *baton, bulkio_buf_t *buf,
                                apr_int64_t rows)
{
    run_t *run = baton;
    bulkio_job_ctx_t *job = run->job;
    apr_time_t now = apr_time_now();
    apr_status_t rv;
    int cancel = 0;

    if (file_write(run, buf->data, buf->len, 0) != APR_SUCCESS) {
        run->reason = "cannot write the export file (is the spool full?)";
        run->rc = BULKIO_RUN_FAILED;
        return APR_EGENERAL;
    }
    run->prog.records = run->prog.success = rows;
    run->prog.bytes += (apr_off_t)buf->len;
    if (*job->stop) {
        /* the server stops: hand the job back now (it starts its file
         * again when claimed), its temporary file goes */
        run->rc = BULKIO_RUN_STOPPED;
        return APR_EGENERAL;
    }
    if (now - run->last_renew < job->lease / 3
        && now - run->last_log < PROGRESS_EVERY) {
        return APR_SUCCESS;
    }
    rv = bulkio_store_checkpoint(buf->pool, job->ctl, job->claim->id,
                                 job->owner, job->lease, &run->prog,
                                 &cancel);
    if (rv != APR_SUCCESS) {
        run->rc = lost_or_retry(run, rv, job->ctl);
        return APR_EGENERAL;
    }
    run->last_renew = now;
    if (now - run->last_log >= PROGRESS_EVERY) {
        bulkio_job_progress(job, buf->pool, &run->prog, rows, run->started);
        run->last_log = now;
    }
    if (cancel) {
        run->rc = BULKIO_RUN_CANCELED;
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

bulkio_run_e bulkio_export_run(apr_pool_t *p, bulkio_job_ctx_t *job,
                               const char **preason)
{
    const bulkio_claim_t *c = job->claim;
    const char *name, *error, *sql;
    const char *const *params;
    bulkio_export_t *exp;
    bulkio_frame_t frame;
    json_object *doc;
    run_t run;
    apr_status_t rv;
    int nparams, cancel = 0;

    *preason = NULL;
    doc = json_tokener_parse(c->params);
    rv = doc ? bulkio_export_from_json(p, doc, &exp, &error) : APR_EINVAL;
    json_object_put(doc);
    if (rv != APR_SUCCESS) {
        *preason = apr_pstrcat(p, "the export's parameters are invalid: ",
                               doc ? error : "not JSON", NULL);
        return BULKIO_RUN_FAILED;
    }
    /* a name of this attempt's own: a run that lost its lease unknowingly
     * never touches the file of the one that took the job over */
    name = apr_psprintf(p, "export-%s.%d.%s%s", c->job_id, c->attempts,
                        bulkio_export_ext(exp),
                        bulkio_export_gzip(exp) ? ".gz" : "");
    memset(&run, 0, sizeof(run));
    run.pool = p;
    run.job = job;
    run.started = run.last_renew = run.last_log = apr_time_now();
    run.rc = BULKIO_RUN_COMPLETED;
    if (bulkio_export_gzip(exp)
        && bulkio_gzip_open(p, file_out, &run, &run.gz) != APR_SUCCESS) {
        *preason = "cannot start the gzip compression";
        return BULKIO_RUN_FAILED;
    }
    /* written beside the job's row: the database spool commits the file
     * with the row that names it */
    rv = bulkio_spool_begin(&run.file, p, job->spool, job->ctl,
                            BULKIO_SPOOL_OWN_CONN | BULKIO_SPOOL_NO_DIGEST);
    if (rv != APR_SUCCESS) {
        *preason = "cannot write the export file into the spool";
        return BULKIO_RUN_RETRY;
    }
    bulkio_job_log(job, p, BULKIO_LOG_INFO, "Job %s started: export of %s "
                   "as %s, attempt %d", c->job_id, c->resource,
                   bulkio_format_name(bulkio_export_format(exp)), c->attempts);
    sql = bulkio_export_sql(p, exp, &nparams, &params);
    frame.head = bulkio_export_head(p, exp);
    frame.sep = bulkio_export_sep(exp);
    frame.tail = bulkio_export_tail(exp);
    rv = bulkio_export_stream(p, job->conn, sql, nparams, params, &frame,
                              export_row, exp, write_chunk, &run);
    if (rv != APR_SUCCESS) {
        if (run.rc == BULKIO_RUN_COMPLETED) {
            run.rc = lost_or_retry(&run, rv, job->conn);
        }
        goto leave;
    }
    if (file_write(&run, "", 0, 1) != APR_SUCCESS
        || bulkio_spool_close(run.file, NULL) != APR_SUCCESS) {
        run.reason = "cannot write the export file (is the spool full?)";
        run.rc = BULKIO_RUN_FAILED;
        goto leave;
    }
    if (bulkio_spool_keep(run.file, name) != APR_SUCCESS) {
        run.reason = "cannot keep the export file in the spool";
        run.rc = BULKIO_RUN_FAILED;
        goto leave;
    }
    rv = bulkio_store_export_file(p, bulkio_spool_conn(run.file), c->id,
                                  job->owner, bulkio_spool_path(run.file),
                                  bulkio_spool_size(run.file),
                                  run.prog.records, job->ttl);
    if (rv == APR_SUCCESS) {
        rv = bulkio_spool_commit(run.file);
    }
    if (APR_STATUS_IS_NOTFOUND(rv)
        && bulkio_store_checkpoint(p, job->ctl, c->id, job->owner, job->lease,
                                   &run.prog, &cancel) == APR_SUCCESS
        && cancel) {
        /* canceled while its file was written: no file is kept */
        run.rc = BULKIO_RUN_CANCELED;
        goto leave;
    }
    if (rv != APR_SUCCESS) {
        run.rc = lost_or_retry(&run, rv, bulkio_spool_conn(run.file));
        goto leave;
    }
    bulkio_job_progress(job, p, &run.prog, run.prog.records, run.started);
    bulkio_job_log(job, p, BULKIO_LOG_NOTICE, "Job %s finished after %.1f s:"
                   " %" APR_INT64_T_FMT " records, %" APR_OFF_T_FMT " bytes",
                   c->job_id, (double)(apr_time_now() - run.started)
                   / APR_USEC_PER_SEC, run.prog.records,
                   bulkio_spool_size(run.file));
leave:
    if (run.rc != BULKIO_RUN_COMPLETED) {
        bulkio_spool_discard(run.file);
    }
    *preason = run.reason;
    return run.rc;
}
