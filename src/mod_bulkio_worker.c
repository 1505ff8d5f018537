/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The job worker: a mod_watchdog singleton claims jobs from PostgreSQL
 * and runs each in a thread of its own. PostgreSQL holds the truth (leases,
 * limits, checkpoints); these threads only do the work.
 *
 * The watchdog callback ticks every TICK but polls the database only when
 * woken (mod_bulkio_status_wake(): a request of this server committed a
 * job, or a job thread here freed its slot) or once BulkIOPollInterval has
 * passed since its last poll (jobs of other servers, expired leases, jobs
 * handed back for another attempt, housekeeping). A tick that does not
 * poll reads one shared counter and the clock, nothing else.
 */

#include <apr_atomic.h>
#include <apr_dbd.h>
#include <apr_file_info.h>
#include <apr_hash.h>
#include <apr_network_io.h>
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
#include "bulkio_pq.h"
#include "bulkio_store_house.h"
#include "bulkio_store_lease.h"
#include "bulkio_url.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_status.h"
#include "mod_bulkio_worker.h"

#define WATCHDOG_NAME   "_bulkio_"
#define TICK            apr_time_from_msec(100) /* mod_watchdog's slice */
#define MAX_ATTEMPTS    5
#define STOP_PATIENCE   apr_time_from_sec(8)
#define SWEEP_EVERY     apr_time_from_sec(60)
#define SWEEP_BUDGET    apr_time_from_sec(2)   /* per tick; the rest later */
#define PURGE_BATCH     5000                   /* rows per DELETE */
#define SPOOL_BATCH     500                    /* files per lookup */
#define ORPHAN_GRACE    apr_time_from_sec(3600)
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

/* This child's worker. */
typedef struct {
    server_rec *s;
    mod_bulkio_cfg_t *cfg;
    const char *server_id;      /* this server among those sharing the DB */
    const char *nonce;          /* this child, in lease owners */
    slot_t *slots;              /* cfg->max_jobs of them */
    apr_thread_mutex_t *mutex;  /* scheduler tick against child exit */
    apr_time_t next_sweep;      /* of expired exports, retention, orphans */
    bulkio_fetch_opts_t fetch;  /* URL imports' limits */
    apr_time_t db_retry_at;     /* the database was unavailable: not before */
    apr_interval_time_t db_backoff;
    apr_time_t last_poll;       /* the scheduler's, 0 before the first */
    apr_uint32_t wakes;         /* mod_bulkio_status_wakes() it last saw */
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

/* Sleep for d in short steps; non-zero when the server stops meanwhile. */
static int pause_for(apr_interval_time_t d)
{
    apr_time_t until = apr_time_now() + d;

    while (!apr_atomic_read32(&worker->stop) && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(100));
    }
    return apr_atomic_read32(&worker->stop) != 0;
}

/* A connection from mod_dbd that really is connected: an idle one the
 * database closed (restart) is reconnected, a dead one given back. */
static ap_dbd_t *open_conn(apr_pool_t *p)
{
    ap_dbd_t *dbd = dbd_open(p, worker->s);

    if (dbd && !bulkio_pq_revive(native(dbd))) {
        dbd_close(worker->s, dbd);
        dbd = NULL;
    }
    return dbd;
}

static void close_conn(ap_dbd_t **pdbd)
{
    if (*pdbd) {
        dbd_close(worker->s, *pdbd);
        *pdbd = NULL;
    }
}

/* Is path a file of ours in the spool directory (never anything else)? */
static int in_spool(const char *path)
{
    const char *dir = worker->cfg->spool_dir;
    apr_size_t n = strlen(dir);

    return path && !strncmp(path, dir, n) && path[n] == '/'
           && !strchr(path + n + 1, '/') && path[n + 1] != '.';
}

/* Run one claimed job once, on connections of its own. */
static bulkio_run_e run_once(slot_t *slot, apr_pool_t *p, ap_dbd_t **pdbd,
                             ap_dbd_t **pctl, const char **preason)
{
    bulkio_claim_t *c = slot->claim;
    int is_export = !strcmp(c->kind, "export");
    bulkio_job_ctx_t job;

    *preason = NULL;
    if (!(*pdbd = open_conn(p))
        || ((is_export || worker->cfg->import_conns > 1)
            && !(*pctl = open_conn(p)))) {
        *preason = "no database connection";
        return BULKIO_RUN_RETRY;
    }
    memset(&job, 0, sizeof(job));
    job.conn = native(*pdbd);
    job.claim = c;
    job.owner = slot->owner;
    job.lease = worker->cfg->lease_time;
    job.batch_size = worker->cfg->batch_size;
    job.max_record = (apr_size_t)worker->cfg->max_record;
    job.max_inflated = worker->cfg->max_inflated;
    job.spool_dir = worker->cfg->spool_dir;
    job.fetch = &worker->fetch;
    job.ttl = worker->cfg->export_ttl;
    job.ctl = *pctl ? native(*pctl) : job.conn;
    job.stop = (volatile int *)&worker->stop;
    job.log = log_core;
    job.log_baton = worker->s;
    return is_export ? bulkio_export_run(p, &job, preason)
                     : bulkio_import_run(p, &job, preason);
}

/* The database went away under a running job (its batch in flight rolled
 * back): wait for it with bounded backoff, then take the job up again
 * after its last committed batch if this worker still holds it. */
static bulkio_run_e await_database(slot_t *slot, const char **preason)
{
    server_rec *s = worker->s;
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
        backoff = backoff * 2 > DB_BACKOFF_MAX ? DB_BACKOFF_MAX : backoff * 2;
        if (!(dbd = open_conn(slot->pool))) {
            continue;
        }
        rv = bulkio_store_resume(slot->pool, native(dbd), c, slot->owner,
                                 worker->cfg->lease_time);
        dbd_close(s, dbd);
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

/* An import that ended for good needs its spool file no more. */
static void drop_import_file(apr_pool_t *p, const bulkio_claim_t *c)
{
    const char *file;
    apr_status_t rv;

    if (!strcmp(c->kind, "import")) {
        file = apr_pstrcat(p, worker->cfg->spool_dir, "/import-", c->job_id,
                           NULL);
        rv = apr_file_remove(file, p);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, worker->s,
                         BULKIO_LOGNO(44) "cannot remove %s", file);
        }
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, worker->s,
                     BULKIO_LOGNO(45) "job %s ended: removed its file %s",
                     c->job_id, file);
        apr_file_remove(apr_pstrcat(p, file, ".part", NULL), p);
    }
}

/* Record the end of this attempt; a finished import's file goes. */
static void record_end(slot_t *slot, bulkio_run_e rc, const char *reason)
{
    server_rec *s = worker->s;
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
    if (!(dbd = open_conn(slot->pool))) {
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
        dbd_close(s, dbd);
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
        drop_import_file(slot->pool, c);
    }
}

/* Run one claimed job to an end of this attempt. A database outage does
 * not end it: the thread waits for the database and goes on. */
static void *APR_THREAD_FUNC job_thread(apr_thread_t *t, void *data)
{
    slot_t *slot = data;
    ap_dbd_t *dbd = NULL, *ctl = NULL;
    const char *reason = NULL;
    apr_pool_t *run;
    bulkio_run_e rc;
    int outage;

    for (;;) {
        apr_pool_create(&run, slot->pool);
        rc = run_once(slot, run, &dbd, &ctl, &reason);
        outage = rc == BULKIO_RUN_RETRY
                 && (!dbd || bulkio_pq_broken(native(dbd))
                     || (ctl && bulkio_pq_broken(native(ctl))));
        if (reason) {
            reason = apr_pstrdup(slot->pool, reason);
        }
        close_conn(&ctl);
        close_conn(&dbd);
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
        mod_bulkio_status_wake();
    }
    /* a plain return, not apr_thread_exit(): pthread_exit() unwinds past
     * the frames without leaving them, which AddressSanitizer then takes
     * for a use of their stack after scope when the thread ends */
    (void)t;
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

static apr_status_t start_job(slot_t *slot, const char *owner,
                              const bulkio_claim_t *c)
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

/* Remove a file the database named, when it is one of the spool's. */
static void remove_spool_file(apr_pool_t *p, const char *path)
{
    if (in_spool(path)) {
        apr_file_remove(path, p);
    }
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
        remove_spool_file(p, PQgetvalue(res, i, 0));
    }
}

/* Purge finished jobs past BulkIOJobRetention (error rows first, in
 * batches of short transactions, then the jobs and their files) and
 * Idempotency-Keys past their TTL. Returns non-zero when the time budget
 * ran out before the work did. */
static int purge(apr_pool_t *p, PGconn *conn, apr_time_t until)
{
    server_rec *s = worker->s;
    apr_interval_time_t keep = worker->cfg->job_retention;
    apr_int64_t errors = 0, jobs = 0, keys = 0;
    apr_pool_t *tmp;
    PGresult *res;
    int n, i, more = 1;

    apr_pool_create(&tmp, p);
    do {
        apr_pool_clear(tmp);
        if (bulkio_store_purge_errors(tmp, conn, keep, PURGE_BATCH, &n)
            != APR_SUCCESS) {
            goto failed;
        }
        errors += n;
    } while (n == PURGE_BATCH && apr_time_now() < until);
    if (n == PURGE_BATCH) {
        goto leave;
    }
    do {
        apr_pool_clear(tmp);
        if (bulkio_store_purge_jobs(tmp, conn, keep, PURGE_BATCH / 10, &res)
            != APR_SUCCESS) {
            goto failed;
        }
        n = PQntuples(res);
        for (i = 0; i < n; ++i) {
            if (!PQgetisnull(res, i, 1)) {
                remove_spool_file(tmp, PQgetvalue(res, i, 1));
            }
            /* a file of an attempt that never recorded it */
            remove_spool_file(tmp, apr_pstrcat(tmp, worker->cfg->spool_dir,
                              "/import-", PQgetvalue(res, i, 0), NULL));
        }
        jobs += n;
    } while (n == PURGE_BATCH / 10 && apr_time_now() < until);
    if (n == PURGE_BATCH / 10) {
        goto leave;
    }
    do {
        apr_pool_clear(tmp);
        if (bulkio_store_purge_idem(tmp, conn, ORPHAN_GRACE, PURGE_BATCH, &n)
            != APR_SUCCESS) {
            goto failed;
        }
        keys += n;
    } while (n == PURGE_BATCH && apr_time_now() < until);
    more = n == PURGE_BATCH;
    goto leave;
failed:
    ap_log_error(APLOG_MARK, APLOG_WARNING, APR_EGENERAL, s, BULKIO_LOGNO(40)
                 "retention sweep: %s", bulkio_pq_error(tmp, conn));
    more = 0;
leave:
    if (errors || jobs || keys) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, BULKIO_LOGNO(41)
                     "retention: purged %" APR_INT64_T_FMT " jobs, %"
                     APR_INT64_T_FMT " error rows, %" APR_INT64_T_FMT
                     " idempotency keys", jobs, errors, keys);
    }
    apr_pool_destroy(tmp);
    return more;
}

/* The job id in a spool file's name (import-<uuid>[.part],
 * export-<uuid>.<ext>), or NULL when the name is none of ours. */
static const char *spool_job_id(apr_pool_t *p, const char *name)
{
    const char *id;

    if (!strncmp(name, "import-", 7)) {
        id = name + 7;
    }
    else if (!strncmp(name, "export-", 7)) {
        id = name + 7;
    }
    else {
        return NULL;
    }
    if (strlen(id) < 36 || (id[36] && id[36] != '.')) {
        return NULL;
    }
    id = apr_pstrndup(p, id, 36);
    return strspn(id, "0123456789abcdef-") == 36 ? id : NULL;
}

/* Remove those of the candidate files (names in the spool, with their job
 * ids) that no job wants: a file is wanted while its job is pending or
 * running, and an export's file while its job names it. */
static void remove_orphans(apr_pool_t *p, PGconn *conn,
                           apr_array_header_t *names,
                           apr_array_header_t *ids)
{
    apr_hash_t *live = apr_hash_make(p), *named = apr_hash_make(p);
    const char *ids_lit, *name, *id;
    PGresult *res;
    int i;

    if (!names->nelts) {
        return;
    }
    /* the ids are checked uuids: no quoting needed in the literal */
    ids_lit = apr_pstrcat(p, "{", apr_array_pstrcat(p, ids, ','), "}", NULL);
    if (bulkio_store_spool_refs(p, conn, ids_lit, &res) != APR_SUCCESS) {
        goto leave;
    }
    for (i = 0; i < PQntuples(res); ++i) {
        if (PQgetvalue(res, i, 1)[0] == 't') {
            apr_hash_set(live, apr_pstrdup(p, PQgetvalue(res, i, 0)),
                         APR_HASH_KEY_STRING, "");
        }
        apr_hash_set(named, apr_pstrdup(p, PQgetvalue(res, i, 2)),
                     APR_HASH_KEY_STRING, "");
    }
    for (i = 0; i < names->nelts; ++i) {
        name = APR_ARRAY_IDX(names, i, const char *);
        id = APR_ARRAY_IDX(ids, i, const char *);
        if (!apr_hash_get(live, id, APR_HASH_KEY_STRING)
            && !apr_hash_get(named, name, APR_HASH_KEY_STRING)) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, worker->s,
                         BULKIO_LOGNO(42) "removing orphaned spool file %s",
                         name);
            apr_file_remove(apr_pstrcat(p, worker->cfg->spool_dir, "/", name,
                                        NULL), p);
        }
    }
leave:
    apr_array_clear(names);
    apr_array_clear(ids);
}

/* Remove spool files no job wants, once they are older than a grace
 * period (an upload being received is written to all the time, and its
 * file becomes a job's within moments of its last byte). */
static void sweep_spool(apr_pool_t *p, PGconn *conn)
{
    const char *dir = worker->cfg->spool_dir;
    apr_time_t old = apr_time_now() - ORPHAN_GRACE;
    apr_array_header_t *names, *ids;
    apr_pool_t *tmp, *batch;
    apr_finfo_t fi;
    apr_dir_t *d;
    const char *id, *path;

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return;
    }
    apr_pool_create(&tmp, p);
    apr_pool_create(&batch, tmp);
    names = apr_array_make(tmp, SPOOL_BATCH, sizeof(const char *));
    ids = apr_array_make(tmp, SPOOL_BATCH, sizeof(const char *));
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE
                        | APR_FINFO_MTIME, d) == APR_SUCCESS) {
        if (fi.filetype != APR_REG || fi.mtime >= old) {
            continue;
        }
        if (!strncmp(fi.name, "upload-", 7)) {
            /* an upload that never became a job */
            path = apr_pstrcat(batch, dir, "/", fi.name, NULL);
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, worker->s,
                         BULKIO_LOGNO(43) "removing abandoned upload %s",
                         path);
            apr_file_remove(path, batch);
            continue;
        }
        if (!(id = spool_job_id(batch, fi.name))) {
            continue;   /* not ours */
        }
        APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(batch, fi.name);
        APR_ARRAY_PUSH(ids, const char *) = id;
        if (names->nelts == SPOOL_BATCH) {
            remove_orphans(batch, conn, names, ids);
            apr_pool_clear(batch);
        }
    }
    remove_orphans(batch, conn, names, ids);
    apr_dir_close(d);
    apr_pool_destroy(tmp);
}

/* The housekeeping every SWEEP_EVERY (any server may do it). */
static void sweep(apr_pool_t *p, PGconn *conn)
{
    apr_time_t now = apr_time_now();
    int more;

    sweep_exports(p, conn);
    more = purge(p, conn, now + SWEEP_BUDGET);
    sweep_spool(p, conn);
    worker->next_sweep = apr_time_now() + (more ? worker->cfg->poll_interval
                                                : SWEEP_EVERY);
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
    if (apr_time_now() < worker->db_retry_at) {
        return;
    }
    if (!(dbd = open_conn(p))) {
        /* try again with backoff (mod_dbd logs every failed attempt) */
        worker->db_backoff = worker->db_backoff
            ? (worker->db_backoff * 2 > DB_BACKOFF_MAX ? DB_BACKOFF_MAX
                                                       : worker->db_backoff * 2)
            : worker->cfg->poll_interval;
        worker->db_retry_at = apr_time_now() + worker->db_backoff;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, APR_EGENERAL, s,
                     BULKIO_LOGNO(34) "scheduler: database unavailable");
        return;
    }
    worker->db_backoff = 0;
    conn = native(dbd);
    for (i = 0; running < worker->cfg->max_jobs && i < worker->cfg->max_jobs;
         ++i) {
        slot_t *slot = &worker->slots[i];
        const char *owner;

        if (slot->thread) {
            continue;
        }
        owner = apr_psprintf(p, "%s/%s/%" APR_PID_T_FMT "/%d",
                             worker->server_id, worker->nonce, getpid(), i);
        if (bulkio_store_claim(p, conn, worker->server_id, owner,
                               worker->cfg->max_jobs, worker->cfg->lease_time,
                               &c) != APR_SUCCESS) {
            break;
        }
        if (c->attempts > MAX_ATTEMPTS) {
            if (bulkio_store_finish(p, conn, c->id, owner, "failed",
                    apr_psprintf(p, "gave up after %d attempts; last error: "
                                 "%s", MAX_ATTEMPTS, c->reason ? c->reason
                                 : "the worker died")) == APR_SUCCESS) {
                drop_import_file(p, c);
            }
            continue;
        }
        if (start_job(slot, owner, c) != APR_SUCCESS) {
            bulkio_store_finish(p, conn, c->id, owner, "pending", NULL);
            break;
        }
        ++running;
    }
    if (apr_time_now() >= worker->next_sweep && !bulkio_pq_broken(conn)) {
        sweep(p, conn);
    }
    dbd_close(s, dbd);
}

/* Every TICK: poll when woken or when BulkIOPollInterval has passed
 * (less half a tick, so that the polls keep to the interval although the
 * ticks come a little later than TICK each). */
static apr_status_t watchdog_callback(int state, void *data, apr_pool_t *p)
{
    worker_t *w = worker;
    apr_uint32_t wakes;
    apr_time_t now;

    (void)data;
    if (state != AP_WATCHDOG_STATE_RUNNING || !w) {
        return APR_SUCCESS;
    }
    wakes = mod_bulkio_status_wakes();
    now = apr_time_now();
    if (w->last_poll && wakes == w->wakes
        && now - w->last_poll < w->cfg->poll_interval - TICK / 2) {
        return APR_SUCCESS;
    }
    if (apr_thread_mutex_lock(w->mutex) == APR_SUCCESS) {
        int i, threads = 0;

        /* a wake-up during this poll makes the next tick poll again */
        w->wakes = wakes;
        w->last_poll = now;
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
        apr_interval_time_t poll = mod_bulkio_cfg_get(s)->poll_interval;

        rv = register_callback(wd, poll < TICK ? poll : TICK, s,
                               watchdog_callback);
    }
    return rv == APR_SUCCESS ? NULL : "cannot register the job worker with "
                                      "mod_watchdog";
}

void mod_bulkio_worker_child_init(apr_pool_t *pchild, server_rec *s)
{
    char host[APRMAXHOSTLEN + 1];
    unsigned char rnd[4];

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
    /* the host, ServerName and port (ServerName's, else the first
     * listener's) tell servers apart (several on one host differ in their
     * port; containers in their host names); the
     * nonce tells this child from any other with the same pid */
    if (apr_gethostname(host, sizeof(host), pchild) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    worker->server_id = apr_psprintf(pchild, "%s/%s:%u", host,
                                     s->server_hostname,
                                     s->port ? s->port
                                     : ap_listeners ? ap_listeners->bind_addr->port
                                     : 0);
    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        apr_time_t now = apr_time_now();

        memcpy(rnd, &now, sizeof(rnd));
    }
    worker->nonce = apr_psprintf(pchild, "%02x%02x%02x%02x", rnd[0], rnd[1],
                                 rnd[2], rnd[3]);
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
