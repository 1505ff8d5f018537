/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_batch.h"
#include "bulkio_job.h"
#include "bulkio_parse.h"
#include "bulkio_validate.h"

#define PROGRESS_EVERY apr_time_from_sec(5)

/* The state of one run. */
typedef struct {
    bulkio_job_ctx_t *job;
    apr_pool_t *pool;          /* the run's */
    apr_pool_t *tx;            /* a batch transaction's, cleared per batch */
    bulkio_progress_t prog;
    apr_int64_t run_records;   /* records processed by this run */
    apr_time_t started;
    apr_time_t last_log;
    const char *reason;
} run_t;

#define job_log(run, level, ...) \
    bulkio_job_log((run)->job, (run)->tx, level, __VA_ARGS__)

static void log_progress(run_t *run)
{
    bulkio_job_progress(run->job, run->tx, &run->prog, run->run_records,
                        run->started);
    run->last_log = apr_time_now();
}

/* Write the batch and the checkpoint in one transaction. */
static bulkio_run_e commit_batch(run_t *run, bulkio_batch_t *batch,
                                 apr_int64_t records, apr_off_t bytes)
{
    bulkio_job_ctx_t *job = run->job;
    PGconn *conn = job->conn;
    bulkio_batch_result_t done;
    bulkio_progress_t next = run->prog;
    apr_status_t rv;
    int cancel = 0;

    apr_pool_clear(run->tx);
    rv = bulkio_pq_exec(run->tx, conn, "BEGIN", 0, NULL, NULL);
    if (rv == APR_SUCCESS) {
        rv = bulkio_batch_flush(batch, conn, job->claim->id, &done);
    }
    if (rv == APR_SUCCESS) {
        next.records = records;
        next.bytes = bytes;
        next.success += done.applied;
        next.errors += done.failed;
        rv = bulkio_store_checkpoint(run->tx, conn, job->claim->id,
                                     job->owner, job->lease, &next, &cancel);
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_exec(run->tx, conn, "COMMIT", 0, NULL, NULL);
    }
    if (rv != APR_SUCCESS) {
        run->reason = apr_pstrcat(run->pool, "database error: ",
                                  bulkio_pq_error(run->pool, conn), NULL);
        if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
            PQclear(PQexec(conn, "ROLLBACK"));
        }
        bulkio_batch_reset(batch);
        return APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST
                                          : BULKIO_RUN_RETRY;
    }
    run->run_records += next.records - run->prog.records;
    run->prog = next;
    bulkio_batch_reset(batch);
    if (cancel) {
        return BULKIO_RUN_CANCELED;
    }
    if (*job->stop) {
        return BULKIO_RUN_STOPPED;
    }
    return BULKIO_RUN_COMPLETED;
}

bulkio_run_e bulkio_import_run(apr_pool_t *p, bulkio_job_ctx_t *job,
                               const char **preason)
{
    const bulkio_claim_t *c = job->claim;
    bulkio_resource_e res = (bulkio_resource_e)bulkio_resource_from_name(
                                c->resource);
    const char *cols[BULKIO_MAX_COLS];
    bulkio_parser_t *parser;
    bulkio_batch_t *batch;
    bulkio_record_t rec;
    bulkio_verdict_t v;
    apr_pool_t *vpool;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    apr_int64_t consumed = 0;
    apr_status_t rv;
    run_t run;

    memset(&run, 0, sizeof(run));
    run.job = job;
    run.pool = p;
    run.prog.records = c->checkpoint_records;
    run.prog.bytes = c->checkpoint_bytes;
    run.prog.success = c->success_count;
    run.prog.errors = c->error_count;
    run.started = run.last_log = apr_time_now();
    apr_pool_create(&run.tx, p);

    if (!c->source_path) {
        *preason = "imports from a URL are not supported by this server";
        return BULKIO_RUN_FAILED;
    }
    rv = bulkio_parser_open(&parser, p, c->source_path,
                            bulkio_format_from_name(c->format),
                            job->max_record);
    if (rv != APR_SUCCESS) {
        *preason = "the uploaded file cannot be read";
        return BULKIO_RUN_FAILED;
    }
    if (bulkio_batch_setup(p, job->conn, res) != APR_SUCCESS) {
        *preason = apr_pstrcat(p, "database error: ",
                               bulkio_pq_error(p, job->conn), NULL);
        return BULKIO_RUN_RETRY;
    }
    job_log(&run, BULKIO_LOG_INFO, "Job %s started: %s %s, resuming after "
         "record %" APR_INT64_T_FMT ", attempt %d", c->job_id, c->resource,
         c->format, c->checkpoint_records, c->attempts);
    batch = bulkio_batch_create(p, res);
    apr_pool_create(&vpool, p);
    while (rc == BULKIO_RUN_COMPLETED) {
        rv = bulkio_parser_next(parser, &rec);
        if (rv == APR_EOF) {
            break;
        }
        if (rv != APR_SUCCESS) {
            *preason = apr_pstrcat(p, "the file cannot be read on: ",
                                   bulkio_parser_error(parser), NULL);
            return BULKIO_RUN_FAILED;
        }
        consumed = rec.index + 1;
        if (rec.index < c->checkpoint_records) {
            continue;   /* committed by an earlier run */
        }
        if (!rec.obj) {
            v.type = BULKIO_ERR_PARSE;
            v.field = NULL;
            v.message = rec.error;
            bulkio_batch_add_error(batch, &rec, &v);
        }
        else {
            bulkio_validate(vpool, res, &rec, cols, &v);
            if (v.type == BULKIO_ERR_NONE) {
                bulkio_batch_add_row(batch, &rec, cols);
            }
            else {
                bulkio_batch_add_error(batch, &rec, &v);
            }
            apr_pool_clear(vpool);
        }
        if (bulkio_batch_size(batch) >= job->batch_size) {
            rc = commit_batch(&run, batch, consumed,
                              bulkio_parser_offset(parser));
            if (apr_time_now() - run.last_log >= PROGRESS_EVERY) {
                log_progress(&run);
            }
        }
    }
    if (rc == BULKIO_RUN_COMPLETED) {
        if (consumed < run.prog.records) {
            consumed = run.prog.records;
        }
        rc = commit_batch(&run, batch, consumed,
                          bulkio_parser_offset(parser));
        if (rc == BULKIO_RUN_STOPPED) {
            rc = BULKIO_RUN_COMPLETED;   /* nothing is left to hand back */
        }
    }
    *preason = run.reason;
    log_progress(&run);
    job_log(&run, BULKIO_LOG_NOTICE, "Job %s %s after %.1f s: %"
         APR_INT64_T_FMT " records, %" APR_INT64_T_FMT " success, %"
         APR_INT64_T_FMT " errors, %" APR_INT64_T_FMT " rows/sec",
         c->job_id, rc == BULKIO_RUN_COMPLETED ? "finished"
         : rc == BULKIO_RUN_CANCELED ? "canceled"
         : rc == BULKIO_RUN_STOPPED ? "stopped (handed back)"
         : rc == BULKIO_RUN_LOST ? "lost its lease" : "interrupted",
         (double)(apr_time_now() - run.started) / APR_USEC_PER_SEC,
         run.prog.records, run.prog.success, run.prog.errors,
         bulkio_rows_per_sec(run.run_records, run.started));
    return rc;
}
