/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The job worker: a mod_watchdog singleton claims jobs from PostgreSQL
 * and runs each in a thread of its own. PostgreSQL holds the truth (leases,
 * limits, checkpoints); these threads only do the work.
 */

#include <apr_atomic.h>
#include <apr_dbd.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_listen.h>
#include <mod_dbd.h>
#include <mod_watchdog.h>

#include "bulkio_job.h"
#include "bulkio_store.h"
#include "bulkio_url.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_status.h"
#include "mod_bulkio_worker.h"

#define WATCHDOG_NAME   "_bulkio_"
#define MAX_ATTEMPTS    5
#define STOP_PATIENCE   apr_time_from_sec(8)
#define SWEEP_EVERY     apr_time_from_sec(60)

/* One job thread. */
typedef struct {
    apr_thread_t *thread;
    apr_pool_t *pool;           /* own allocator, destroyed by the reaper */
    bulkio_claim_t *claim;
    const char *owner;
    volatile apr_uint32_t done;
} slot_t;

/* This child's worker. */
typedef struct {
    server_rec *s;
    mod_bulkio_cfg_t *cfg;
    const char *server_id;      /* this server among those sharing the DB */
    slot_t *slots;              /* cfg->max_jobs of them */
    apr_thread_mutex_t *mutex;  /* scheduler tick against child exit */
    apr_time_t next_sweep;      /* of expired export files */
    bulkio_fetch_opts_t fetch;  /* URL imports' limits */
    volatile apr_uint32_t stop;
} worker_t;

static worker_t *worker;
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

/* Run one claimed job to an end of this attempt. */
static void *APR_THREAD_FUNC job_thread(apr_thread_t *t, void *data)
{
    slot_t *slot = data;
    server_rec *s = worker->s;
    bulkio_claim_t *c = slot->claim;
    bulkio_job_ctx_t job;
    const char *reason = NULL, *status = NULL;
    int is_export = !strcmp(c->kind, "export");
    ap_dbd_t *dbd, *ctl = NULL;
    bulkio_run_e rc;

    if (!(dbd = dbd_open(slot->pool, s))
        || (is_export && !(ctl = dbd_open(slot->pool, s)))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_EGENERAL, s, BULKIO_LOGNO(31)
                     "job %s: no database connection; it resumes once its "
                     "lease expires", c->job_id);
        goto leave;
    }
    memset(&job, 0, sizeof(job));
    job.conn = native(dbd);
    job.claim = c;
    job.owner = slot->owner;
    job.lease = worker->cfg->lease_time;
    job.batch_size = worker->cfg->batch_size;
    job.max_record = (apr_size_t)worker->cfg->max_record;
    job.spool_dir = worker->cfg->spool_dir;
    job.fetch = &worker->fetch;
    job.ttl = worker->cfg->export_ttl;
    job.ctl = ctl ? native(ctl) : job.conn;
    job.stop = (volatile int *)&worker->stop;
    job.log = log_core;
    job.log_baton = s;
    rc = is_export ? bulkio_export_run(slot->pool, &job, &reason)
                   : bulkio_import_run(slot->pool, &job, &reason);
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
    if (status && bulkio_store_finish(slot->pool, job.ctl, c->id,
                                      slot->owner, status, reason)
                  != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_EGENERAL, s,
                     BULKIO_LOGNO(33) "job %s: cannot record its end (%s); "
                     "its lease will expire", c->job_id,
                     bulkio_pq_error(slot->pool, job.ctl));
    }
leave:
    if (ctl) {
        dbd_close(s, ctl);
    }
    if (dbd) {
        dbd_close(s, dbd);
    }
    apr_atomic_set32(&slot->done, 1);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Join finished job threads; returns how many are still running. */
static int reap(void)
{
    apr_status_t trv;
    int i, running = 0;

    for (i = 0; i < worker->cfg->max_jobs; ++i) {
        slot_t *slot = &worker->slots[i];

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

static apr_status_t start_job(slot_t *slot, int n, const bulkio_claim_t *c)
{
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
    copy->job_id = apr_pstrdup(slot->pool, c->job_id);
    copy->kind = apr_pstrdup(slot->pool, c->kind);
    copy->resource = apr_pstrdup(slot->pool, c->resource);
    copy->format = apr_pstrdup(slot->pool, c->format);
    copy->source_path = apr_pstrdup(slot->pool, c->source_path);
    copy->source_url = apr_pstrdup(slot->pool, c->source_url);
    copy->reason = apr_pstrdup(slot->pool, c->reason);
    copy->params = apr_pstrdup(slot->pool, c->params);
    slot->claim = copy;
    slot->owner = apr_psprintf(slot->pool, "%s/%" APR_PID_T_FMT "/%d",
                               worker->server_id, getpid(), n);
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

/* Remove the files of exports past their TTL (any server may). */
static void sweep_exports(apr_pool_t *p, PGconn *conn)
{
    PGresult *res;
    int i;

    if (bulkio_store_expire_exports(p, conn, &res) != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < PQntuples(res); ++i) {
        apr_file_remove(PQgetvalue(res, i, 0), p);
    }
}

/* Claim jobs while this server has room for them. */
static void schedule(apr_pool_t *p)
{
    server_rec *s = worker->s;
    bulkio_claim_t *c;
    ap_dbd_t *dbd;
    PGconn *conn;
    int i, running = reap();

    if (apr_atomic_read32(&worker->stop)) {
        return;
    }
    if (!(dbd = dbd_open(p, s))) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, APR_EGENERAL, s,
                     BULKIO_LOGNO(34) "scheduler: database unavailable");
        return;
    }
    conn = native(dbd);
    for (i = 0; running < worker->cfg->max_jobs && i < worker->cfg->max_jobs;
         ++i) {
        slot_t *slot = &worker->slots[i];
        const char *owner;

        if (slot->thread) {
            continue;
        }
        owner = apr_psprintf(p, "%s/%" APR_PID_T_FMT "/%d", worker->server_id,
                             getpid(), i);
        if (bulkio_store_claim(p, conn, worker->server_id, owner,
                               worker->cfg->max_jobs, worker->cfg->lease_time,
                               &c) != APR_SUCCESS) {
            break;
        }
        if (c->attempts > MAX_ATTEMPTS) {
            bulkio_store_finish(p, conn, c->id, owner, "failed", apr_psprintf(
                p, "gave up after %d attempts; last error: %s",
                MAX_ATTEMPTS, c->reason ? c->reason : "the worker died"));
            continue;
        }
        if (start_job(slot, i, c) != APR_SUCCESS) {
            bulkio_store_finish(p, conn, c->id, owner, "pending", NULL);
            break;
        }
    }
    if (apr_time_now() >= worker->next_sweep) {
        sweep_exports(p, conn);
        worker->next_sweep = apr_time_now() + SWEEP_EVERY;
    }
    dbd_close(s, dbd);
}

static apr_status_t watchdog_callback(int state, void *data, apr_pool_t *p)
{
    worker_t *w = worker;

    (void)data;
    if (state == AP_WATCHDOG_STATE_RUNNING && w
        && apr_thread_mutex_lock(w->mutex) == APR_SUCCESS) {
        int i, threads = 0;

        schedule(p);
        for (i = 0; i < w->cfg->max_jobs; ++i) {
            threads += w->slots[i].thread != NULL;
        }
        mod_bulkio_status_poll(threads);
        apr_thread_mutex_unlock(w->mutex);
    }
    return APR_SUCCESS;
}

/* At child exit: stop, and wait a bounded time for the job threads to
 * commit or roll back their batch and hand their jobs back. */
static apr_status_t worker_cleanup(void *data)
{
    apr_time_t until = apr_time_now() + STOP_PATIENCE;

    int running;

    (void)data;
    apr_atomic_set32(&worker->stop, 1);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, worker->s, BULKIO_LOGNO(36)
                 "child exit: waiting for job threads");
    for (;;) {
        apr_thread_mutex_lock(worker->mutex);
        running = reap();
        apr_thread_mutex_unlock(worker->mutex);
        if (!running) {
            break;
        }
        if (apr_time_now() > until) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, worker->s,
                         BULKIO_LOGNO(35) "job threads still busy at exit; "
                         "their jobs resume elsewhere once leases expire");
            break;
        }
        apr_sleep(apr_time_from_msec(50));
    }
    return APR_SUCCESS;
}

const char *mod_bulkio_worker_post_config(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback;
    ap_watchdog_t *wd;
    apr_status_t rv;

    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!dbd_open || !dbd_close) {
        return "mod_bulkio needs mod_dbd";
    }
    if (bulkio_fetch_global_init() != APR_SUCCESS) {
        return "cannot initialise libcurl";
    }
    if (!get_instance || !register_callback) {
        return "mod_bulkio needs mod_watchdog for its job worker";
    }
    rv = get_instance(&wd, WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = register_callback(wd, mod_bulkio_cfg_get(s)->poll_interval, s,
                               watchdog_callback);
    }
    return rv == APR_SUCCESS ? NULL : "cannot register the job worker with "
                                      "mod_watchdog";
}

void mod_bulkio_worker_child_init(apr_pool_t *pchild, server_rec *s)
{
    worker = apr_pcalloc(pchild, sizeof(*worker));
    worker->s = s;
    worker->cfg = mod_bulkio_cfg_get(s);
    worker->slots = apr_pcalloc(pchild, sizeof(slot_t)
                                * (apr_size_t)worker->cfg->max_jobs);
    apr_thread_mutex_create(&worker->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    worker->fetch.allow = worker->cfg->url_allow;
    worker->fetch.max_size = worker->cfg->fetch_max_size;
    worker->fetch.connect_timeout = worker->cfg->fetch_connect_timeout;
    worker->fetch.timeout = worker->cfg->fetch_timeout;
    worker->fetch.stall_timeout = worker->cfg->fetch_stall_timeout;
    worker->fetch.max_redirects = 5;
    worker->server_id = apr_psprintf(pchild, "%s:%u", s->server_hostname,
                                     ap_listeners ? ap_listeners->bind_addr->port
                                                  : 0);
    /* a pre-cleanup: the threads must be gone before mod_dbd's connection
     * pool (a subpool of pchild) is destroyed */
    apr_pool_pre_cleanup_register(pchild, NULL, worker_cleanup);
}

void mod_bulkio_worker_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    (void)graceful;
    if (worker) {
        apr_atomic_set32(&worker->stop, 1);
    }
}

const char *mod_bulkio_worker_server_id(void)
{
    return worker ? worker->server_id : NULL;
}
