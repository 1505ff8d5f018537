/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "bulkio_pq.h"
#include "bulkio_store_lease.h"
#include "bulkio_writer.h"

#define PROGRESS_EVERY apr_time_from_sec(5)

/* Batches share a transaction up to this many, or this long: each stays
 * the unit of errors and of the checkpoint, which commits with its rows,
 * but the commits (and the staging table's truncation at each) come
 * fewer. Status sees progress at each commit. A transaction is committed
 * sooner when no batch is queued to join it: a backend never waits, in
 * transaction, for the job thread to parse the next one. */
#define TX_BATCHES 8
#define TX_TIME apr_time_from_msec(500)

/* Through two connections the transactions commit in file order. A batch
 * is written beside the one before (which commits first) when that one
 * is alone in its transaction, not committed, and the two cannot meet
 * (bulkio_batch_independent()); else it joins that one's transaction
 * once it is finished (as through one connection), or, when that one
 * committed, starts a transaction on a connection with none open. A
 * batch in a transaction of its own gets its new rows' ids from ids the
 * run takes from the sequence ID_BLOCK batches' worth at a time, in file
 * order; a batch that joins a transaction takes them from the sequence as
 * it is written, after those, which are then dropped: so ids follow the
 * file as through one connection. A connection opens the transaction of
 * its next batch as it commits (one round trip) when a batch is queued.
 * The run holds the resource's lock (no other job writes it meanwhile)
 * for up to TX_TIME at a time, then, once every transaction committed,
 * lets waiting jobs have their turn before taking it again. */
#define MAX_CONNS 2
#define ID_BLOCK 8

/* The threads. The job thread (the caller of bulkio_writer_*()) parses
 * and validates into the next free batch and queues it; it waits only
 * when no batch is free (QUEUE batches parsed ahead of those written).
 * Each connection has a thread of its own that takes the next batch from
 * the queue, runs every call on its connection itself (blocking) and
 * commits: a backend whose statement ends is served at once, whatever
 * the other connection does, and parsing never waits for a round trip.
 *
 * Who owns what:
 * - the writer's mutex (M) guards the queue, the free batches, each
 *   connection's batch and count of batches not committed (wconn_t cur,
 *   nbatches), the turn and commit counters, the lock's state, the stop
 *   and end flags, the reason, stats, and every allocation from the
 *   writer's pool once the threads run; the condition is signaled at each
 *   change of them;
 * - the stage (S, taken under M: stage_take()) is the right to call
 *   bulkio_batch.h on the run's batches, which share one stage (its
 *   insert back-off, its error caps): a batch's placement
 *   (bulkio_batch_independent()) and its send, and a batch's finish, each
 *   hold it, so a batch judged independent is sent as judged; a thread
 *   about to send goes before one about to finish, so that a backend that
 *   is free gets its next statement while the other's is awaited; the
 *   ids taken from the sequence are the stage holder's;
 * - the turn orders finishing and committing: batch n is finished (and
 *   committed, or joined by batch n + 1 on the same connection) only
 *   after batch n - 1, so commits, checkpoints, progress, max_errors and
 *   the error caps go in file order;
 * - a connection, its pool (tx), its open transaction (begun, tx_done,
 *   tx_started) belong to its thread; the first connection's thread also
 *   takes and gives back the resource's lock and, for a dry run or an
 *   atomic import (one connection), ends the run through the control
 *   connection; the job thread uses none of them until the threads are
 *   joined (bulkio_writer_abort()).
 * The batches' memory comes from the writer's pool, whose allocator has
 * a mutex (a batch is filled by one thread, written by another, reset
 * under M). */
#define QUEUE 2
#define BATCHES (MAX_CONNS + QUEUE + 1)

/* A batch filled and queued, then written. */
typedef struct {
    bulkio_batch_t *batch;     /* NULL: none */
    apr_int64_t seq;           /* its place in the run: 1, 2, ... */
    apr_int64_t records;       /* the checkpoint once it is committed */
    apr_off_t bytes;
    apr_int64_t meets;         /* found to meet batch number meets */
} queued_t;

/* A connection and its thread. */
typedef struct {
    bulkio_writer_t *w;
    PGconn *conn;
    int i;
    apr_thread_t *thread;      /* until joined */
    apr_pool_t *tx;            /* its thread's, cleared per batch */
    int begun;                 /* a transaction is open for its next
                                * batch */
    int tx_done;               /* batches finished in the open one */
    apr_time_t tx_started;
    queued_t cur;              /* M: the batch it writes */
    int nbatches;              /* M: batches in its open transaction */
} wconn_t;

struct bulkio_writer_t {
    bulkio_job_ctx_t *job;
    apr_pool_t *pool;          /* the run's */
    bulkio_stage_t *stage;
    wconn_t conns[MAX_CONNS];
    int nconns;
    apr_array_header_t *ids;   /* S: ids taken for batches to come... */
    int idpos;                 /* ... from this one on */
    apr_pool_t *idpool;
    bulkio_batch_t *filling;   /* the job thread's: to submit next */
    apr_thread_mutex_t *mutex; /* M, over the rest: */
    apr_thread_cond_t *cond;
    bulkio_batch_t *free[BATCHES];
    int nfree;
    queued_t queue[BATCHES];   /* batches to write, oldest first */
    int nqueued;
    apr_int64_t seq;           /* of the newest queued */
    apr_int64_t queued_records; /* its records (or the checkpoint) */
    apr_int64_t turned;        /* every batch up to it is finished... */
    apr_int64_t committed;     /* ... and up to it committed */
    int stage_busy;            /* S is held */
    int want_send;             /* threads waiting for S to send */
    int locked;                /* two: the resource's lock is held... */
    apr_time_t locked_at;      /* ... since */
    int relock;                /* a thread waits for it to be taken */
    int ending;                /* no batch comes after those queued... */
    int has_last;              /* ... the newest being the file's end */
    int quit;                  /* abort: stop after the batch at hand */
    int stopping;              /* the run ends: rc, reason */
    bulkio_run_e rc;
    const char *reason;
    int running;               /* threads not ended */
    int whole_batches;         /* a whole run's, since its staging table
                                * was emptied */
    apr_int64_t batches;       /* started by this run... */
    apr_int64_t beside;        /* ... of them beside the one before */
    bulkio_writer_stats_t stats; /* as of the last batch finished */
    PGconn *ctl;               /* commit not BATCHES: errors, progress and
                                * the lease go through it */
    apr_time_t started;
    apr_time_t last_log;
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
static const char *begin_sql(apr_pool_t *p, bulkio_writer_t *w, int lock)
{
    return apr_pstrcat(p,
        "BEGIN; SET LOCAL synchronous_commit TO off;"
        " SET LOCAL plan_cache_mode TO force_generic_plan;"
        " SET LOCAL enable_seqscan TO off; SET LOCAL enable_hashjoin TO off;"
        " SET LOCAL enable_mergejoin TO off; SET LOCAL jit TO off",
        lock ? apr_pstrcat(p, "; SELECT pg_advisory_xact_lock(hashtext('",
                           bulkio_batch_table(w->stage), "'))", NULL)
             : "", NULL);
}

/* Commit the transaction of c; with reopen, open the next one (without
 * the lock) in the same round trip. */
static apr_status_t commit(wconn_t *c, int reopen)
{
    apr_status_t rv = exec_all(c->conn,
                               reopen ? apr_pstrcat(c->tx, "COMMIT; ",
                                                    begin_sql(c->tx, c->w, 0),
                                                    NULL)
                                      : "COMMIT");

    c->begun = reopen && rv == APR_SUCCESS;
    return rv;
}

/* Through two connections: take (on) or give back the resource's lock
 * for the session of the first, so that no other job writes the resource
 * while the run writes through both. Its thread's, or the job thread's
 * once it is joined. */
static apr_status_t lock(bulkio_writer_t *w, int on)
{
    wconn_t *c = &w->conns[0];

    return exec_all(c->conn, apr_pstrcat(c->tx,
        on ? "SELECT pg_advisory_lock" : "SELECT pg_advisory_unlock",
        "(hashtext('", bulkio_batch_table(w->stage), "'))", NULL));
}

/* M: is the resource's lock held, since less than TX_TIME? */
static int lock_fresh(const bulkio_writer_t *w)
{
    return w->locked && apr_time_now() - w->locked_at < TX_TIME;
}

/* S: take the next n ids of the resource's sequence, in order, on c. */
static apr_status_t take_ids(wconn_t *c, int n)
{
    bulkio_writer_t *w = c->w;
    const char *params[2];
    PGresult *res;
    apr_status_t rv;
    int i;

    apr_pool_clear(w->idpool);
    w->idpos = 0;
    w->ids = NULL;
    params[0] = bulkio_batch_sequence(w->stage);
    params[1] = apr_itoa(w->idpool, n);
    rv = bulkio_pq_exec(w->idpool, c->conn, "SELECT nextval($1::regclass)"
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

/* M: give batch back to be filled again. */
static void release(bulkio_writer_t *w, bulkio_batch_t *batch)
{
    bulkio_batch_reset(batch);
    w->free[w->nfree++] = batch;
    apr_thread_cond_broadcast(w->cond);
}

/* M: the run ends with rc (the first reason stays); every thread stops
 * after the batch at hand, and what is not committed is rolled back. */
static void stop_run(bulkio_writer_t *w, bulkio_run_e rc, const char *reason)
{
    if (!w->stopping) {
        w->stopping = 1;
        w->rc = rc;
        w->reason = reason ? apr_pstrdup(w->pool, reason) : NULL;
    }
    apr_thread_cond_broadcast(w->cond);
}

/* A database error (rv, said by conn) in what c's thread did: it rolls
 * back its transaction, the run ends. */
static void fail(wconn_t *c, PGconn *conn, apr_status_t rv)
{
    bulkio_writer_t *w = c->w;
    const char *why = apr_pstrcat(c->tx, "database error: ",
                                  bulkio_pq_error(c->tx, conn), NULL);

    bulkio_pq_rollback(c->conn);
    c->begun = 0;
    apr_thread_mutex_lock(w->mutex);
    stop_run(w, APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST
                                           : BULKIO_RUN_RETRY, why);
    apr_thread_mutex_unlock(w->mutex);
}

/* M: take the stage, to send (before those who wait to finish) or to
 * finish a batch. */
static void stage_take(bulkio_writer_t *w, int send)
{
    if (send) {
        w->want_send++;
        while (w->stage_busy) {
            apr_thread_cond_wait(w->cond, w->mutex);
        }
        w->want_send--;
    }
    else {
        while (w->stage_busy || w->want_send) {
            apr_thread_cond_wait(w->cond, w->mutex);
        }
    }
    w->stage_busy = 1;
}

/* M: give the stage back. */
static void stage_give(bulkio_writer_t *w)
{
    w->stage_busy = 0;
    apr_thread_cond_broadcast(w->cond);
}

/* Finish writing batch f (its error entries too) on c; its counts are
 * added to *next; *over when the job's failed records pass max_errors
 * with it. */
static apr_status_t finish_batch(wconn_t *c, const queued_t *f,
                                 bulkio_progress_t *next, int *over)
{
    const bulkio_claim_t *cl = c->w->job->claim;
    bulkio_batch_result_t done;
    apr_status_t rv;
    int i;

    rv = bulkio_batch_finish(f->batch, c->conn, cl->id, &done);
    if (rv != APR_SUCCESS) {
        return rv;
    }
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
    *over = cl->max_errors >= 0 && next->errors > cl->max_errors;
    return APR_SUCCESS;
}

/* M: the batch of c was finished, next is the job's progress now. */
static void finished(wconn_t *c, const bulkio_progress_t *next)
{
    bulkio_writer_t *w = c->w;

    w->stats.records += next->records - w->stats.prog.records;
    w->stats.prog = *next;
    w->turned = c->cur.seq;
    apr_thread_cond_broadcast(w->cond);
}

/* M: a progress line every PROGRESS_EVERY. */
static void log_progress(wconn_t *c)
{
    bulkio_writer_t *w = c->w;

    if (apr_time_now() - w->last_log >= PROGRESS_EVERY) {
        bulkio_job_progress(w->job, c->tx, &w->stats.prog, w->stats.records,
                            w->started);
        w->last_log = apr_time_now();
    }
}

/* S: the transaction of c's batch: a new one, or (join) the open one;
 * *pids: the ids its rows take (NULL: the sequence's as they are
 * written). */
static apr_status_t open_tx(wconn_t *c, int join, const apr_int64_t **pids)
{
    bulkio_writer_t *w = c->w;
    int n = w->job->batch_size;
    apr_status_t rv = APR_SUCCESS;

    *pids = NULL;
    if (w->stats.commit) {
        return APR_SUCCESS;   /* one transaction, opened with the writer */
    }
    if (join) {
        /* its rows' ids come after those taken: they go unused */
        w->idpos = w->ids ? w->ids->nelts : 0;
        return APR_SUCCESS;
    }
    c->tx_started = apr_time_now();
    c->tx_done = 0;
    if (w->nconns == 1) {
        return exec_all(c->conn, begin_sql(c->tx, w, 1));
    }
    if (!c->begun) {
        rv = exec_all(c->conn, begin_sql(c->tx, w, 0));
    }
    c->begun = 0;
    if (rv == APR_SUCCESS && (!w->ids || w->idpos + n > w->ids->nelts)) {
        rv = take_ids(c, ID_BLOCK * n);
    }
    if (rv == APR_SUCCESS) {
        *pids = &APR_ARRAY_IDX(w->ids, w->idpos, apr_int64_t);
        w->idpos += n;
    }
    return rv;
}

/* M, S: c takes the batch at the head of the queue into a new
 * transaction or (join) its open one and starts writing it (the database
 * works on it while c's thread waits for its turn); gives S back. */
static void send_head(wconn_t *c, int join)
{
    bulkio_writer_t *w = c->w;
    const apr_int64_t *ids;
    apr_status_t rv;

    c->cur = w->queue[0];
    memmove(w->queue, w->queue + 1,
            sizeof(*w->queue) * (apr_size_t)--w->nqueued);
    c->nbatches = join ? c->nbatches + 1 : 1;
    w->batches++;
    apr_thread_mutex_unlock(w->mutex);
    apr_pool_clear(c->tx);
    rv = open_tx(c, join, &ids);
    if (rv == APR_SUCCESS) {
        rv = bulkio_batch_send(c->cur.batch, c->conn, ids);
    }
    if (rv != APR_SUCCESS) {
        fail(c, c->conn, rv);
    }
    apr_thread_mutex_lock(w->mutex);
    stage_give(w);
}

/* M: may c take the batch at the head of the queue into a transaction of
 * its own? 0: not now; 1: yes, the batch before is committed; 2: beside
 * the batch before (*pprev's), if the two cannot meet (asked with the
 * stage held). */
static int may_take(bulkio_writer_t *w, wconn_t *c, wconn_t **pprev)
{
    const queued_t *q = &w->queue[0];
    wconn_t *o;

    if (!w->nqueued || c->nbatches || w->stopping || w->quit) {
        return 0;
    }
    if (w->nconns > 1 && !lock_fresh(w)) {
        w->relock = 1;   /* the first connection's thread takes it */
        apr_thread_cond_broadcast(w->cond);
        return 0;
    }
    if (q->seq - 1 <= w->committed) {
        return 1;
    }
    o = &w->conns[!c->i];
    if (w->nconns < 2 || o->nbatches != 1 || o->cur.seq != q->seq - 1
        || q->meets == q->seq - 1) {
        return 0;   /* it joins the transaction before, or waits */
    }
    *pprev = o;
    return 2;
}

/* M: take the batch at the head of the queue when c may, and send it.
 * Non-zero when it took one. */
static int take(wconn_t *c)
{
    bulkio_writer_t *w = c->w;
    wconn_t *prev = NULL;
    int how;

    if (!may_take(w, c, &prev)) {
        return 0;
    }
    stage_take(w, 1);
    how = may_take(w, c, &prev);   /* again: it waited */
    if (how == 2 && !bulkio_batch_independent(w->queue[0].batch,
                                              prev->cur.batch)) {
        w->queue[0].meets = w->queue[0].seq - 1;
        how = 0;
    }
    if (!how) {
        stage_give(w);
        return 0;
    }
    w->beside += how == 2;
    send_head(c, 0);
    return 1;
}

/* M: a run that commits nothing before its end ends without applying
 * anything: roll its transaction back and record its counters (not the
 * running totals: nothing was imported). */
static bulkio_run_e end_unapplied(wconn_t *c, bulkio_run_e rc)
{
    bulkio_writer_t *w = c->w;
    bulkio_job_ctx_t *job = w->job;
    bulkio_progress_t prog = w->stats.prog;
    apr_status_t rv;
    int cancel = 0;

    apr_thread_mutex_unlock(w->mutex);
    bulkio_pq_rollback(c->conn);
    rv = bulkio_store_counts(c->tx, w->ctl, job->claim->id, job->owner,
                             job->lease, &prog, &cancel);
    if (rv != APR_SUCCESS) {
        fail(c, w->ctl, rv);
    }
    apr_thread_mutex_lock(w->mutex);
    if (rv != APR_SUCCESS) {
        return w->rc;
    }
    return cancel && rc == BULKIO_RUN_COMPLETED ? BULKIO_RUN_CANCELED : rc;
}

/* M: why a run that commits nothing before its end stopped at
 * max_errors. */
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

/* The batch of c, in a run that commits nothing before its end, is
 * finished (next, over): its staged rows go, the progress and the lease
 * are recorded through the control connection now and then. At
 * max_errors, a cancel or a stop the whole run is rolled back. */
static void end_whole(wconn_t *c, bulkio_progress_t *next, int over)
{
    bulkio_writer_t *w = c->w;
    bulkio_job_ctx_t *job = w->job;
    PGconn *failed = c->conn;
    apr_status_t rv = APR_SUCCESS;
    int cancel = 0;

    if (++w->whole_batches >= TX_BATCHES) {
        /* the transaction lasts: the staging table keeps up to
         * TX_BATCHES batches, as one of batch by batch does */
        rv = exec_all(c->conn, apr_pstrcat(c->tx, "TRUNCATE ",
                                           bulkio_batch_table(w->stage),
                                           NULL));
        w->whole_batches = 0;
    }
    if (rv == APR_SUCCESS
        && (over || *job->stop || apr_time_now() - c->tx_started >= TX_TIME)) {
        failed = w->ctl;
        rv = bulkio_store_position(c->tx, w->ctl, job->claim->id, job->owner,
                                   job->lease, next->records, next->bytes,
                                   &cancel);
        c->tx_started = apr_time_now();
    }
    if (rv != APR_SUCCESS) {
        fail(c, failed, rv);
        return;
    }
    apr_thread_mutex_lock(c->w->mutex);
    finished(c, next);
    w->committed = c->cur.seq;
    c->cur.batch = NULL;
    c->nbatches = 0;
    log_progress(c);
    if (over) {
        const char *why = whole_over(w);

        stop_run(w, end_unapplied(c, BULKIO_RUN_FAILED), why);
    }
    else if (cancel || *job->stop) {
        stop_run(w, cancel ? BULKIO_RUN_CANCELED : BULKIO_RUN_STOPPED, NULL);
    }
    apr_thread_mutex_unlock(c->w->mutex);
}

/* M: c's batch is in its turn and finished (next, over): commit it with
 * the checkpoint (records consumed and bytes of input read once it is
 * written), or, when its transaction has room and the next batch is
 * queued and may not go beside it, let that one join it. */
static void end_batch(wconn_t *c, bulkio_progress_t *next, int over)
{
    bulkio_writer_t *w = c->w;
    bulkio_job_ctx_t *job = w->job;
    queued_t f = c->cur;
    const queued_t *q = &w->queue[0];
    apr_status_t rv = APR_SUCCESS;
    int join = 0, reopen, cancel = 0, last;

    c->tx_done++;
    /* max_errors: the batch in which the failed records pass it is
     * committed with those before it, then the job stops */
    if (!over && !*job->stop && c->tx_done < TX_BATCHES
        && apr_time_now() - c->tx_started < TX_TIME
        && (w->nconns == 1 || lock_fresh(w))
        && w->nqueued && q->seq == f.seq + 1) {
        join = w->nconns == 1 || c->nbatches > 1
               || !bulkio_batch_independent(q->batch, f.batch);
    }
    if (join) {
        release(w, f.batch);
        finished(c, next);
        send_head(c, 1);
        return;
    }
    stage_give(w);
    reopen = w->nconns > 1 && w->nqueued;
    apr_thread_mutex_unlock(w->mutex);
    rv = bulkio_store_checkpoint(c->tx, c->conn, job->claim->id, job->owner,
                                 job->lease, next, &cancel);
    if (rv == APR_SUCCESS) {
        rv = commit(c, reopen);
    }
    if (rv != APR_SUCCESS) {
        fail(c, c->conn, rv);
        apr_thread_mutex_lock(w->mutex);
        return;
    }
    apr_thread_mutex_lock(w->mutex);
    /* kept until now: the other thread may judge a batch against it */
    release(w, f.batch);
    finished(c, next);
    w->committed = f.seq;
    c->cur.batch = NULL;
    c->nbatches = 0;
    log_progress(c);
    /* a stop at the file's last batch leaves nothing to hand back */
    last = w->ending && w->has_last && f.seq == w->seq;
    if (over) {
        stop_run(w, BULKIO_RUN_FAILED,
                 bulkio_writer_over(c->tx, next, job->claim->max_errors));
    }
    else if (cancel || (*job->stop && !last)) {
        stop_run(w, cancel ? BULKIO_RUN_CANCELED : BULKIO_RUN_STOPPED, NULL);
    }
}

/* M: c's batch is sent: in its turn (every batch before it finished, and
 * committed unless in c's transaction), finish it, then commit it or let
 * the next one join its transaction. */
static void turn(wconn_t *c)
{
    bulkio_writer_t *w = c->w;
    bulkio_progress_t next;
    apr_status_t rv;
    int over = 0;

    while (!w->stopping && !w->quit && w->turned != c->cur.seq - 1) {
        apr_thread_cond_wait(w->cond, w->mutex);
    }
    if (w->stopping || w->quit) {
        return;
    }
    stage_take(w, 0);
    next = w->stats.prog;
    apr_thread_mutex_unlock(w->mutex);
    rv = finish_batch(c, &c->cur, &next, &over);
    if (rv != APR_SUCCESS) {
        fail(c, c->conn, rv);
        apr_thread_mutex_lock(w->mutex);
        stage_give(w);
        return;
    }
    apr_thread_mutex_lock(w->mutex);
    if (!w->stats.commit) {
        end_batch(c, &next, over);
        return;
    }
    release(w, c->cur.batch);
    stage_give(w);
    apr_thread_mutex_unlock(w->mutex);
    end_whole(c, &next, over);
    apr_thread_mutex_lock(w->mutex);
}

/* M: the first connection's thread, when a thread waits for the
 * resource's lock and no transaction is open: give it back if held
 * (a job waiting for it takes its turn), then take it. */
static int relock(wconn_t *c)
{
    bulkio_writer_t *w = c->w;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (c->i || !w->relock) {
        return 0;
    }
    for (i = 0; i < w->nconns; ++i) {
        if (w->conns[i].nbatches) {
            return 0;
        }
    }
    apr_thread_mutex_unlock(w->mutex);
    apr_pool_clear(c->tx);
    if (w->locked) {
        rv = lock(w, 0);
    }
    if (rv == APR_SUCCESS) {
        rv = lock(w, 1);
    }
    if (rv != APR_SUCCESS) {
        fail(c, c->conn, rv);
    }
    apr_thread_mutex_lock(w->mutex);
    w->locked = rv == APR_SUCCESS;
    w->locked_at = apr_time_now();
    w->relock = 0;
    apr_thread_cond_broadcast(w->cond);
    return 1;
}

/* M: the end of a run that commits nothing before its end, every batch
 * finished: an atomic import that read its whole file commits with its
 * checkpoint, marked applied; a dry run (or an atomic import that could
 * not read its file to the end) rolls back. */
static void end_run(wconn_t *c)
{
    bulkio_writer_t *w = c->w;
    bulkio_job_ctx_t *job = w->job;
    bulkio_progress_t prog = w->stats.prog;
    bulkio_run_e rc;
    apr_status_t rv;
    int cancel = 0;

    if (w->stats.commit != BULKIO_COMMIT_AT_END || !w->has_last) {
        rc = end_unapplied(c, BULKIO_RUN_COMPLETED);
        if (rc != BULKIO_RUN_COMPLETED) {
            stop_run(w, rc, NULL);
        }
        return;
    }
    apr_thread_mutex_unlock(w->mutex);
    rv = bulkio_store_checkpoint(c->tx, c->conn, job->claim->id, job->owner,
                                 job->lease, &prog, &cancel);
    if (rv == APR_SUCCESS && !cancel) {
        rv = bulkio_store_applied(c->tx, c->conn, job->claim->id, job->owner,
                                  job->lease);
    }
    if (rv == APR_SUCCESS && !cancel) {
        rv = commit(c, 0);
    }
    if (rv != APR_SUCCESS) {
        fail(c, c->conn, rv);
    }
    apr_thread_mutex_lock(w->mutex);
    if (rv == APR_SUCCESS && cancel) {
        stop_run(w, BULKIO_RUN_CANCELED, NULL);   /* rolled back at abort */
    }
}

/* A connection's thread: takes the queued batches it may, in file order,
 * writes and commits them in their turn, until the run ends. */
static void *APR_THREAD_FUNC conn_thread(apr_thread_t *thread, void *data)
{
    wconn_t *c = data;
    bulkio_writer_t *w = c->w;

    (void)thread;
    apr_thread_mutex_lock(w->mutex);
    while (!w->stopping && !w->quit) {
        if (c->cur.batch) {
            turn(c);
        }
        else if (!take(c) && !relock(c)) {
            if (w->ending && !w->nqueued) {
                if (w->stats.commit) {
                    end_run(c);
                }
                break;
            }
            apr_thread_cond_wait(w->cond, w->mutex);
        }
    }
    if (!--w->running) {
        apr_thread_cond_broadcast(w->cond);
    }
    apr_thread_mutex_unlock(w->mutex);
    /* a plain return, as the job threads do (mod_bulkio_threads.c) */
    return NULL;
}

/* Stop the writer's threads after the batch at hand (unless they ended)
 * and wait for them. */
static apr_status_t join_writer(void *data)
{
    bulkio_writer_t *w = data;
    apr_status_t trv;
    int i;

    apr_thread_mutex_lock(w->mutex);
    w->quit = 1;
    apr_thread_cond_broadcast(w->cond);
    apr_thread_mutex_unlock(w->mutex);
    for (i = 0; i < w->nconns; ++i) {
        if (w->conns[i].thread) {
            apr_thread_join(&trv, w->conns[i].thread);
            w->conns[i].thread = NULL;
        }
    }
    return APR_SUCCESS;
}

/* The writer's pool: a child of p with an allocator of its own that
 * the threads may share, and the mutex and condition they share. */
static apr_status_t writer_pool(apr_pool_t *p, bulkio_writer_t *w)
{
    apr_allocator_t *alloc;
    apr_thread_mutex_t *amutex;
    apr_status_t rv;

    rv = apr_allocator_create(&alloc);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_pool_create_ex(&w->pool, p, NULL, alloc);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return rv;
    }
    apr_allocator_owner_set(alloc, w->pool);
    rv = apr_thread_mutex_create(&amutex, APR_THREAD_MUTEX_DEFAULT, w->pool);
    if (rv == APR_SUCCESS) {
        apr_allocator_mutex_set(alloc, amutex);
        rv = apr_thread_mutex_create(&w->mutex, APR_THREAD_MUTEX_DEFAULT,
                                     w->pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&w->cond, w->pool);
    }
    return rv;
}

/* Start a thread per connection; they are joined at the latest when the
 * writer's pool goes. */
static apr_status_t start_writer(bulkio_writer_t *w)
{
    apr_threadattr_t *attr;
    apr_status_t rv;
    int i;

    rv = apr_threadattr_create(&attr, w->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_threadattr_stacksize_set(attr, 1024 * 1024);
    apr_pool_pre_cleanup_register(w->pool, w, join_writer);
    for (i = 0; i < w->nconns && rv == APR_SUCCESS; ++i) {
        apr_thread_mutex_lock(w->mutex);
        w->running++;
        apr_thread_mutex_unlock(w->mutex);
        rv = apr_thread_create(&w->conns[i].thread, attr, conn_thread,
                               &w->conns[i], w->pool);
        if (rv != APR_SUCCESS) {
            w->conns[i].thread = NULL;
            apr_thread_mutex_lock(w->mutex);
            w->running--;
            apr_thread_mutex_unlock(w->mutex);
        }
    }
    return rv;
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
    rv = writer_pool(p, w);
    if (rv != APR_SUCCESS) {
        *preason = "no memory or thread for the writer";
        return rv;
    }
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
    w->queued_records = c->checkpoint_records;
    w->started = w->last_log = started;
    apr_pool_create(&w->idpool, w->pool);
    w->conns[w->nconns++].conn = job->conn;
    if (job->ctl && job->ctl != job->conn && !w->ctl) {
        w->conns[w->nconns++].conn = job->ctl;
    }
    w->stats.connections = w->nconns;
    /* the batches of both connections number from one stage */
    for (i = w->nconns - 1; i >= 0 && rv == APR_SUCCESS; --i) {
        w->conns[i].w = w;
        w->conns[i].i = i;
        apr_pool_create(&w->conns[i].tx, w->pool);
        rv = bulkio_batch_setup(w->pool, w->conns[i].conn, res,
                                bulkio_writer_mode(job->claim), &w->stage);
        if (rv != APR_SUCCESS) {
            *preason = apr_pstrcat(p, "database error: ",
                                   bulkio_pq_error(p, w->conns[i].conn),
                                   NULL);
            return rv;
        }
    }
    bulkio_batch_error_caps(w->stage, c->max_error_rows, c->max_error_bytes);
    /* a dry run's results are what would happen: kept like its errors */
    bulkio_batch_results(w->stage, job->results, c->dry_run ? w->ctl : NULL);
    if (w->ctl) {
        /* error entries outlive the rollback; one transaction from here,
         * without the resource's lock: held for the whole run, it would
         * keep every other import of the resource waiting (and their
         * leases expiring); only writers of the same rows wait */
        bulkio_batch_errors_to(w->stage, w->ctl);
        rv = exec_all(w->conns[0].conn, begin_sql(p, w, 0));
        w->conns[0].tx_started = apr_time_now();
        if (rv != APR_SUCCESS) {
            *preason = apr_pstrcat(p, "database error: ",
                                   bulkio_pq_error(p, w->conns[0].conn),
                                   NULL);
            return rv;
        }
    }
    /* batches are filled while the database writes the others */
    for (i = 0; i < BATCHES; ++i) {
        w->free[w->nfree++] = bulkio_batch_create(w->pool, w->stage, res);
    }
    w->filling = w->free[--w->nfree];
    rv = start_writer(w);
    if (rv != APR_SUCCESS) {
        *preason = "the writer's threads cannot start";
        return rv;
    }
    *pw = w;
    return APR_SUCCESS;
}

bulkio_batch_t *bulkio_writer_batch(bulkio_writer_t *w)
{
    return w->filling;
}

/* M: queue the batch being filled (records, bytes) for the threads. */
static void enqueue(bulkio_writer_t *w, apr_int64_t records, apr_off_t bytes)
{
    queued_t *q = &w->queue[w->nqueued++];

    q->batch = w->filling;
    q->seq = ++w->seq;
    q->records = records;
    q->bytes = bytes;
    q->meets = 0;
    w->queued_records = records;
    w->filling = NULL;
    apr_thread_cond_broadcast(w->cond);
}

bulkio_run_e bulkio_writer_submit(bulkio_writer_t *w, apr_int64_t records,
                                  apr_off_t bytes)
{
    bulkio_run_e rc = BULKIO_RUN_COMPLETED;

    apr_thread_mutex_lock(w->mutex);
    if (!w->stopping) {
        enqueue(w, records, bytes);
        while (!w->stopping && !w->nfree) {
            apr_thread_cond_wait(w->cond, w->mutex);
        }
    }
    if (w->stopping) {
        rc = w->rc;   /* then bulkio_writer_abort() */
    }
    else {
        w->filling = w->free[--w->nfree];
    }
    apr_thread_mutex_unlock(w->mutex);
    return rc;
}

bulkio_run_e bulkio_writer_finish(bulkio_writer_t *w, int last,
                                  apr_int64_t records, apr_off_t bytes,
                                  const char **preason)
{
    bulkio_run_e rc;

    apr_thread_mutex_lock(w->mutex);
    if (!w->stopping) {
        if (last) {
            /* the checkpoint does not go back */
            enqueue(w, records < w->queued_records ? w->queued_records
                                                   : records, bytes);
            w->has_last = 1;
        }
        w->ending = 1;
        apr_thread_cond_broadcast(w->cond);
        while (w->running) {
            apr_thread_cond_wait(w->cond, w->mutex);
        }
    }
    rc = w->rc;
    apr_thread_mutex_unlock(w->mutex);
    bulkio_writer_abort(w, preason);
    return rc;
}

void bulkio_writer_abort(bulkio_writer_t *w, const char **preason)
{
    int i;

    join_writer(w);
    for (i = 0; i < w->nconns; ++i) {
        /* what is not committed, and transactions opened for batches to
         * come */
        bulkio_pq_rollback(w->conns[i].conn);
        w->conns[i].begun = 0;
    }
    if (w->locked && PQstatus(w->conns[0].conn) == CONNECTION_OK) {
        apr_pool_clear(w->conns[0].tx);
        lock(w, 0);
        w->locked = 0;
    }
    if (w->nconns > 1) {
        bulkio_job_log(w->job, w->pool, BULKIO_LOG_INFO, "Job %s: %"
                       APR_INT64_T_FMT " of %" APR_INT64_T_FMT " batches "
                       "written beside the one before", w->job->claim->job_id,
                       w->beside, w->batches);
    }
    if (preason) {
        *preason = w->reason;
    }
}

const bulkio_writer_stats_t *bulkio_writer_stats(const bulkio_writer_t *w)
{
    return &w->stats;
}
