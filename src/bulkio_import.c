/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include <apr_uri.h>

#include "bulkio_batch.h"
#include "bulkio_url.h"
#include "bulkio_job.h"
#include "bulkio_parse.h"
#include "bulkio_validate.h"

#define PROGRESS_EVERY apr_time_from_sec(5)

/* Batches share a transaction up to this many, or this long: each stays
 * the unit of errors and of the checkpoint, which commits with its rows,
 * but the commits (and the staging table's truncation at each) come
 * fewer. Status sees progress at each commit. */
#define TX_BATCHES 8
#define TX_TIME apr_time_from_msec(500)

/* The state of one run. */
typedef struct {
    bulkio_job_ctx_t *job;
    apr_pool_t *pool;          /* the run's */
    apr_pool_t *tx;            /* a batch transaction's, cleared per batch */
    bulkio_stage_t *stage;
    int tx_batches;            /* batches in the open transaction, or 0 */
    apr_time_t tx_started;
    bulkio_progress_t prog;    /* as of the last batch written */
    apr_int64_t run_records;   /* records processed by this run */
    apr_time_t started;
    apr_time_t last_log;
    apr_time_t last_renew;     /* of the lease, while fetching */
    const char *reason;
} run_t;

#define FETCH_TRIES 3

#define job_log(run, level, ...) \
    bulkio_job_log((run)->job, (run)->tx, level, __VA_ARGS__)

static void log_progress(run_t *run)
{
    bulkio_job_progress(run->job, run->tx, &run->prog, run->run_records,
                        run->started);
    run->last_log = apr_time_now();
}

/* A batch transaction went wrong: roll it back. */
static bulkio_run_e drop_batch(run_t *run, bulkio_batch_t *batch,
                               apr_status_t rv)
{
    PGconn *conn = run->job->conn;
    PGresult *res;

    run->reason = apr_pstrcat(run->pool, "database error: ",
                              bulkio_pq_error(run->pool, conn), NULL);
    while ((res = PQgetResult(conn))) {
        PQclear(res);
    }
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
    run->tx_batches = 0;
    bulkio_batch_reset(batch);
    return APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST : BULKIO_RUN_RETRY;
}

/* Start writing the batch, in the open transaction or a new one; the
 * database works on it while the next batch is parsed. */
static bulkio_run_e start_batch(run_t *run, bulkio_batch_t *batch)
{
    PGconn *conn = run->job->conn;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_clear(run->tx);
    if (!run->tx_batches) {
        rv = bulkio_batch_begin(run->tx, conn, run->stage);
        run->tx_started = apr_time_now();
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_batch_send(batch, conn);
    }
    return rv == APR_SUCCESS ? BULKIO_RUN_COMPLETED
                             : drop_batch(run, batch, rv);
}

/* Finish the batch; commit it with the checkpoint (records consumed and
 * bytes of input read once it is written) when the transaction holds
 * enough, or when flush says so. */
static bulkio_run_e end_batch(run_t *run, bulkio_batch_t *batch,
                              apr_int64_t records, apr_off_t bytes,
                              int flush)
{
    bulkio_job_ctx_t *job = run->job;
    PGconn *conn = job->conn;
    bulkio_batch_result_t done;
    bulkio_progress_t next = run->prog;
    apr_status_t rv;
    int cancel = 0, i;

    rv = bulkio_batch_finish(batch, conn, job->claim->id, &done);
    if (rv == APR_SUCCESS) {
        next.records = records;
        next.bytes = bytes;
        next.success += done.applied;
        next.errors += done.failed;
        for (i = 0; i < BULKIO_STORE_ERR_TYPES; ++i) {
            next.by_type[i] += done.by_type[BULKIO_ERR_PARSE + i];
        }
        run->tx_batches++;
        flush = flush || *job->stop || run->tx_batches >= TX_BATCHES
                || apr_time_now() - run->tx_started >= TX_TIME;
    }
    if (rv == APR_SUCCESS && flush) {
        rv = bulkio_store_checkpoint(run->tx, conn, job->claim->id,
                                     job->owner, job->lease, &next, &cancel);
        if (rv == APR_SUCCESS) {
            rv = bulkio_pq_exec(run->tx, conn, "COMMIT", 0, NULL, NULL);
        }
        run->tx_batches = 0;
    }
    if (rv != APR_SUCCESS) {
        return drop_batch(run, batch, rv);
    }
    run->run_records += next.records - run->prog.records;
    run->prog = next;
    bulkio_batch_reset(batch);
    if (!flush) {
        return BULKIO_RUN_COMPLETED;
    }
    if (apr_time_now() - run->last_log >= PROGRESS_EVERY) {
        log_progress(run);
    }
    if (cancel) {
        return BULKIO_RUN_CANCELED;
    }
    if (*job->stop) {
        return BULKIO_RUN_STOPPED;
    }
    return BULKIO_RUN_COMPLETED;
}

/* Keep the lease while a fetch runs or waits; non-zero once the job is
 * lost or the server stops. */
static int fetch_tick(void *baton)
{
    run_t *run = baton;
    bulkio_job_ctx_t *job = run->job;
    apr_time_t now = apr_time_now();

    if (*job->stop) {
        return 1;
    }
    if (now - run->last_renew < job->lease / 3) {
        return 0;
    }
    run->last_renew = now;
    apr_pool_clear(run->tx);
    return bulkio_store_renew(run->tx, job->conn, job->claim->id, job->owner,
                              job->lease) != APR_SUCCESS;
}

/* Download a URL import's file into the spool (transient failures are
 * tried again, with backoff), decide its format and record both on the
 * job. */
static bulkio_run_e fetch_source(run_t *run, const char **ppath,
                                 const char **pformat, const char **preason)
{
    bulkio_job_ctx_t *job = run->job;
    const bulkio_claim_t *c = job->claim;
    apr_pool_t *p = run->pool;
    const char *tmp, *path;
    bulkio_fetch_opts_t opts = *job->fetch;
    bulkio_fetch_result_t res;
    bulkio_format_e fmt;
    apr_time_t until;
    apr_uri_t uri;
    apr_status_t rv;
    int try;

    opts.tick = fetch_tick;
    opts.tick_baton = run;
    run->last_renew = apr_time_now();

    tmp = apr_pstrcat(p, job->spool_dir, "/import-", c->job_id, ".part",
                      NULL);
    path = apr_pstrcat(p, job->spool_dir, "/import-", c->job_id, NULL);
    for (try = 1; ; ++try) {
        job_log(run, BULKIO_LOG_INFO, "Job %s: fetching its URL, try %d",
                c->job_id, try);
        rv = bulkio_fetch(p, c->source_url, tmp, &opts, &res);
        if (rv == APR_SUCCESS) {
            break;
        }
        apr_file_remove(tmp, p);
        if (*job->stop) {
            return BULKIO_RUN_STOPPED;
        }
        if (!res.transient || try == FETCH_TRIES) {
            *preason = apr_pstrcat(p, "cannot fetch the URL: ", res.error,
                                   NULL);
            return BULKIO_RUN_FAILED;
        }
        for (until = apr_time_now() + apr_time_from_sec(1 << try);
             apr_time_now() < until; apr_sleep(apr_time_from_msec(100))) {
            if (fetch_tick(run)) {
                *preason = "interrupted while waiting to fetch again";
                return *job->stop ? BULKIO_RUN_STOPPED : BULKIO_RUN_LOST;
            }
        }
    }
    fmt = bulkio_format_from_name(c->format);
    if (!fmt) {
        bulkio_format_from_type(res.content_type, &fmt);
    }
    if (!fmt && apr_uri_parse(p, c->source_url, &uri) == APR_SUCCESS) {
        fmt = bulkio_format_from_filename(uri.path);
    }
    if (!fmt) {
        fmt = bulkio_format_sniff_file(p, tmp);
    }
    if (!fmt) {
        apr_file_remove(tmp, p);
        *preason = "cannot tell the fetched file's format; give format="
                   "ndjson, json or csv";
        return BULKIO_RUN_FAILED;
    }
    if (apr_file_rename(tmp, path, p) != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        *preason = "cannot store the fetched file in the spool directory";
        return BULKIO_RUN_FAILED;
    }
    rv = bulkio_store_import_source(p, job->conn, c->id, job->owner, path,
                                    bulkio_format_name(fmt), res.size);
    if (rv != APR_SUCCESS) {
        apr_file_remove(path, p);
        *preason = "database error while recording the download";
        return APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST
                                          : BULKIO_RUN_RETRY;
    }
    *ppath = path;
    *pformat = bulkio_format_name(fmt);
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
    bulkio_batch_t *batch, *spare, *sent = NULL;
    bulkio_record_t rec;
    bulkio_verdict_t v;
    apr_pool_t *vpool;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    apr_int64_t consumed = 0, sent_records = 0;
    apr_off_t sent_bytes = 0;
    const char *path, *format, *unreadable = NULL;
    apr_status_t rv;
    run_t run;

    memset(&run, 0, sizeof(run));
    run.job = job;
    run.pool = p;
    run.prog.records = c->checkpoint_records;
    run.prog.bytes = c->checkpoint_bytes;
    run.prog.success = c->success_count;
    run.prog.errors = c->error_count;
    memcpy(run.prog.by_type, c->errors_by_type, sizeof(run.prog.by_type));
    run.started = run.last_log = apr_time_now();
    apr_pool_create(&run.tx, p);

    path = c->source_path;
    format = c->format;
    if (!path && (rc = fetch_source(&run, &path, &format, preason))
                 != BULKIO_RUN_COMPLETED) {
        return rc;
    }
    rv = bulkio_parser_open(&parser, p, path, bulkio_format_from_name(format),
                            job->max_record);
    if (rv != APR_SUCCESS) {
        *preason = "the uploaded file cannot be read";
        return BULKIO_RUN_FAILED;
    }
    bulkio_parser_limit_inflated(parser, job->max_inflated);
    if (bulkio_batch_setup(p, job->conn, res, &run.stage) != APR_SUCCESS) {
        *preason = apr_pstrcat(p, "database error: ",
                               bulkio_pq_error(p, job->conn), NULL);
        return BULKIO_RUN_RETRY;
    }
    job_log(&run, BULKIO_LOG_INFO, "Job %s started: %s %s, resuming after "
         "record %" APR_INT64_T_FMT ", attempt %d", c->job_id, c->resource,
         format, c->checkpoint_records, c->attempts);
    /* two batches: one is filled while the database writes the other */
    batch = bulkio_batch_create(p, run.stage, res);
    spare = bulkio_batch_create(p, run.stage, res);
    apr_pool_create(&vpool, p);
    while (rc == BULKIO_RUN_COMPLETED) {
        rv = bulkio_parser_next(parser, &rec);
        if (rv == APR_EOF) {
            break;
        }
        if (APR_STATUS_IS_ENOSPC(rv)) {
            unreadable = apr_psprintf(p, "the file inflates past "
                                      "BulkIOMaxInflatedSize (%" APR_OFF_T_FMT
                                      " bytes); the batches before that "
                                      "point were applied", job->max_inflated);
            break;
        }
        if (rv != APR_SUCCESS) {
            unreadable = apr_pstrcat(p, "the file cannot be read on: ",
                                     bulkio_parser_error(parser), NULL);
            break;
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
            if (sent) {
                rc = end_batch(&run, sent, sent_records, sent_bytes, 0);
                spare = sent;
                sent = NULL;
            }
            if (rc == BULKIO_RUN_COMPLETED) {
                rc = start_batch(&run, batch);
            }
            if (rc == BULKIO_RUN_COMPLETED) {
                sent = batch;
                sent_records = consumed;
                sent_bytes = bulkio_parser_offset(parser);
                batch = spare;
            }
        }
    }
    if (sent) {
        rc = end_batch(&run, sent, sent_records, sent_bytes, 1);
    }
    if (unreadable && rc == BULKIO_RUN_COMPLETED) {
        *preason = unreadable;
        return BULKIO_RUN_FAILED;
    }
    if (rc == BULKIO_RUN_COMPLETED) {
        if (consumed < run.prog.records) {
            consumed = run.prog.records;
        }
        rc = start_batch(&run, batch);
        if (rc == BULKIO_RUN_COMPLETED) {
            rc = end_batch(&run, batch, consumed,
                           bulkio_parser_offset(parser), 1);
        }
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
