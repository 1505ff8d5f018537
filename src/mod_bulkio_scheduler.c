/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The worker's scheduler: a mod_watchdog singleton (one per server) that
 * claims jobs from PostgreSQL and hands each to a job thread
 * (mod_bulkio_threads.c). PostgreSQL holds the truth (leases, limits,
 * checkpoints, attempts); the scheduler only fills free slots.
 *
 * The watchdog callback ticks every TICK but polls the database only when
 * woken (mod_bulkio_signal_wake(): a request of this server committed a
 * job, or a job thread here freed its slot) or once BulkIOPollInterval has
 * passed since its last poll (jobs of other servers, expired leases, jobs
 * handed back for another attempt, housekeeping). A tick that does not
 * poll reads one shared counter and the clock, nothing else. Every poll
 * leaves a heartbeat for mod_status.
 */

#include <apr_dbd.h>
#include <apr_network_io.h>
#include <apr_optional.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_listen.h>
#include <mod_dbd.h>
#include <mod_watchdog.h>

#include "bulkio_store_lease.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_housekeeping.h"
#include "mod_bulkio_scheduler.h"
#include "mod_bulkio_signal.h"
#include "mod_bulkio_threads.h"
#include "mod_bulkio_webhooks.h"

#define WATCHDOG_NAME   "_bulkio_"
#define TICK            apr_time_from_msec(100) /* mod_watchdog's slice */
#define MAX_ATTEMPTS    5

/* This child's scheduler. */
typedef struct {
    server_rec *s;
    mod_bulkio_cfg_t *cfg;
    const char *server_id;      /* this server among those sharing the DB */
    const char *nonce;          /* this child, in lease owners */
    apr_time_t db_retry_at;     /* the database was unavailable: not before */
    apr_interval_time_t db_backoff;
    apr_time_t last_poll;       /* 0 before the first */
    apr_uint32_t wakes;         /* mod_bulkio_signal_wakes() it last saw */
} scheduler_t;

static scheduler_t *sched;

/* Give claim c up for good: it failed MAX_ATTEMPTS times already. */
static void give_up(apr_pool_t *p, PGconn *conn, const char *owner,
                    const bulkio_claim_t *c)
{
    if (bulkio_store_finish(p, conn, c->id, owner, "failed",
            apr_psprintf(p, "gave up after %d attempts; last error: %s",
                         MAX_ATTEMPTS, c->reason ? c->reason
                         : "the worker died")) == APR_SUCCESS) {
        mod_bulkio_housekeeping_drop_import(p, sched->s, c);
    }
}

/* Claim jobs while this server has room for them (the slots are held). */
static void schedule(apr_pool_t *p)
{
    mod_bulkio_cfg_t *cfg = sched->cfg;
    bulkio_claim_t *c;
    ap_dbd_t *dbd;
    PGconn *conn;
    int i, running = mod_bulkio_threads_reap();

    if (mod_bulkio_threads_stopping()) {
        return;
    }
    if (apr_time_now() < sched->db_retry_at) {
        return;
    }
    if (!(dbd = mod_bulkio_threads_conn_open(p))) {
        /* try again with backoff (mod_dbd logs every failed attempt) */
        sched->db_backoff = sched->db_backoff
            ? mod_bulkio_threads_backoff(sched->db_backoff)
            : cfg->poll_interval;
        sched->db_retry_at = apr_time_now() + sched->db_backoff;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, APR_EGENERAL, sched->s,
                     BULKIO_LOGNO(34) "scheduler: database unavailable");
        return;
    }
    sched->db_backoff = 0;
    conn = apr_dbd_native_handle(dbd->driver, dbd->handle);
    for (i = 0; running < cfg->max_jobs && i < cfg->max_jobs; ++i) {
        const char *owner;

        if (mod_bulkio_threads_busy(i)) {
            continue;
        }
        owner = apr_psprintf(p, "%s/%s/%" APR_PID_T_FMT "/%d",
                             sched->server_id, sched->nonce, getpid(), i);
        if (bulkio_store_claim(p, conn, sched->server_id, owner,
                               cfg->max_jobs, cfg->lease_time, &c)
            != APR_SUCCESS) {
            break;
        }
        if (c->attempts > MAX_ATTEMPTS) {
            give_up(p, conn, owner, c);
            continue;
        }
        if (mod_bulkio_threads_start(i, owner, c) != APR_SUCCESS) {
            bulkio_store_finish(p, conn, c->id, owner, "pending", NULL);
            break;
        }
        ++running;
    }
    mod_bulkio_housekeeping_sweep(p, conn, sched->s);
    mod_bulkio_webhooks_kick(p, conn, apr_psprintf(
        p, "%s/%s/%" APR_PID_T_FMT, sched->server_id, sched->nonce,
        getpid()));
    mod_bulkio_threads_conn_close(dbd);
}

/* Every TICK: poll when woken or when BulkIOPollInterval has passed
 * (less half a tick, so that the polls keep to the interval although the
 * ticks come a little later than TICK each). */
static apr_status_t watchdog_callback(int state, void *data, apr_pool_t *p)
{
    scheduler_t *w = sched;
    apr_uint32_t wakes;
    apr_time_t now;

    (void)data;
    if (state != AP_WATCHDOG_STATE_RUNNING || !w) {
        return APR_SUCCESS;
    }
    wakes = mod_bulkio_signal_wakes();
    now = apr_time_now();
    if (w->last_poll && wakes == w->wakes
        && now - w->last_poll < w->cfg->poll_interval - TICK / 2) {
        return APR_SUCCESS;
    }
    if (mod_bulkio_threads_lock() == APR_SUCCESS) {
        int i, threads = 0;

        /* a wake-up during this poll makes the next tick poll again */
        w->wakes = wakes;
        w->last_poll = now;
        schedule(p);
        for (i = 0; i < w->cfg->max_jobs; ++i) {
            threads += mod_bulkio_threads_busy(i);
        }
        mod_bulkio_signal_poll(threads);
        mod_bulkio_threads_unlock();
    }
    return APR_SUCCESS;
}

const char *mod_bulkio_scheduler_post_config(apr_pool_t *pconf,
                                             server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback;
    ap_watchdog_t *wd;
    apr_status_t rv;

    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
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

void mod_bulkio_scheduler_child_init(apr_pool_t *pchild, server_rec *s)
{
    char host[APRMAXHOSTLEN + 1];
    unsigned char rnd[4];
    apr_port_t port;

    sched = apr_pcalloc(pchild, sizeof(*sched));
    sched->s = s;
    sched->cfg = mod_bulkio_cfg_get(s);
    /* the host, ServerName and port (ServerName's, else the first
     * listener's) tell servers apart (several on one host differ in their
     * port; containers in their host names); the
     * nonce tells this child from any other with the same pid */
    if (apr_gethostname(host, sizeof(host), pchild) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    port = s->port ? s->port
           : ap_listeners ? ap_listeners->bind_addr->port : 0;
    sched->server_id = apr_psprintf(pchild, "%s/%s:%u", host,
                                    s->server_hostname, port);
    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        apr_time_t now = apr_time_now();

        memcpy(rnd, &now, sizeof(rnd));
    }
    sched->nonce = apr_psprintf(pchild, "%02x%02x%02x%02x", rnd[0], rnd[1],
                                rnd[2], rnd[3]);
}

const char *mod_bulkio_scheduler_server_id(void)
{
    return sched ? sched->server_id : NULL;
}
