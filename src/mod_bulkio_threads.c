/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The worker's job threads. The scheduler claims a job and starts it here
 * in a free slot; the thread runs it on database connections of its own
 * until this attempt ends (completed, failed, canceled, lost, handed back),
 * records that end, and frees the slot. A database outage does not end an
 * attempt: the thread waits for the database with bounded backoff and
 * resumes after the last committed batch. PostgreSQL holds the truth
 * (leases, limits, checkpoints); these threads only do the work.
 *
 * At child_stopping a cancel flag makes running jobs hand back at their
 * next batch boundary; at child exit the threads are joined with bounded
 * patience (what is left resumes elsewhere once its lease expires).
 */

#include <apr_atomic.h>
#include <apr_dbd.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_log.h>
#include <mod_dbd.h>

#include "bulkio_job.h"
#include "bulkio_pq.h"
#include "bulkio_store_lease.h"
#include "bulkio_store_replica.h"
#include "bulkio_url.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_housekeeping.h"
#include "mod_bulkio_signal.h"
#include "mod_bulkio_threads.h"

#define STOP_PATIENCE   apr_time_from_sec(8)
#define DB_RETRY_FOR    apr_time_from_sec(120) /* a job waits this long for
                                                  the database to return */
#define DB_BACKOFF_MIN  apr_time_from_msec(500)
#define DB_BACKOFF_MAX  apr_time_from_sec(8)

/* One job thread. */
typedef struct {
    apr_thread_t *thread;
    apr_pool_t *pool;           /* own allocator, destroyed by the reaper */
    bulkio_claim_t *claim;
    const char *owner;
    volatile apr_uint32_t done;
} slot_t;

/* This child's job threads. */
typedef struct {
    server_rec *s;
    mod_bulkio_cfg_t *cfg;
    slot_t *slots;              /* cfg->max_jobs of them */
    apr_thread_mutex_t *mutex;  /* scheduler tick against child exit */
    bulkio_fetch_opts_t fetch;  /* URL imports' limits */
    volatile apr_uint32_t stop; /* the cancel flag */
} host_t;

static host_t *host;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

static void log_core(void *baton, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, (server_rec *)baton, BULKIO_LOGNO(30)
                 "%s", msg);
}

static PGconn *native(ap_dbd_t *dbd)
{
    return apr_dbd_native_handle(dbd->driver, dbd->handle);
}

ap_dbd_t *mod_bulkio_threads_conn_open(apr_pool_t *p)
{
    ap_dbd_t *dbd = dbd_open(p, host->s);

    if (dbd && !bulkio_pq_revive(native(dbd))) {
        dbd_close(host->s, dbd);
        dbd = NULL;
    }
    return dbd;
}

void mod_bulkio_threads_conn_close(ap_dbd_t *dbd)
{
    if (dbd) {
        dbd_close(host->s, dbd);
    }
}

apr_interval_time_t mod_bulkio_threads_backoff(apr_interval_time_t d)
{
    return d * 2 > DB_BACKOFF_MAX ? DB_BACKOFF_MAX : d * 2;
}

/* Sleep for d in short steps; non-zero when the server stops meanwhile. */
static int pause_for(apr_interval_time_t d)
{
    apr_time_t until = apr_time_now() + d;

    while (!apr_atomic_read32(&host->stop) && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(100));
    }
    return apr_atomic_read32(&host->stop) != 0;
}

/* An export job reads from the replica (BulkIOExportReplica) once it has
 * replayed the last finished import of the job's principal; else from
 * the primary. Its file is written beside the job's row, on the
 * primary. */
static void read_replica(apr_pool_t *p, bulkio_job_ctx_t *job)
{
    mod_bulkio_cfg_t *cfg = host->cfg;
    const bulkio_claim_t *c = job->claim;
    PGconn *replica;
    const char *why;
    apr_status_t rv;

    rv = bulkio_store_replica_ready(p, job->ctl, cfg->replica, NULL, c->id,
                                    cfg->replica_wait, &replica, &why);
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, host->s, BULKIO_LOGNO(2002)
                     "job %s reads from the replica", c->job_id);
        job->conn = replica;
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, rv, host->s, BULKIO_LOGNO(2003)
                 "job %s reads from the primary: the replica is %s",
                 c->job_id, why);
}

/* Run one claimed job once, on connections of its own. */
static bulkio_run_e run_once(slot_t *slot, apr_pool_t *p, ap_dbd_t **pdbd,
                             ap_dbd_t **pctl, ap_dbd_t **paux,
                             const char **preason)
{
    mod_bulkio_cfg_t *cfg = host->cfg;
    bulkio_claim_t *c = slot->claim;
    int is_export = !strcmp(c->kind, "export");
    bulkio_job_ctx_t job;

    *preason = NULL;
    if (!(*pdbd = mod_bulkio_threads_conn_open(p))
        || ((is_export || cfg->import_conns > 1 || c->dry_run || c->atomic)
            && !(*pctl = mod_bulkio_threads_conn_open(p)))) {
        *preason = "no database connection";
        return BULKIO_RUN_RETRY;
    }
    memset(&job, 0, sizeof(job));
    job.conn = native(*pdbd);
    job.claim = c;
    job.owner = slot->owner;
    job.lease = cfg->lease_time;
    job.batch_size = cfg->batch_size;
    job.max_record = (apr_size_t)cfg->max_record;
    job.max_inflated = cfg->max_inflated;
    job.results = mod_bulkio_cfg_results(cfg, c->results);
    job.spool_dir = cfg->spool_dir;
    job.spool = &cfg->spool;
    job.fetch = &host->fetch;
    job.ttl = cfg->export_ttl;
    job.ctl = *pctl ? native(*pctl) : job.conn;
    if (c->dry_run && !is_export && cfg->import_conns > 1) {
        /* without it, the dry run writes through one */
        *paux = mod_bulkio_threads_conn_open(p);
        job.aux = *paux ? native(*paux) : NULL;
    }
    job.stop = (volatile int *)&host->stop;
    job.log = log_core;
    job.log_baton = host->s;
    if (is_export && cfg->replica) {
        read_replica(p, &job);
    }
    return is_export ? bulkio_export_run(p, &job, preason)
                     : bulkio_import_run(p, &job, preason);
}

/* The database went away under a running job (its batch in flight rolled
 * back): wait for it with bounded backoff, then take the job up again
 * after its last committed batch if this worker still holds it. */
static bulkio_run_e await_database(slot_t *slot, const char **preason)
{
    server_rec *s = host->s;
    bulkio_claim_t *c = slot->claim;
    apr_time_t give_up = apr_time_now() + DB_RETRY_FOR;
    apr_interval_time_t backoff = DB_BACKOFF_MIN;
    ap_dbd_t *dbd;
    apr_status_t rv;

    ap_log_error(APLOG_MARK, APLOG_WARNING, APR_EGENERAL, s, BULKIO_LOGNO(37)
                 "job %s: lost the database (%s); its last batch is rolled "
                 "back, waiting for the database to return", c->job_id,
                 *preason ? *preason : "no connection");
    while (apr_time_now() < give_up) {
        if (pause_for(backoff)) {
            return BULKIO_RUN_STOPPED;
        }
        backoff = mod_bulkio_threads_backoff(backoff);
        if (!(dbd = mod_bulkio_threads_conn_open(slot->pool))) {
            continue;
        }
        rv = bulkio_store_resume(slot->pool, native(dbd), c, slot->owner,
                                 host->cfg->lease_time);
        mod_bulkio_threads_conn_close(dbd);
        if (rv == APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, BULKIO_LOGNO(38)
                         "job %s: the database is back; resuming after "
                         "record %" APR_INT64_T_FMT, c->job_id,
                         c->checkpoint_records);
            return BULKIO_RUN_COMPLETED;
        }
        if (APR_STATUS_IS_NOTFOUND(rv)) {
            *preason = "another worker took the job over meanwhile";
            return BULKIO_RUN_LOST;
        }
    }
    *preason = "the database did not come back in time";
    return BULKIO_RUN_RETRY;
}

/* Record the end of this attempt; a finished import's file goes. */
static void record_end(slot_t *slot, bulkio_run_e rc, const char *reason)
{
    server_rec *s = host->s;
    bulkio_claim_t *c = slot->claim;
    const char *status = NULL;
    ap_dbd_t *dbd;
    apr_status_t rv;

    switch (rc) {
    case BULKIO_RUN_COMPLETED: status = "completed"; break;
    case BULKIO_RUN_CANCELED:  status = "canceled"; break;
    case BULKIO_RUN_FAILED:    status = "failed"; break;
    case BULKIO_RUN_STOPPED:   /* fall through */
    case BULKIO_RUN_RETRY:     status = "pending"; break;
    case BULKIO_RUN_LOST:      break;
    }
    if (reason) {
        ap_log_error(APLOG_MARK, rc == BULKIO_RUN_FAILED ? APLOG_ERR
                     : APLOG_WARNING, APR_EGENERAL, s, BULKIO_LOGNO(32)
                     "job %s: %s", c->job_id, reason);
    }
    if (!status) {
        return;
    }
    if (!(dbd = mod_bulkio_threads_conn_open(slot->pool))) {
        rv = APR_EGENERAL;
    }
    else {
        rv = bulkio_store_finish(slot->pool, native(dbd), c->id, slot->owner,
                                 status, reason);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv)) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s, BULKIO_LOGNO(39)
                         "job %s: %s", c->job_id,
                         bulkio_pq_error(slot->pool, native(dbd)));
        }
        mod_bulkio_threads_conn_close(dbd);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, BULKIO_LOGNO(33)
                     "job %s: cannot record its end; %s", c->job_id,
                     APR_STATUS_IS_NOTFOUND(rv) ? "another worker holds it"
                     : "its lease will expire and it runs again");
        return;
    }
    /* an import that ended for good needs its file no more (the spool
     * must not grow with every import) */
    if (strcmp(status, "pending")) {
        mod_bulkio_housekeeping_drop_import(slot->pool, s, c);
    }
}

/* Run one claimed job to an end of this attempt. A database outage does
 * not end it: the thread waits for the database and goes on. */
static void *APR_THREAD_FUNC job_thread(apr_thread_t *t, void *data)
{
    slot_t *slot = data;
    ap_dbd_t *dbd = NULL, *ctl = NULL, *aux = NULL;
    const char *reason = NULL;
    apr_pool_t *run;
    bulkio_run_e rc;
    int outage;

    for (;;) {
        apr_pool_create(&run, slot->pool);
        rc = run_once(slot, run, &dbd, &ctl, &aux, &reason);
        outage = rc == BULKIO_RUN_RETRY
                 && (!dbd || bulkio_pq_broken(native(dbd))
                     || (ctl && bulkio_pq_broken(native(ctl)))
                     || (aux && bulkio_pq_broken(native(aux))));
        if (reason) {
            reason = apr_pstrdup(slot->pool, reason);
        }
        mod_bulkio_threads_conn_close(aux);
        mod_bulkio_threads_conn_close(ctl);
        mod_bulkio_threads_conn_close(dbd);
        aux = ctl = dbd = NULL;
        apr_pool_destroy(run);
        if (!outage || (rc = await_database(slot, &reason))
                       != BULKIO_RUN_COMPLETED) {
            break;
        }
    }
    record_end(slot, rc, reason);
    apr_atomic_set32(&slot->done, 1);
    /* the slot is free: a job queued behind BulkIOMaxJobs starts at the
     * scheduler's next tick (a job handed back for another attempt waits
     * for the next poll, as a pause between its attempts) */
    if (rc != BULKIO_RUN_RETRY && rc != BULKIO_RUN_STOPPED) {
        mod_bulkio_signal_wake();
    }
    /* a plain return, not apr_thread_exit(): pthread_exit() unwinds past
     * the frames without leaving them, which AddressSanitizer then takes
     * for a use of their stack after scope when the thread ends */
    (void)t;
    return NULL;
}

int mod_bulkio_threads_reap(void)
{
    apr_status_t trv;
    int i, running = 0;

    for (i = 0; i < host->cfg->max_jobs; ++i) {
        slot_t *slot = &host->slots[i];

        if (!slot->thread) {
            continue;
        }
        if (!apr_atomic_read32(&slot->done)) {
            ++running;
            continue;
        }
        apr_thread_join(&trv, slot->thread);
        apr_pool_destroy(slot->pool);
        slot->thread = NULL;
    }
    return running;
}

int mod_bulkio_threads_busy(int i)
{
    return host->slots[i].thread != NULL;
}

apr_status_t mod_bulkio_threads_start(int i, const char *owner,
                                      const bulkio_claim_t *c)
{
    slot_t *slot = &host->slots[i];
    apr_allocator_t *alloc;
    apr_threadattr_t *attr;
    bulkio_claim_t *copy;
    apr_status_t rv;

    if ((rv = apr_allocator_create(&alloc)) != APR_SUCCESS) {
        return rv;
    }
    apr_allocator_max_free_set(alloc, 4 * 1024 * 1024);
    apr_pool_create_ex(&slot->pool, NULL, NULL, alloc);
    apr_allocator_owner_set(alloc, slot->pool);
    copy = apr_pmemdup(slot->pool, c, sizeof(*c));
    bulkio_store_claim_keep(slot->pool, copy);
    slot->claim = copy;
    slot->owner = apr_pstrdup(slot->pool, owner);
    apr_atomic_set32(&slot->done, 0);
    apr_threadattr_create(&attr, slot->pool);
    apr_threadattr_stacksize_set(attr, 1024 * 1024);
    rv = apr_thread_create(&slot->thread, attr, job_thread, slot, slot->pool);
    if (rv != APR_SUCCESS) {
        slot->thread = NULL;
        apr_pool_destroy(slot->pool);
    }
    return rv;
}

apr_status_t mod_bulkio_threads_lock(void)
{
    return apr_thread_mutex_lock(host->mutex);
}

void mod_bulkio_threads_unlock(void)
{
    apr_thread_mutex_unlock(host->mutex);
}

int mod_bulkio_threads_stopping(void)
{
    return apr_atomic_read32(&host->stop) != 0;
}

/* At child exit: stop, and wait a bounded time for the job threads to
 * commit or roll back their batch and hand their jobs back. */
static apr_status_t threads_cleanup(void *data)
{
    apr_time_t until = apr_time_now() + STOP_PATIENCE;
    int running;

    (void)data;
    apr_atomic_set32(&host->stop, 1);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, host->s, BULKIO_LOGNO(36)
                 "child exit: waiting for job threads");
    for (;;) {
        mod_bulkio_threads_lock();
        running = mod_bulkio_threads_reap();
        mod_bulkio_threads_unlock();
        if (!running) {
            break;
        }
        if (apr_time_now() > until) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, host->s,
                         BULKIO_LOGNO(35) "job threads still busy at exit; "
                         "their jobs resume elsewhere once leases expire");
            break;
        }
        apr_sleep(apr_time_from_msec(50));
    }
    return APR_SUCCESS;
}

const char *mod_bulkio_threads_post_config(void)
{
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_open || !dbd_close) {
        return "mod_bulkio needs mod_dbd";
    }
    if (bulkio_fetch_global_init() != APR_SUCCESS) {
        return "cannot initialise libcurl";
    }
    return NULL;
}

void mod_bulkio_threads_child_init(apr_pool_t *pchild, server_rec *s)
{
    host = apr_pcalloc(pchild, sizeof(*host));
    host->s = s;
    host->cfg = mod_bulkio_cfg_get(s);
    host->slots = apr_pcalloc(pchild, sizeof(slot_t)
                              * (apr_size_t)host->cfg->max_jobs);
    apr_thread_mutex_create(&host->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    host->fetch.allow = host->cfg->url_allow;
    host->fetch.ports = host->cfg->url_ports;
    host->fetch.max_size = host->cfg->fetch_max_size;
    host->fetch.connect_timeout = host->cfg->fetch_connect_timeout;
    host->fetch.timeout = host->cfg->fetch_timeout;
    host->fetch.stall_timeout = host->cfg->fetch_stall_timeout;
    host->fetch.max_redirects = 5;
    /* a pre-cleanup: the threads must be gone before mod_dbd's connection
     * pool (a subpool of pchild) is destroyed */
    apr_pool_pre_cleanup_register(pchild, NULL, threads_cleanup);
}

void mod_bulkio_threads_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    (void)graceful;
    if (host) {
        apr_atomic_set32(&host->stop, 1);
    }
}
