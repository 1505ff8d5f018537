/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include <apr_uri.h>

#include "bulkio_batch.h"
#include "bulkio_url.h"
#include "bulkio_job.h"
#include "bulkio_parse.h"
#include "bulkio_pq.h"
#include "bulkio_store_jobs.h"
#include "bulkio_validate.h"

#define PROGRESS_EVERY apr_time_from_sec(5)

/* Through one connection, batches share a transaction up to this many,
 * or this long: each stays the unit of errors and of the checkpoint,
 * which commits with its rows, but the commits (and the staging table's
 * truncation at each) come fewer. Status sees progress at each commit. */
#define TX_BATCHES 8
#define TX_TIME apr_time_from_msec(500)

/* Through two, the connections take turns and commit in file order. A
 * batch is written beside the one in flight (which commits first) when
 * that one is alone in its transaction and the two cannot meet
 * (bulkio_batch_independent()); else it joins that one's transaction, as
 * through one connection. A batch in a transaction of its own gets its
 * new rows' ids from ids the run takes from the sequence ID_BLOCK batches'
 * worth at a time, in file order; a batch that joins a transaction takes
 * them from the sequence as it is written, after those, which are then
 * dropped: so ids follow the file as through one connection. A connection
 * opens the transaction of its next batch as it commits (one round trip).
 * The run holds the resource's lock (no other job writes it meanwhile)
 * for up to TX_TIME at a time, then lets waiting jobs have their turn. */
#define MAX_CONNS 2
#define ID_BLOCK 8

/* A batch being written. */
typedef struct {
    bulkio_batch_t *batch;
    PGconn *conn;
    apr_int64_t records;       /* the checkpoint once it is committed */
    apr_off_t bytes;
} flight_t;

/* The state of one run. */
typedef struct {
    bulkio_job_ctx_t *job;
    apr_pool_t *pool;          /* the run's */
    apr_pool_t *tx;            /* a batch transaction's, cleared per batch */
    bulkio_stage_t *stage;
    PGconn *conns[MAX_CONNS];
    int nconns;
    int begun[MAX_CONNS];      /* two: a transaction is open for its next
                                * batch */
    apr_array_header_t *ids;   /* two: ids taken for batches to come... */
    int idpos;                 /* ... from this one on */
    apr_pool_t *idpool;
    flight_t flights[MAX_CONNS]; /* oldest first */
    int nflights;
    bulkio_batch_t *free[MAX_CONNS + 1];
    int nfree;
    int tx_batches;            /* batches finished in the open
                                * transaction (of the oldest in flight) */
    apr_time_t tx_started;
    int locked;                /* holds the resource's lock (two) */
    apr_time_t locked_at;
    apr_int64_t batches;       /* started by this run... */
    apr_int64_t beside;        /* ... of them beside the one before */
    bulkio_progress_t prog;    /* as of the last batch committed */
    apr_int64_t run_records;   /* records processed by this run */
    apr_time_t started;
    apr_time_t last_log;
    apr_time_t last_renew;     /* of the lease, while no batch commits */
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

/* Roll back what conn has open, reading what is left of its results. */
static void rollback(PGconn *conn)
{
    PGresult *res;

    while ((res = PQgetResult(conn))) {
        PQclear(res);
    }
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
}

/* Give up the batches in flight (none of them is committed) and what the
 * connections have open. */
static void drop_flights(run_t *run)
{
    int i;

    while (run->nflights) {
        flight_t *f = &run->flights[--run->nflights];

        bulkio_batch_reset(f->batch);
        run->free[run->nfree++] = f->batch;
    }
    for (i = 0; i < run->nconns; ++i) {
        rollback(run->conns[i]);
        run->begun[i] = 0;
    }
    run->tx_batches = 0;
}

/* A batch transaction went wrong on conn: roll back all in flight. */
static bulkio_run_e drop_batch(run_t *run, PGconn *conn, apr_status_t rv)
{
    run->reason = apr_pstrcat(run->pool, "database error: ",
                              bulkio_pq_error(run->pool, conn), NULL);
    drop_flights(run);
    return APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST : BULKIO_RUN_RETRY;
}

/* Finish the oldest batch in flight; commit it with the checkpoint
 * (records consumed and bytes of input read once it is written) when its
 * transaction holds enough, or when flush says so. */
static bulkio_run_e end_batch(run_t *run, int flush)
{
    bulkio_job_ctx_t *job = run->job;
    flight_t f = run->flights[0];
    bulkio_batch_result_t done;
    bulkio_progress_t next = run->prog;
    apr_status_t rv;
    int cancel = 0, i;

    rv = bulkio_batch_finish(f.batch, f.conn, job->claim->id, &done);
    if (rv == APR_SUCCESS) {
        next.records = f.records;
        next.bytes = f.bytes;
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
        rv = bulkio_store_checkpoint(run->tx, f.conn, job->claim->id,
                                     job->owner, job->lease, &next, &cancel);
        if (rv == APR_SUCCESS) {
            rv = bulkio_batch_commit(run->tx, f.conn, run->stage,
                                     run->nconns > 1);
            run->begun[f.conn == run->conns[1]] = run->nconns > 1;
        }
        run->tx_batches = 0;
    }
    if (rv != APR_SUCCESS) {
        return drop_batch(run, f.conn, rv);
    }
    run->nflights--;
    memmove(run->flights, run->flights + 1,
            sizeof(*run->flights) * (apr_size_t)run->nflights);
    bulkio_batch_reset(f.batch);
    run->free[run->nfree++] = f.batch;
    run->run_records += next.records - run->prog.records;
    run->prog = next;
    if (!flush) {
        return BULKIO_RUN_COMPLETED;
    }
    if (apr_time_now() - run->last_log >= PROGRESS_EVERY) {
        log_progress(run);
    }
    if (cancel || *job->stop) {
        drop_flights(run);   /* the later batch is not committed */
        return cancel ? BULKIO_RUN_CANCELED : BULKIO_RUN_STOPPED;
    }
    return BULKIO_RUN_COMPLETED;
}

/* Finish and commit every batch in flight. */
static bulkio_run_e end_all(run_t *run)
{
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;

    while (rc == BULKIO_RUN_COMPLETED && run->nflights) {
        rc = end_batch(run, 1);
    }
    return rc;
}

/* Through two connections: the connection for the next batch (*pi),
 * with the resource's lock held, and whether the batch goes into the
 * transaction open there (*psame). It goes beside the batch in flight
 * when that one is alone in its transaction and the two cannot meet;
 * else after it, in its transaction (committed when full), as through one
 * connection. */
static bulkio_run_e pick_conn(run_t *run, bulkio_batch_t *batch, int *pi,
                              int *psame)
{
    apr_pool_t *p = run->tx;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    apr_status_t rv;
    int x;

    if (run->nflights == run->nconns) {
        rc = end_batch(run, 1);
    }
    if (rc == BULKIO_RUN_COMPLETED && run->locked
        && apr_time_now() - run->locked_at >= TX_TIME) {
        /* let a job waiting for the resource have its turn */
        rc = end_all(run);
        if (rc == BULKIO_RUN_COMPLETED) {
            run->locked = 0;
            rv = bulkio_batch_lock(p, run->conns[0], run->stage, 0);
            if (rv != APR_SUCCESS) {
                return drop_batch(run, run->conns[0], rv);
            }
        }
    }
    if (rc == BULKIO_RUN_COMPLETED && !run->locked) {
        rv = bulkio_batch_lock(p, run->conns[0], run->stage, 1);
        if (rv != APR_SUCCESS) {
            return drop_batch(run, run->conns[0], rv);
        }
        run->locked = 1;
        run->locked_at = apr_time_now();
    }
    *psame = 0;
    if (rc != BULKIO_RUN_COMPLETED || !run->nflights) {
        /* a new transaction, where one is open already */
        *pi = run->begun[1] && !run->begun[0];
        return rc;
    }
    x = run->flights[0].conn == run->conns[1];
    if (!run->tx_batches
        && bulkio_batch_independent(batch, run->flights[0].batch)) {
        *pi = !x;
        return rc;
    }
    rc = end_batch(run, 0);
    *pi = x;
    *psame = run->tx_batches > 0;
    return rc;
}

/* Through two connections: the transaction of the next batch on
 * connection i, and the ids its rows take (NULL: the sequence's, as they
 * are written). */
static apr_status_t open_tx(run_t *run, int i, int same,
                            const apr_int64_t **pids)
{
    int n = run->job->batch_size;
    apr_status_t rv = APR_SUCCESS;

    *pids = NULL;
    if (same) {
        /* its rows' ids come after those taken: they go unused */
        run->idpos = run->ids ? run->ids->nelts : 0;
        return APR_SUCCESS;
    }
    if (!run->begun[i]) {
        rv = bulkio_batch_begin(run->tx, run->conns[i], run->stage, 0);
    }
    run->begun[i] = 0;
    run->tx_started = apr_time_now();
    if (rv == APR_SUCCESS && (!run->ids || run->idpos + n > run->ids->nelts)) {
        apr_pool_clear(run->idpool);
        rv = bulkio_batch_take_ids(run->idpool, run->conns[i], run->stage,
                                   ID_BLOCK * n, &run->ids);
        run->idpos = 0;
    }
    if (rv == APR_SUCCESS) {
        *pids = &APR_ARRAY_IDX(run->ids, run->idpos, apr_int64_t);
        run->idpos += n;
    }
    return rv;
}

/* Start writing the batch (the checkpoint records and bytes once it is
 * committed), in the open transaction or a new one; the database works on
 * it while the next batch is parsed. */
static bulkio_run_e start_batch(run_t *run, bulkio_batch_t *batch,
                                apr_int64_t records, apr_off_t bytes)
{
    flight_t *f;
    PGconn *conn = run->conns[0];
    const apr_int64_t *ids = NULL;
    apr_status_t rv = APR_SUCCESS;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    int i = 0, same = 0;

    apr_pool_clear(run->tx);
    if (run->nconns > 1) {
        rc = pick_conn(run, batch, &i, &same);
    }
    else if (run->nflights) {
        rc = end_batch(run, 0);
    }
    if (rc != BULKIO_RUN_COMPLETED) {
        bulkio_batch_reset(batch);
        run->free[run->nfree++] = batch;
        return rc;
    }
    run->batches++;
    run->beside += run->nflights;
    conn = run->conns[i];
    if (run->nconns > 1) {
        rv = open_tx(run, i, same, &ids);
    }
    else if (!run->tx_batches) {
        rv = bulkio_batch_begin(run->tx, conn, run->stage, 1);
        run->tx_started = apr_time_now();
    }
    f = &run->flights[run->nflights++];
    f->batch = batch;
    f->conn = conn;
    f->records = records;
    f->bytes = bytes;
    if (rv == APR_SUCCESS) {
        rv = bulkio_batch_send(batch, conn, ids);
    }
    return rv == APR_SUCCESS ? BULKIO_RUN_COMPLETED
                             : drop_batch(run, conn, rv);
}

/* Keep the lease while no batch commits (a fetch runs or waits, records
 * committed by an earlier run are read again); non-zero once the job is
 * lost or the server stops. */
static int keep_lease(void *baton)
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

    opts.tick = keep_lease;
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
            if (keep_lease(run)) {
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
    bulkio_batch_t *batch;
    bulkio_stage_t *stage;
    bulkio_record_t rec;
    bulkio_verdict_t v;
    apr_pool_t *vpool;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    apr_int64_t consumed = 0;
    const char *path, *format, *unreadable = NULL;
    apr_status_t rv = APR_SUCCESS;
    run_t run;
    int i;

    memset(&run, 0, sizeof(run));
    run.job = job;
    run.pool = p;
    run.prog.records = c->checkpoint_records;
    run.prog.bytes = c->checkpoint_bytes;
    run.prog.success = c->success_count;
    run.prog.errors = c->error_count;
    memcpy(run.prog.by_type, c->errors_by_type, sizeof(run.prog.by_type));
    run.started = run.last_log = run.last_renew = apr_time_now();
    apr_pool_create(&run.tx, p);
    run.conns[run.nconns++] = job->conn;
    if (job->ctl && job->ctl != job->conn) {
        run.conns[run.nconns++] = job->ctl;
    }
    apr_pool_create(&run.idpool, p);

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
    /* the batches of both connections number from one stage */
    for (i = run.nconns - 1; i >= 0 && rv == APR_SUCCESS; --i) {
        rv = bulkio_batch_setup(p, run.conns[i], res, &stage);
        if (rv != APR_SUCCESS) {
            *preason = apr_pstrcat(p, "database error: ",
                                   bulkio_pq_error(p, run.conns[i]), NULL);
            return BULKIO_RUN_RETRY;
        }
    }
    run.stage = stage;
    job_log(&run, BULKIO_LOG_INFO, "Job %s started: %s %s, resuming after "
         "record %" APR_INT64_T_FMT ", attempt %d, through %d connection%s",
         c->job_id, c->resource, format, c->checkpoint_records, c->attempts,
         run.nconns, run.nconns > 1 ? "s" : "");
    /* one batch is filled while the database writes the others */
    for (i = 0; i <= run.nconns; ++i) {
        run.free[run.nfree++] = bulkio_batch_create(p, run.stage, res);
    }
    batch = run.free[--run.nfree];
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
            /* committed by an earlier run */
            if (!(rec.index & 1023) && keep_lease(&run)) {
                rc = *job->stop ? BULKIO_RUN_STOPPED : BULKIO_RUN_LOST;
            }
            continue;
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
            rc = start_batch(&run, batch, consumed,
                             bulkio_parser_offset(parser));
            batch = run.free[--run.nfree];
        }
    }
    if (rc == BULKIO_RUN_COMPLETED) {
        rc = end_all(&run);
    }
    if (unreadable && rc == BULKIO_RUN_COMPLETED) {
        run.reason = unreadable;
        rc = BULKIO_RUN_FAILED;
    }
    if (rc == BULKIO_RUN_COMPLETED) {
        if (consumed < run.prog.records) {
            consumed = run.prog.records;
        }
        rc = start_batch(&run, batch, consumed, bulkio_parser_offset(parser));
        if (rc == BULKIO_RUN_COMPLETED) {
            rc = end_all(&run);
        }
        if (rc == BULKIO_RUN_STOPPED) {
            rc = BULKIO_RUN_COMPLETED;   /* nothing is left to hand back */
        }
    }
    drop_flights(&run);   /* the transactions opened for batches to come */
    if (run.locked && PQstatus(run.conns[0]) == CONNECTION_OK) {
        bulkio_batch_lock(run.tx, run.conns[0], run.stage, 0);
    }
    *preason = run.reason;
    if (rc == BULKIO_RUN_FAILED) {
        return rc;
    }
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
    if (run.nconns > 1) {
        job_log(&run, BULKIO_LOG_INFO, "Job %s: %" APR_INT64_T_FMT " of %"
                APR_INT64_T_FMT " batches written beside the one before",
                c->job_id, run.beside, run.batches);
    }
    return rc;
}
