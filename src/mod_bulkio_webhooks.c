/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The worker's completion webhooks. A job created with a callback URL has
 * a delivery row (sql/011_webhooks.sql) that the job's end makes due. At
 * its polls the scheduler kicks this room: when a delivery is due and no
 * sender runs in this child, a sender thread starts; it claims due
 * deliveries one at a time (FOR UPDATE SKIP LOCKED, with a lease longer
 * than a try may take), POSTs the job's status document signed with
 * BulkIOWebhookSecret, records the try and, when it failed, the next one
 * after an exponential backoff, until none is due. PostgreSQL holds the
 * truth: a crash leaves the delivery pending (or its lease expires), a
 * second server skips what this one holds.
 */

#include <apr_atomic.h>
#include <apr_dbd.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_log.h>
#include <mod_dbd.h>

#include "bulkio_pq.h"
#include "bulkio_sign.h"
#include "bulkio_store_hooks.h"
#include "bulkio_store_jobs.h"
#include "bulkio_webhook.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_jobdoc.h"
#include "mod_bulkio_threads.h"
#include "mod_bulkio_webhooks.h"

#define ERRORS_IN_BODY  100
#define STOP_PATIENCE   apr_time_from_sec(5)
#define LEASE_MARGIN    apr_time_from_sec(30)

/* This child's sender. */
typedef struct {
    server_rec *s;
    mod_bulkio_cfg_t *cfg;
    apr_thread_t *thread;       /* NULL when none runs */
    apr_pool_t *pool;           /* the running sender's, own allocator */
    const char *owner;
    volatile apr_uint32_t done;
} sender_t;

static sender_t *snd;

static PGconn *native(ap_dbd_t *dbd)
{
    return apr_dbd_native_handle(dbd->driver, dbd->handle);
}

/* The body of delivery h: the job's status document as it ended. */
static const char *document(apr_pool_t *p, PGconn *conn,
                            const bulkio_hook_t *h)
{
    apr_array_header_t *errors = NULL;
    bulkio_job_t *j;
    json_object *doc;
    const char *text;

    if (bulkio_store_job_get(p, conn, h->kind, h->principal, h->job_id, &j)
        != APR_SUCCESS) {
        return NULL;
    }
    if (!strcmp(h->kind, "import")
        && bulkio_store_errors_head(p, conn, j->id, ERRORS_IN_BODY, &errors)
           != APR_SUCCESS) {
        return NULL;
    }
    doc = mod_bulkio_jobdoc(p, j, h->base, errors);
    /* the document as it was when the job ended, not the delivery's
     * state, which each try changes */
    json_object_object_del(doc, "webhook");
    if (!strcmp(h->kind, "export")) {
        mod_bulkio_jobdoc_signed(p, doc, j, h->base, snd->cfg->link_secret,
                                 snd->cfg->link_ttl,
                                 apr_time_sec(apr_time_now()));
    }
    text = apr_pstrdup(p, json_object_to_json_string_ext(
                              doc, JSON_C_TO_STRING_PLAIN
                                   | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
    return text;
}

/* One try of claimed delivery h on conn. */
static void deliver(apr_pool_t *p, PGconn *conn, bulkio_hook_t *h)
{
    mod_bulkio_cfg_t *cfg = snd->cfg;
    server_rec *s = snd->s;
    bulkio_hook_result_t res;
    bulkio_hook_opts_t opts;
    const char *body = h->body, *sig;
    apr_interval_time_t next = bulkio_hook_backoff(cfg->webhook_backoff,
                                                   h->attempts);
    apr_status_t rv;

    if (!body) {
        if (!(body = document(p, conn, h))
            || bulkio_store_hook_body(p, conn, h->job, snd->owner, body,
                                      &body) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, APR_EGENERAL, s,
                         BULKIO_LOGNO(2051) "job %s: cannot build its "
                         "webhook's document: %s", h->job_id,
                         bulkio_pq_error(p, conn));
            return;             /* the lease expires, then it is tried */
        }
    }
    memset(&opts, 0, sizeof(opts));
    opts.allow = cfg->url_allow;
    opts.ports = cfg->url_ports;
    opts.timeout = cfg->webhook_timeout;
    if (!cfg->webhook_secret) {
        memset(&res, 0, sizeof(res));
        res.error = "the server has no BulkIOWebhookSecret";
        rv = APR_EGENERAL;
    }
    else {
        sig = bulkio_hook_signature(p, cfg->webhook_secret,
                                    apr_time_sec(apr_time_now()), body,
                                    strlen(body));
        rv = bulkio_hook_post(p, h->url, h->event_id, sig, body,
                              strlen(body), &opts, &res);
    }
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, BULKIO_LOGNO(2052)
                     "job %s: webhook %s delivered (HTTP %d, try %d)",
                     h->job_id, h->event_id, res.http_status, h->attempts);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, BULKIO_LOGNO(2053)
                     "job %s: webhook %s try %d failed: %s; next try in %"
                     APR_INT64_T_FMT " s unless past BulkIOWebhookRetry",
                     h->job_id, h->event_id, h->attempts, res.error,
                     (apr_int64_t)apr_time_sec(next));
    }
    rv = bulkio_store_hook_done(p, conn, h->job, snd->owner, res.delivered,
                                res.http_status, res.error, next,
                                cfg->webhook_retry);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, BULKIO_LOGNO(2054)
                     "job %s: cannot record its webhook's try: %s",
                     h->job_id, APR_STATUS_IS_NOTFOUND(rv)
                     ? "another sender holds it" : bulkio_pq_error(p, conn));
    }
}

/* Deliver what is due until nothing is, or the child stops. */
static void *APR_THREAD_FUNC sender_thread(apr_thread_t *t, void *data)
{
    mod_bulkio_cfg_t *cfg = snd->cfg;
    apr_interval_time_t lease = 2 * cfg->webhook_timeout + LEASE_MARGIN;
    bulkio_hook_t *h;
    ap_dbd_t *dbd;
    apr_pool_t *p;

    (void)data;
    if ((dbd = mod_bulkio_threads_conn_open(snd->pool))) {
        apr_pool_create(&p, snd->pool);
        while (!mod_bulkio_threads_stopping()
               && bulkio_store_hook_claim(p, native(dbd), snd->owner, lease,
                                          &h) == APR_SUCCESS) {
            deliver(p, native(dbd), h);
            apr_pool_clear(p);
        }
        mod_bulkio_threads_conn_close(dbd);
    }
    apr_atomic_set32(&snd->done, 1);
    (void)t;
    return NULL;
}

/* Join a sender that has finished; non-zero while one runs. */
static int reap(void)
{
    apr_status_t trv;

    if (!snd->thread) {
        return 0;
    }
    if (!apr_atomic_read32(&snd->done)) {
        return 1;
    }
    apr_thread_join(&trv, snd->thread);
    apr_pool_destroy(snd->pool);
    snd->thread = NULL;
    return 0;
}

void mod_bulkio_webhooks_kick(apr_pool_t *p, PGconn *conn, const char *owner)
{
    apr_allocator_t *alloc;
    apr_threadattr_t *attr;
    int due = 0;

    if (!snd || reap() || mod_bulkio_threads_stopping()
        || bulkio_store_hook_due(p, conn, &due) != APR_SUCCESS || !due
        || apr_allocator_create(&alloc) != APR_SUCCESS) {
        return;
    }
    apr_allocator_max_free_set(alloc, 1024 * 1024);
    apr_pool_create_ex(&snd->pool, NULL, NULL, alloc);
    apr_allocator_owner_set(alloc, snd->pool);
    snd->owner = apr_pstrcat(snd->pool, owner, "/webhooks", NULL);
    apr_atomic_set32(&snd->done, 0);
    apr_threadattr_create(&attr, snd->pool);
    apr_threadattr_stacksize_set(attr, 512 * 1024);
    if (apr_thread_create(&snd->thread, attr, sender_thread, NULL,
                          snd->pool) != APR_SUCCESS) {
        snd->thread = NULL;
        apr_pool_destroy(snd->pool);
    }
}

/* At child exit: the cancel flag is up (child_stopping); wait a bounded
 * time for the sender to end its try. */
static apr_status_t sender_cleanup(void *data)
{
    apr_time_t until = apr_time_now() + STOP_PATIENCE;

    (void)data;
    mod_bulkio_threads_child_stopping(NULL, 0);
    while (snd->thread && !apr_atomic_read32(&snd->done)) {
        if (apr_time_now() > until) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, snd->s,
                         BULKIO_LOGNO(2050) "webhook sender still busy at "
                         "exit; its delivery is tried again once its lease "
                         "expires");
            return APR_SUCCESS;
        }
        apr_sleep(apr_time_from_msec(50));
    }
    /* against a scheduler tick that would kick it meanwhile */
    if (mod_bulkio_threads_lock() == APR_SUCCESS) {
        reap();
        mod_bulkio_threads_unlock();
    }
    return APR_SUCCESS;
}

void mod_bulkio_webhooks_child_init(apr_pool_t *pchild, server_rec *s)
{
    snd = apr_pcalloc(pchild, sizeof(*snd));
    snd->s = s;
    snd->cfg = mod_bulkio_cfg_get(s);
    /* before mod_dbd's connection pool (a subpool of pchild) goes */
    apr_pool_pre_cleanup_register(pchild, NULL, sender_cleanup);
}
