/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "bulkio_pq.h"
#include "bulkio_store_lease.h"
#include "bulkio_writer.h"

#define PROGRESS_EVERY apr_time_from_sec(5)

/* Through one connection, batches share a transaction up to this many,
 * or this long: each stays the unit of errors and of the checkpoint,
 * which commits with its rows, but the commits (and the staging table's
 * truncation at each) come fewer. Status sees progress at each commit. */
#define TX_BATCHES 8
#define TX_TIME apr_time_from_msec(500)

/* Through two, the connections take turns and commit in file order. A
 * batch is written beside the one in flight (which commits first) when
 * that one is alone in its transaction and the two share no key
 * (bulkio_batch_independent()); else it joins that one's transaction, as
 * through one connection. A batch beside that read a row as it was before
 * the one in flight gave up its email or slug (bulkio_batch_meets()) is
 * rolled back and written again once that one is committed. A batch in a
 * transaction of its own gets its new rows' ids from ids the run takes
 * from the sequence ID_BLOCK batches' worth at a time, in file order; a
 * batch that joins a transaction takes them from the sequence as it is
 * written, after those, which are then dropped: so ids follow the file as
 * through one connection. A connection
 * opens the transaction of its next batch as it commits (one round trip).
 * The run holds the resource's lock (no other job writes it meanwhile)
 * for up to TX_TIME at a time, then lets waiting jobs have their turn. */
#define MAX_CONNS 2
#define ID_BLOCK 8

/* A dry run through two connections: how long a statement of one waits
 * for a row lock (the other's, which it would hold to the end, or another
 * job's) before the run starts again through one. */
#define PAIR_LOCK_TIMEOUT "500ms"

/* A batch being written. */
typedef struct {
    bulkio_batch_t *batch;
    PGconn *conn;
    apr_int64_t records;       /* the checkpoint once it is committed */
    apr_off_t bytes;
    int stale;                 /* it read what the batch before changed */
} flight_t;

struct bulkio_writer_t {
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
    bulkio_batch_t *filling;   /* the batch to submit next */
    int tx_batches;            /* batches finished in the open
                                * transaction (of the oldest in flight) */
    int staged;                /* a run never committed: bit i, a batch
                                * through conns[i] used the staging table
                                * since its last truncation */
    int pair;                  /* a dry run through conns[0] and [1], in
                                * transactions that do not see each other:
                                * [1] only writes new rows */
    apr_time_t tx_started;
    int locked;                /* holds the resource's lock (two) */
    apr_time_t locked_at;
    apr_int64_t batches;       /* started by this run... */
    apr_int64_t beside;        /* ... of them beside the one before */
    apr_int64_t resent;        /* ... of those, written again */
    bulkio_writer_stats_t stats; /* as of the last batch committed */
    PGconn *ctl;               /* commit not BATCHES: errors, progress and
                                * the lease go through it */
    apr_time_t started;
    apr_time_t last_log;
    const char *reason;
};

/* Run the statements of sql, without parameters, on conn. */
static apr_status_t exec_all(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    apr_status_t rv = bulkio_pq_result(NULL, res);

    PQclear(res);
    return rv;
}

/* BEGIN, the transaction's settings and, with lock, the resource's
 * lock, in one string. In one round trip:
 * - the checkpoint commits with the rows: a commit lost in a database
 *   crash loses both, and the batches are read and applied again, so a
 *   commit need not wait for its WAL flush;
 * - the apply statement's generic plan, built once, resolves the staged
 *   rows by index probes of the target tables, whatever their size was
 *   when it was built (a plan made while a table was small would scan it
 *   once it has grown; a hash join scans the whole table for 1,000 rows),
 *   and JIT stays off (the disabled paths' costs would switch it on: 1 s
 *   of compiling per batch);
 * - with lock, batches of one resource take turns: jobs that upsert the
 *   same keys at once would otherwise meet in unique indexes and
 *   deadlocks (the name is a fixed staging table name; a run through two
 *   connections holds it for its session, lock()). */
static const char *begin_sql(bulkio_writer_t *w, int lock)
{
    return apr_pstrcat(w->tx,
        "BEGIN; SET LOCAL synchronous_commit TO off;"
        " SET LOCAL plan_cache_mode TO force_generic_plan;"
        " SET LOCAL enable_seqscan TO off; SET LOCAL enable_hashjoin TO off;"
        " SET LOCAL enable_mergejoin TO off; SET LOCAL jit TO off",
        lock ? apr_pstrcat(w->tx, "; SELECT pg_advisory_xact_lock(hashtext('",
                           bulkio_batch_table(w->stage), "'))", NULL)
             : "", NULL);
}

/* Commit the transaction of conn; with reopen, open the next one (without
 * the lock) in the same round trip. */
static apr_status_t commit(bulkio_writer_t *w, PGconn *conn, int reopen)
{
    return exec_all(conn, reopen ? apr_pstrcat(w->tx, "COMMIT; ",
                                               begin_sql(w, 0), NULL)
                                 : "COMMIT");
}

/* Through two connections: take (on) or give back the resource's lock
 * for the session of the first, so that no other job writes the resource
 * while the run writes through both. */
static apr_status_t lock(bulkio_writer_t *w, int on)
{
    apr_status_t rv;

    rv = exec_all(w->conns[0], apr_pstrcat(w->tx,
        on ? "SELECT pg_advisory_lock" : "SELECT pg_advisory_unlock",
        "(hashtext('", bulkio_batch_table(w->stage), "'))", NULL));
    w->locked = on && rv == APR_SUCCESS;
    w->locked_at = apr_time_now();
    return rv;
}

/* Take the next n ids of the resource's sequence, in order, on conn. */
static apr_status_t take_ids(bulkio_writer_t *w, PGconn *conn, int n)
{
    const char *params[2];
    PGresult *res;
    apr_status_t rv;
    int i;

    apr_pool_clear(w->idpool);
    w->idpos = 0;
    w->ids = NULL;
    params[0] = bulkio_batch_sequence(w->stage);
    params[1] = apr_itoa(w->idpool, n);
    rv = bulkio_pq_exec(w->idpool, conn, "SELECT nextval($1::regclass)"
                        " FROM generate_series(1, $2::int)", 2, params, &res);
    if (rv != APR_SUCCESS || PQntuples(res) != n) {
        return APR_EGENERAL;
    }
    w->ids = apr_array_make(w->idpool, n, sizeof(apr_int64_t));
    for (i = 0; i < n; ++i) {
        APR_ARRAY_PUSH(w->ids, apr_int64_t) = apr_atoi64(PQgetvalue(res, i,
                                                                    0));
    }
    return APR_SUCCESS;
}

/* Give batch back to be filled again. */
static void release(bulkio_writer_t *w, bulkio_batch_t *batch)
{
    bulkio_batch_reset(batch);
    w->free[w->nfree++] = batch;
}

/* Give up the batches in flight (none of them is committed) and what the
 * connections have open. */
static void drop_flights(bulkio_writer_t *w)
{
    int i;

    while (w->nflights) {
        release(w, w->flights[--w->nflights].batch);
    }
    bulkio_batch_side_wait(w->stage);
    for (i = 0; i < w->nconns; ++i) {
        bulkio_pq_rollback(w->conns[i]);
        w->begun[i] = 0;
    }
    w->tx_batches = 0;
}

/* A batch transaction went wrong on conn: roll back all in flight. */
static bulkio_run_e drop_batch(bulkio_writer_t *w, PGconn *conn,
                               apr_status_t rv)
{
    w->reason = APR_STATUS_IS_EAGAIN(rv)
                ? "a batch beside another did not insert as new rows"
                : apr_pstrcat(w->pool, "database error: ",
                              bulkio_pq_error(w->pool, conn), NULL);
    /* a pair's error may be what one transaction cannot see of the
     * other's (a lock_timeout): through one connection, there is none */
    w->stats.again = w->pair && conn != w->ctl;
    drop_flights(w);
    return APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST : BULKIO_RUN_RETRY;
}

/* Finish writing the oldest batch in flight f (its error entries too);
 * its counts are added to *next; *over when the job's failed records
 * pass max_errors with it. */
static apr_status_t finish_batch(bulkio_writer_t *w, const flight_t *f,
                                 bulkio_progress_t *next, int *over)
{
    const bulkio_claim_t *c = w->job->claim;
    bulkio_batch_result_t done;
    apr_status_t rv;
    int i;

    rv = bulkio_batch_finish(f->batch, f->conn, c->id, &done);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    w->staged |= done.staged << (f->conn == w->conns[1]);
    next->records = f->records;
    next->bytes = f->bytes;
    next->success += done.applied;
    next->errors += done.failed;
    for (i = 0; i < BULKIO_STORE_ERR_TYPES; ++i) {
        next->by_type[i] += done.by_type[BULKIO_ERR_PARSE + i];
    }
    next->acts[0] += done.inserted;
    next->acts[1] += done.updated;
    next->acts[2] += done.unchanged;
    next->acts[3] += done.deleted;
    *over = c->max_errors >= 0 && next->errors > c->max_errors;
    return APR_SUCCESS;
}

/* The oldest batch in flight is done: next is the job's progress now. */
static void pop_flight(bulkio_writer_t *w, const bulkio_progress_t *next)
{
    bulkio_batch_t *batch = w->flights[0].batch;

    w->nflights--;
    memmove(w->flights, w->flights + 1,
            sizeof(*w->flights) * (apr_size_t)w->nflights);
    release(w, batch);
    w->stats.records += next->records - w->stats.prog.records;
    w->stats.prog = *next;
}

/* A progress line every PROGRESS_EVERY. */
static void log_progress(bulkio_writer_t *w)
{
    if (apr_time_now() - w->last_log >= PROGRESS_EVERY) {
        bulkio_job_progress(w->job, w->tx, &w->stats.prog, w->stats.records,
                            w->started);
        w->last_log = apr_time_now();
    }
}

/* Batch f, alone in its transaction, read rows as they were before the
 * batch before it (committed now) changed them: roll it back and send it
 * again in a new transaction. */
static apr_status_t resend(bulkio_writer_t *w, const flight_t *f)
{
    apr_status_t rv;

    bulkio_pq_rollback(f->conn);
    rv = exec_all(f->conn, begin_sql(w, 0));
    if (rv == APR_SUCCESS) {
        rv = bulkio_batch_resend(f->batch, f->conn);
    }
    w->resent++;
    return rv;
}

/* Finish the oldest batch in flight; commit it with the checkpoint
 * (records consumed and bytes of input read once it is written) when its
 * transaction holds enough, or when flush says so. */
static bulkio_run_e end_batch(bulkio_writer_t *w, int flush)
{
    bulkio_job_ctx_t *job = w->job;
    flight_t f = w->flights[0];
    bulkio_progress_t next = w->stats.prog;
    apr_status_t rv = APR_SUCCESS;
    int cancel = 0, over = 0;

    if (f.stale) {
        rv = resend(w, &f);
    }
    if (rv == APR_SUCCESS) {
        rv = finish_batch(w, &f, &next, &over);
    }
    if (rv == APR_SUCCESS && w->nflights > 1
        && bulkio_batch_meets(w->flights[1].batch, f.batch)) {
        w->flights[1].stale = 1;
    }
    if (rv == APR_SUCCESS) {
        w->tx_batches++;
        /* max_errors: the batch in which the failed records pass it is
         * committed with those before it, then the job stops */
        flush = flush || over || *job->stop || w->tx_batches >= TX_BATCHES
                || apr_time_now() - w->tx_started >= TX_TIME;
    }
    if (rv == APR_SUCCESS && flush) {
        rv = bulkio_store_checkpoint(w->tx, f.conn, job->claim->id,
                                     job->owner, job->lease, &next, &cancel);
        if (rv == APR_SUCCESS) {
            rv = commit(w, f.conn, w->nconns > 1);
            w->begun[f.conn == w->conns[1]] = w->nconns > 1;
        }
        w->tx_batches = 0;
    }
    if (rv != APR_SUCCESS) {
        return drop_batch(w, f.conn, rv);
    }
    pop_flight(w, &next);
    if (!flush) {
        return BULKIO_RUN_COMPLETED;
    }
    log_progress(w);
    if (over) {
        drop_flights(w);   /* the later batch is not committed */
        w->reason = bulkio_writer_over(w->pool, &next,
                                       job->claim->max_errors);
        return BULKIO_RUN_FAILED;
    }
    if (cancel || *job->stop) {
        drop_flights(w);   /* the later batch is not committed */
        return cancel ? BULKIO_RUN_CANCELED : BULKIO_RUN_STOPPED;
    }
    return BULKIO_RUN_COMPLETED;
}

/* A run that commits nothing before its end ends without applying
 * anything: roll its transaction back and record its counters (not the
 * running totals: nothing was imported). */
static bulkio_run_e end_unapplied(bulkio_writer_t *w, bulkio_run_e rc)
{
    bulkio_job_ctx_t *job = w->job;
    apr_status_t rv;
    int cancel = 0;

    rv = bulkio_batch_side_wait(w->stage);
    drop_flights(w);
    if (rv == APR_SUCCESS) {
        rv = bulkio_store_counts(w->tx, w->ctl, job->claim->id, job->owner,
                                 job->lease, &w->stats.prog, &cancel);
    }
    if (rv != APR_SUCCESS) {
        return drop_batch(w, w->ctl, rv);
    }
    return cancel && rc == BULKIO_RUN_COMPLETED ? BULKIO_RUN_CANCELED : rc;
}

/* Why a run that commits nothing before its end stopped at max_errors. */
static const char *whole_over(bulkio_writer_t *w)
{
    const bulkio_claim_t *c = w->job->claim;

    return apr_psprintf(w->pool, "%s%s: %" APR_INT64_T_FMT " failed records "
                        "passed max_errors=%" APR_INT64_T_FMT " (at record %"
                        APR_INT64_T_FMT "); %s",
                        c->dry_run ? "dry run, " : "",
                        c->atomic ? "atomic import failed" : "stopped",
                        w->stats.prog.errors, c->max_errors,
                        w->stats.prog.records,
                        c->dry_run ? "nothing was written"
                                   : "nothing was applied, no row changed");
}

/* Finish the oldest batch in flight of a run that commits nothing before
 * its end: its staged rows go, the progress and the lease are recorded
 * through the control connection now and then. At max_errors, a cancel or
 * a stop the whole run is rolled back. */
static bulkio_run_e end_whole(bulkio_writer_t *w)
{
    bulkio_job_ctx_t *job = w->job;
    flight_t f = w->flights[0];
    bulkio_progress_t next = w->stats.prog;
    PGconn *failed = f.conn;
    apr_status_t rv;
    int cancel = 0, over = 0;

    rv = finish_batch(w, &f, &next, &over);
    if (rv == APR_SUCCESS && ++w->tx_batches >= TX_BATCHES) {
        /* the transaction lasts: the staging table keeps up to
         * TX_BATCHES batches, as one of batch by batch does */
        int bit = 1 << (f.conn == w->conns[1]);

        if (w->staged & bit) {
            rv = exec_all(f.conn, apr_pstrcat(w->tx, "TRUNCATE ",
                                              bulkio_batch_table(w->stage),
                                              NULL));
        }
        w->staged &= ~bit;
        w->tx_batches = 0;
    }
    if (rv == APR_SUCCESS
        && (over || *job->stop || apr_time_now() - w->tx_started >= TX_TIME)) {
        failed = w->ctl;
        rv = bulkio_batch_side_wait(w->stage);
        if (rv == APR_SUCCESS) {
            rv = bulkio_store_position(w->tx, w->ctl, job->claim->id,
                                       job->owner, job->lease, next.records,
                                       next.bytes, &cancel);
        }
        w->tx_started = apr_time_now();
    }
    if (rv != APR_SUCCESS) {
        return drop_batch(w, failed, rv);
    }
    pop_flight(w, &next);
    log_progress(w);
    if (over) {
        w->reason = whole_over(w);
        return end_unapplied(w, BULKIO_RUN_FAILED);
    }
    if (cancel || *job->stop) {
        drop_flights(w);   /* nothing is applied */
        return cancel ? BULKIO_RUN_CANCELED : BULKIO_RUN_STOPPED;
    }
    return BULKIO_RUN_COMPLETED;
}

/* The end of a run that commits nothing before its end, every batch
 * finished: an atomic import that read its whole file (last) commits
 * with its checkpoint, marked applied; a dry run (or an atomic import
 * that could not read its file to the end) rolls back. */
static bulkio_run_e end_run(bulkio_writer_t *w, int last)
{
    bulkio_job_ctx_t *job = w->job;
    PGconn *conn = w->conns[0];
    apr_status_t rv;
    int cancel = 0;

    if (w->stats.commit != BULKIO_COMMIT_AT_END || !last) {
        return end_unapplied(w, BULKIO_RUN_COMPLETED);
    }
    rv = bulkio_store_checkpoint(w->tx, conn, job->claim->id, job->owner,
                                 job->lease, &w->stats.prog, &cancel);
    if (rv == APR_SUCCESS && !cancel) {
        rv = bulkio_store_applied(w->tx, conn, job->claim->id, job->owner,
                                  job->lease);
    }
    if (rv == APR_SUCCESS && !cancel) {
        rv = commit(w, conn, 0);
    }
    if (rv != APR_SUCCESS) {
        return drop_batch(w, conn, rv);
    }
    if (cancel) {
        drop_flights(w);   /* canceled before it was applied */
        return BULKIO_RUN_CANCELED;
    }
    return BULKIO_RUN_COMPLETED;
}

/* Finish and commit every batch in flight. */
static bulkio_run_e end_all(bulkio_writer_t *w)
{
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;

    while (rc == BULKIO_RUN_COMPLETED && w->nflights) {
        rc = w->stats.commit ? end_whole(w) : end_batch(w, 1);
    }
    return rc;
}

/* Through two connections: hold the resource's lock, for up to TX_TIME
 * at a time; then commit what is in flight and let a job waiting for the
 * resource have its turn before taking it again. */
static bulkio_run_e hold_lock(bulkio_writer_t *w)
{
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;

    if (w->locked && apr_time_now() - w->locked_at >= TX_TIME) {
        rc = end_all(w);
        if (rc == BULKIO_RUN_COMPLETED && lock(w, 0) != APR_SUCCESS) {
            return drop_batch(w, w->conns[0], APR_EGENERAL);
        }
    }
    if (rc == BULKIO_RUN_COMPLETED && !w->locked
        && lock(w, 1) != APR_SUCCESS) {
        return drop_batch(w, w->conns[0], APR_EGENERAL);
    }
    return rc;
}

/* Through two connections: the connection for the next batch (*pi),
 * with the resource's lock held, and whether the batch goes into the
 * transaction open there (*psame). It goes beside the batch in flight
 * when that one is alone in its transaction and the two share no key (one
 * that read what that one changed is written again: resend()); else after
 * it, in its transaction (committed when full), as through one
 * connection. */
static bulkio_run_e pick_conn(bulkio_writer_t *w, int *pi, int *psame)
{
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    int x;

    if (w->nflights == w->nconns) {
        rc = end_batch(w, 1);
    }
    if (rc == BULKIO_RUN_COMPLETED) {
        rc = hold_lock(w);
    }
    *psame = 0;
    if (rc != BULKIO_RUN_COMPLETED || !w->nflights) {
        /* a new transaction, where one is open already */
        *pi = w->begun[1] && !w->begun[0];
        return rc;
    }
    x = w->flights[0].conn == w->conns[1];
    if (!w->tx_batches
        && bulkio_batch_independent(w->filling, w->flights[0].batch, 0)) {
        *pi = !x;
        return rc;
    }
    rc = end_batch(w, 0);
    *pi = x;
    *psame = w->tx_batches > 0;
    return rc;
}

/* A dry run through two connections (pair): the connection for the next
 * batch (*pi), and whether it goes as new rows only (*pnew). It goes
 * beside the batch in flight when the two cannot meet: through the second
 * connection as new rows, or through the first; else after every batch in
 * flight, through the first. */
static bulkio_run_e pair_conn(bulkio_writer_t *w, int *pi, int *pnew)
{
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;

    if (w->nflights == 2) {
        rc = end_whole(w);
    }
    *pi = *pnew = 0;
    if (rc == BULKIO_RUN_COMPLETED && w->nflights
        && bulkio_batch_independent(w->filling, w->flights[0].batch, 1)) {
        *pi = *pnew = w->flights[0].conn == w->conns[0];
        return rc;
    }
    while (rc == BULKIO_RUN_COMPLETED && w->nflights) {
        rc = end_whole(w);
    }
    return rc;
}

/* Through two connections: the transaction of the next batch on
 * connection i, and the ids its rows take (NULL: the sequence's, as they
 * are written). */
static apr_status_t open_tx(bulkio_writer_t *w, int i, int same,
                            const apr_int64_t **pids)
{
    int n = w->job->batch_size;
    apr_status_t rv = APR_SUCCESS;

    *pids = NULL;
    if (same) {
        /* its rows' ids come after those taken: they go unused */
        w->idpos = w->ids ? w->ids->nelts : 0;
        return APR_SUCCESS;
    }
    if (!w->begun[i]) {
        rv = exec_all(w->conns[i], begin_sql(w, 0));
    }
    w->begun[i] = 0;
    w->tx_started = apr_time_now();
    if (rv == APR_SUCCESS && (!w->ids || w->idpos + n > w->ids->nelts)) {
        rv = take_ids(w, w->conns[i], ID_BLOCK * n);
    }
    if (rv == APR_SUCCESS) {
        *pids = &APR_ARRAY_IDX(w->ids, w->idpos, apr_int64_t);
        w->idpos += n;
    }
    return rv;
}

/* Start writing the batch being filled (the checkpoint records and bytes
 * once it is committed), in the open transaction or a new one; the
 * database works on it while the next batch is filled. */
static bulkio_run_e start_batch(bulkio_writer_t *w, apr_int64_t records,
                                apr_off_t bytes)
{
    bulkio_batch_t *batch = w->filling;
    flight_t *f;
    PGconn *conn;
    const apr_int64_t *ids = NULL;
    apr_status_t rv = APR_SUCCESS;
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;
    int i = 0, same = 0, only_new = 0;

    apr_pool_clear(w->tx);
    if (w->pair) {
        rc = pair_conn(w, &i, &only_new);
    }
    else if (w->nconns > 1) {
        rc = pick_conn(w, &i, &same);
    }
    else if (w->nflights) {
        rc = w->stats.commit ? end_whole(w) : end_batch(w, 0);
    }
    w->filling = NULL;
    if (rc != BULKIO_RUN_COMPLETED) {
        release(w, batch);
        w->filling = w->free[--w->nfree];
        return rc;
    }
    w->batches++;
    w->beside += w->nflights;
    conn = w->conns[i];
    if (w->nconns > 1 && !w->pair) {
        rv = open_tx(w, i, same, &ids);
    }
    else if (!w->tx_batches && !w->stats.commit) {
        rv = exec_all(conn, begin_sql(w, 1));
        w->tx_started = apr_time_now();
    }
    f = &w->flights[w->nflights++];
    f->batch = batch;
    f->conn = conn;
    f->records = records;
    f->bytes = bytes;
    f->stale = 0;
    if (rv == APR_SUCCESS) {
        rv = only_new ? bulkio_batch_send_new(batch, conn, ids)
                      : bulkio_batch_send(batch, conn, ids);
    }
    rc = rv == APR_SUCCESS ? BULKIO_RUN_COMPLETED : drop_batch(w, conn, rv);
    w->filling = w->free[--w->nfree];
    return rc;
}

const char *bulkio_writer_over(apr_pool_t *p, const bulkio_progress_t *prog,
                               apr_int64_t max_errors)
{
    return apr_psprintf(p, "stopped: %" APR_INT64_T_FMT " failed records "
                        "passed max_errors=%" APR_INT64_T_FMT "; the %"
                        APR_INT64_T_FMT " records before were written (%"
                        APR_INT64_T_FMT " applied)", prog->errors,
                        max_errors, prog->records, prog->success);
}

bulkio_commit_e bulkio_writer_commit(const bulkio_claim_t *c)
{
    if (c->dry_run) {
        return BULKIO_COMMIT_NEVER;
    }
    /* an atomic import taken over once it was applied only finishes */
    return c->atomic && !c->atomic_applied ? BULKIO_COMMIT_AT_END
                                           : BULKIO_COMMIT_BATCHES;
}

bulkio_mode_e bulkio_writer_mode(const bulkio_claim_t *c)
{
    int mode = bulkio_mode_from_name(c->mode);

    return mode < 0 ? BULKIO_MODE_UPSERT : (bulkio_mode_e)mode;
}

apr_status_t bulkio_writer_open(apr_pool_t *p, bulkio_job_ctx_t *job,
                                bulkio_resource_e res, apr_time_t started,
                                bulkio_writer_t **pw, const char **preason)
{
    const bulkio_claim_t *c = job->claim;
    bulkio_writer_t *w = apr_pcalloc(p, sizeof(*w));
    bulkio_claim_t *again;
    apr_status_t rv = APR_SUCCESS;
    int i;

    w->job = job;
    w->pool = p;
    w->stats.commit = bulkio_writer_commit(c);
    if (w->stats.commit) {
        if (!job->ctl || job->ctl == job->conn) {
            *preason = "a dry run or an atomic import needs a second "
                       "database connection";
            return APR_EGENERAL;
        }
        /* nothing of an earlier run is applied: start again */
        w->ctl = job->ctl;
        again = apr_pmemdup(p, c, sizeof(*c));
        rv = bulkio_store_restart(p, w->ctl, again, job->owner);
        if (rv != APR_SUCCESS) {
            *preason = apr_pstrcat(p, "database error: ",
                                   bulkio_pq_error(p, w->ctl), NULL);
            return rv;
        }
        job->claim = c = again;
    }
    w->stats.prog.records = c->checkpoint_records;
    w->stats.prog.bytes = c->checkpoint_bytes;
    w->stats.prog.success = c->success_count;
    w->stats.prog.errors = c->error_count;
    memcpy(w->stats.prog.by_type, c->errors_by_type,
           sizeof(w->stats.prog.by_type));
    memcpy(w->stats.prog.acts, c->acts, sizeof(w->stats.prog.acts));
    w->started = w->last_log = started;
    apr_pool_create(&w->tx, p);
    apr_pool_create(&w->idpool, p);
    w->conns[w->nconns++] = job->conn;
    if (job->ctl && job->ctl != job->conn && !w->ctl) {
        w->conns[w->nconns++] = job->ctl;
    }
    else if (c->dry_run && job->aux) {
        w->conns[w->nconns++] = job->aux;
        w->pair = 1;
    }
    w->stats.connections = w->nconns;
    /* the batches of both connections number from one stage */
    for (i = w->nconns - 1; i >= 0 && rv == APR_SUCCESS; --i) {
        rv = bulkio_batch_setup(p, w->conns[i], res,
                                bulkio_writer_mode(job->claim), &w->stage);
        if (rv != APR_SUCCESS) {
            *preason = apr_pstrcat(p, "database error: ",
                                   bulkio_pq_error(p, w->conns[i]), NULL);
            return rv;
        }
    }
    bulkio_batch_error_caps(w->stage, c->max_error_rows, c->max_error_bytes);
    /* a dry run's results are what would happen: kept like its errors */
    bulkio_batch_results(w->stage, job->results, c->dry_run ? w->ctl : NULL);
    if (c->dry_run) {
        bulkio_batch_own_ids(w->stage);
    }
    if (w->ctl) {
        /* error entries outlive the rollback; one transaction from here,
         * without the resource's lock: held for the whole run, it would
         * keep every other import of the resource waiting (and their
         * leases expiring); only writers of the same rows wait */
        bulkio_batch_errors_to(w->stage, w->ctl);
        for (i = 0; i < w->nconns && rv == APR_SUCCESS; ++i) {
            /* a pair: a row lock of the other's is never released */
            rv = exec_all(w->conns[i], apr_pstrcat(p, begin_sql(w, 0),
                          w->pair ? "; SET LOCAL lock_timeout TO '"
                                    PAIR_LOCK_TIMEOUT "'" : "", NULL));
        }
        w->tx_started = apr_time_now();
        if (rv != APR_SUCCESS) {
            *preason = apr_pstrcat(p, "database error: ",
                                   bulkio_pq_error(p, w->conns[i - 1]),
                                   NULL);
            drop_flights(w);
            return rv;
        }
    }
    /* one batch is filled while the database writes the others */
    for (i = 0; i <= w->nconns; ++i) {
        w->free[w->nfree++] = bulkio_batch_create(p, w->stage, res);
    }
    w->filling = w->free[--w->nfree];
    *pw = w;
    return APR_SUCCESS;
}

bulkio_batch_t *bulkio_writer_batch(bulkio_writer_t *w)
{
    return w->filling;
}

bulkio_run_e bulkio_writer_submit(bulkio_writer_t *w, apr_int64_t records,
                                  apr_off_t bytes)
{
    return start_batch(w, records, bytes);
}

bulkio_run_e bulkio_writer_finish(bulkio_writer_t *w, int last,
                                  apr_int64_t records, apr_off_t bytes,
                                  const char **preason)
{
    bulkio_run_e rc = end_all(w);

    if (rc == BULKIO_RUN_COMPLETED && last) {
        if (records < w->stats.prog.records) {
            records = w->stats.prog.records;
        }
        rc = start_batch(w, records, bytes);
        if (rc == BULKIO_RUN_COMPLETED) {
            rc = end_all(w);
        }
        if (rc == BULKIO_RUN_STOPPED && !w->stats.commit) {
            rc = BULKIO_RUN_COMPLETED;   /* nothing is left to hand back */
        }
    }
    if (rc == BULKIO_RUN_COMPLETED && w->stats.commit) {
        rc = end_run(w, last);
    }
    bulkio_writer_abort(w, preason);
    return rc;
}

void bulkio_writer_abort(bulkio_writer_t *w, const char **preason)
{
    drop_flights(w);   /* the transactions opened for batches to come */
    if (w->locked && PQstatus(w->conns[0]) == CONNECTION_OK) {
        lock(w, 0);
    }
    if (w->nconns > 1) {
        bulkio_job_log(w->job, w->tx, BULKIO_LOG_INFO, "Job %s: %"
                       APR_INT64_T_FMT " of %" APR_INT64_T_FMT " batches "
                       "written beside the one before, %" APR_INT64_T_FMT
                       " of them again", w->job->claim->job_id, w->beside,
                       w->batches, w->resent);
    }
    if (preason) {
        *preason = w->reason;
    }
}

const bulkio_writer_stats_t *bulkio_writer_stats(const bulkio_writer_t *w)
{
    return &w->stats;
}
