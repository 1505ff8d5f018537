/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* An import run: wires its stages, source (the spool file, or a URL's
 * download) -> parser -> validator -> writer. */

#include <apr_strings.h>

#include "bulkio_job.h"
#include "bulkio_parse.h"
#include "bulkio_pq.h"
#include "bulkio_store_lease.h"
#include "bulkio_url.h"
#include "bulkio_validate.h"
#include "bulkio_writer.h"

/* Keeping the job's lease while no batch commits. */
typedef struct {
    bulkio_job_ctx_t *job;
    apr_pool_t *pool;          /* cleared at each renewal */
    apr_time_t last_renew;
} lease_t;

/* Keep the lease while no batch commits (a fetch runs or waits, records
 * committed by an earlier run are read again); non-zero once the job is
 * lost or the server stops. */
static int keep_lease(void *baton)
{
    lease_t *l = baton;
    bulkio_job_ctx_t *job = l->job;
    apr_time_t now = apr_time_now();

    if (*job->stop) {
        return 1;
    }
    if (now - l->last_renew < job->lease / 3) {
        return 0;
    }
    l->last_renew = now;
    apr_pool_clear(l->pool);
    return bulkio_store_renew(l->pool, job->conn, job->claim->id, job->owner,
                              job->lease) != APR_SUCCESS;
}

/* Name the job on its connections (bulkio.job_id), for the tombstones
 * its deletes leave. A connection made again later lacks it: its
 * tombstones then name no job. */
static void set_job_id(apr_pool_t *p, bulkio_job_ctx_t *job)
{
    const char *id = apr_psprintf(p, "%" APR_INT64_T_FMT, job->claim->id);
    PGconn *conns[3];
    int i;

    conns[0] = job->conn;
    conns[1] = job->ctl;
    conns[2] = job->aux;
    for (i = 0; i < 3; ++i) {
        if (conns[i]) {
            bulkio_pq_exec(p, conns[i], "SELECT set_config('bulkio.job_id',"
                           " $1, false)", 1, &id, NULL);
        }
    }
}

/* Validate a record and add it to batch b, with its error if it has one
 * (a parse error when the parser could not make an object of it). */
static void add_record(bulkio_batch_t *b, apr_pool_t *vpool,
                       bulkio_resource_e res, bulkio_mode_e mode,
                       const bulkio_record_t *rec)
{
    const char *cols[BULKIO_MAX_COLS];
    unsigned int pres;
    bulkio_verdict_t v;

    if (!rec->obj) {
        v.type = BULKIO_ERR_PARSE;
        v.field = NULL;
        v.message = rec->error;
        bulkio_batch_add_error(b, rec, &v);
        return;
    }
    bulkio_validate_mode(vpool, res, mode, rec, cols, &pres, &v);
    if (v.type == BULKIO_ERR_NONE) {
        bulkio_batch_add_row(b, rec, cols, pres);
    }
    else {
        bulkio_batch_add_error(b, rec, &v);
    }
    apr_pool_clear(vpool);
}

/* The final lines of a run that did not fail. */
static void log_end(bulkio_job_ctx_t *job, apr_pool_t *p, bulkio_run_e rc,
                    const bulkio_writer_stats_t *st, apr_time_t started)
{
    bulkio_job_progress(job, p, &st->prog, st->records, started);
    bulkio_job_log(job, p, BULKIO_LOG_NOTICE, "Job %s %s after %.1f s: %"
                   APR_INT64_T_FMT " records, %" APR_INT64_T_FMT " success, %"
                   APR_INT64_T_FMT " errors, %" APR_INT64_T_FMT " rows/sec",
                   job->claim->job_id, rc == BULKIO_RUN_COMPLETED ? "finished"
                   : rc == BULKIO_RUN_CANCELED ? "canceled"
                   : rc == BULKIO_RUN_STOPPED ? "stopped (handed back)"
                   : rc == BULKIO_RUN_LOST ? "lost its lease" : "interrupted",
                   (double)(apr_time_now() - started) / APR_USEC_PER_SEC,
                   st->prog.records, st->prog.success, st->prog.errors,
                   bulkio_rows_per_sec(st->records, started));
}

/* Read the file at path (of format) into the job's resource, from the
 * job's checkpoint on; *again: run it once more (bulkio_writer_stats()). */
static bulkio_run_e read_file(apr_pool_t *p, bulkio_job_ctx_t *job,
                              const char *path, const char *format,
                              lease_t *lease, apr_time_t started, int *again,
                              const char **preason)
{
    const bulkio_claim_t *c = job->claim;
    bulkio_resource_e res = (bulkio_resource_e)bulkio_resource_from_name(
                                c->resource);
    bulkio_mode_e mode = bulkio_writer_mode(c);
    bulkio_spool_reader_t *source;
    bulkio_parser_t *parser;
    bulkio_writer_t *w;
    bulkio_record_t rec;
    bulkio_dialect_t dialect;
    apr_pool_t *vpool;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    apr_int64_t consumed = 0;
    const char *unreadable = NULL;
    apr_status_t rv;

    *again = 0;
    rv = bulkio_spool_open(&source, p, path, job->conn, BULKIO_SPOOL_OWN_CONN);
    if (rv == APR_SUCCESS) {
        rv = bulkio_parser_open_spool(&parser, p, source,
                                      bulkio_format_from_name(format),
                                      job->max_record);
    }
    if (APR_STATUS_IS_ENOENT(rv) || rv == APR_EINVAL) {
        *preason = "the uploaded file cannot be read";
        return BULKIO_RUN_FAILED;
    }
    if (rv != APR_SUCCESS) {
        /* the database spool's connection or transaction, for one: the
         * upload stays for the next attempt */
        *preason = "the uploaded file cannot be opened now";
        return BULKIO_RUN_RETRY;
    }
    bulkio_parser_limit_inflated(parser, job->max_inflated);
    bulkio_dialect_from_json(p, &dialect, c->params);
    bulkio_parser_set_dialect(parser, &dialect);
    set_job_id(p, job);
    if (bulkio_writer_open(p, job, res, started, &w, preason)
        != APR_SUCCESS) {
        return BULKIO_RUN_RETRY;
    }
    c = job->claim;   /* a run that starts again has its counters reset */
    if (c->max_errors >= 0 && c->error_count > c->max_errors) {
        /* an earlier run committed the batch that passed it */
        bulkio_progress_t prog = { c->checkpoint_records, 0, c->success_count,
                                   c->error_count, { 0 }, { 0 } };

        bulkio_writer_abort(w, NULL);
        *preason = bulkio_writer_over(p, &prog, c->max_errors);
        return BULKIO_RUN_FAILED;
    }
    bulkio_job_log(job, p, BULKIO_LOG_INFO, "Job %s started: %s %s, resuming "
                   "after record %" APR_INT64_T_FMT ", attempt %d, through %d "
                   "connection%s", c->job_id, c->resource, format,
                   c->checkpoint_records, c->attempts,
                   bulkio_writer_stats(w)->connections,
                   bulkio_writer_stats(w)->connections > 1 ? "s" : "");
    apr_pool_create(&vpool, p);
    while (rc == BULKIO_RUN_COMPLETED) {
        rv = bulkio_parser_next(parser, &rec);
        if (rv == APR_EOF) {
            break;
        }
        if (APR_STATUS_IS_ENOSPC(rv)) {
            unreadable = apr_psprintf(p, "the file inflates past "
                                      "BulkIOMaxInflatedSize (%" APR_OFF_T_FMT
                                      " bytes); %s", job->max_inflated,
                                      bulkio_writer_stats(w)->commit
                                      ? "nothing was applied"
                                      : "the batches before that point were "
                                        "applied");
            break;
        }
        if (rv != APR_SUCCESS) {
            unreadable = apr_pstrcat(p, "the file cannot be read on: ",
                                     bulkio_parser_error(parser), NULL);
            break;
        }
        consumed = rec.index + 1;
        if (rec.index < c->checkpoint_records) {
            /* committed by an earlier run */
            if (!(rec.index & 1023) && keep_lease(lease)) {
                rc = *job->stop ? BULKIO_RUN_STOPPED : BULKIO_RUN_LOST;
            }
            continue;
        }
        add_record(bulkio_writer_batch(w), vpool, res, mode, &rec);
        if (bulkio_batch_size(bulkio_writer_batch(w)) >= job->batch_size) {
            rc = bulkio_writer_submit(w, consumed,
                                      bulkio_parser_offset(parser));
        }
    }
    if (rc != BULKIO_RUN_COMPLETED) {
        bulkio_writer_abort(w, preason);
    }
    else {
        /* the rest of the file is the last batch, unless it is unreadable */
        rc = bulkio_writer_finish(w, !unreadable, consumed,
                                  bulkio_parser_offset(parser), preason);
        if (unreadable && rc == BULKIO_RUN_COMPLETED) {
            *preason = unreadable;
            return BULKIO_RUN_FAILED;
        }
    }
    *again = bulkio_writer_stats(w)->again;
    if (!*again) {
        log_end(job, p, rc, bulkio_writer_stats(w), started);
    }
    return rc;
}

bulkio_run_e bulkio_import_run(apr_pool_t *p, bulkio_job_ctx_t *job,
                               const char **preason)
{
    const char *path = job->claim->source_path, *format = job->claim->format;
    apr_time_t started = apr_time_now();
    apr_pool_t *run;
    bulkio_run_e rc;
    lease_t lease;
    int again;

    lease.job = job;
    lease.last_renew = started;
    apr_pool_create(&lease.pool, p);
    if (!path && (rc = bulkio_fetch_import(p, job, keep_lease, &lease, &path,
                                           &format, preason))
                 != BULKIO_RUN_COMPLETED) {
        return rc;
    }
    apr_pool_create(&run, p);
    rc = read_file(run, job, path, format, &lease, started, &again, preason);
    if (again) {
        bulkio_job_log(job, p, BULKIO_LOG_INFO, "Job %s: the dry run starts "
                       "again through one connection (%s)",
                       job->claim->job_id, *preason);
        /* what the first run leaves in run and the job keeps, kept */
        job->claim = apr_pmemdup(p, job->claim, sizeof(*job->claim));
        *preason = NULL;
        apr_pool_clear(run);
        job->aux = NULL;
        rc = read_file(run, job, path, format, &lease, started, &again,
                       preason);
    }
    return rc;
}
