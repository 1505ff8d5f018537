/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * What creating an import or an export job has in common: the
 * Idempotency-Key (looked up before anything else) and the 202 answer;
 * and the list of the caller's jobs of one kind.
 */

#include <apr_file_io.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_script.h>

#include "bulkio_joblist.h"
#include "bulkio_pq.h"
#include "bulkio_store_jobs.h"
#include "bulkio_util.h"
#include "bulkio_webhook.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_http.h"
#include "mod_bulkio_jobdoc.h"
#include "mod_bulkio_jobs.h"
#include "mod_bulkio_signal.h"

#define IDEM_KEY_MAX 255

static int send_accepted(mod_bulkio_req_t *req, const char *kind, int status,
                         const char *body, const char *job_id)
{
    request_rec *r = req->r;

    apr_table_setn(r->headers_out, "Location", apr_pstrcat(
                   r->pool, req->base, "/", kind, "s/", job_id, NULL));
    mod_bulkio_note_job(r, job_id);
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    r->status = status;
    ap_rputs(body, r);
    return OK;
}

/* Answer 429: the principal has BulkIOMaxJobsPerPrincipal jobs pending or
 * running. Retry-After: a few polls of the worker, at least 5 s. */
static int too_many(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    apr_int64_t secs = apr_time_sec(2 * req->cfg->poll_interval);

    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                secs < 5 ? 5 : secs));
    return mod_bulkio_problem(r, HTTP_TOO_MANY_REQUESTS, apr_psprintf(
        r->pool, "%d jobs of yours are pending or running already "
        "(BulkIOMaxJobsPerPrincipal); retry when one has ended",
        req->cfg->max_jobs_per_principal));
}

static int valid_idem_key(const char *key)
{
    apr_size_t n = 0;

    for (; key[n]; ++n) {
        if (key[n] < 0x20 || key[n] > 0x7e || n >= IDEM_KEY_MAX) {
            return 0;
        }
    }
    return n > 0;
}

/* Create job job_id of the kind req->arg, completing claimed (if any) with
 * fp and the answer body in the same transaction.
 * @return OK, or an HTTP status with *pdetail */
static int create_job(mod_bulkio_req_t *req, void *baton, PGconn *conn,
                      const bulkio_idem_t *claimed, const char *fp,
                      const char *job_id, const char *body,
                      const char **pdetail)
{
    const mod_bulkio_poster_t *poster = req->arg;
    request_rec *r = req->r;
    bulkio_new_job_t *job;
    const char *error = NULL;
    apr_status_t rv;
    int rc;

    if ((rc = poster->prepare(req, baton, job_id, &job, pdetail)) != OK) {
        return rc;
    }
    job->job_id = job_id;
    job->kind = poster->kind;
    job->principal = req->principal;
    job->max_active = req->cfg->max_jobs_per_principal;
    rv = bulkio_store_job_create(r->pool, conn, job, claimed, fp,
                                 HTTP_ACCEPTED, body, &error);
    if (rv == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, BULKIO_LOGNO(13)
                      "%s job %s created: %s, %s, %" APR_OFF_T_FMT
                      " bytes uploaded", job->kind, job_id, job->resource,
                      job->format ? job->format : "-", job->bytes_total);
        return OK;
    }
    if (APR_STATUS_IS_EAGAIN(rv)) {
        if (poster->discard) {
            poster->discard(baton, 0);
        }
        return HTTP_TOO_MANY_REQUESTS;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(12)
                  "cannot create the %s job: %s", job->kind,
                  error ? error : bulkio_pq_error(r->pool, conn));
    if (poster->discard) {
        /* a connection lost on COMMIT leaves the outcome unknown: the job
         * may exist (a retry with the Idempotency-Key gets it), so what it
         * names stays; the orphan sweep removes it if no job names it */
        poster->discard(baton, bulkio_pq_broken(conn));
    }
    *pdetail = "the job could not be created; try again";
    return HTTP_SERVICE_UNAVAILABLE;
}

int mod_bulkio_post_job(mod_bulkio_req_t *req)
{
    const mod_bulkio_poster_t *poster = req->arg;
    request_rec *r = req->r;
    void *baton = apr_pcalloc(r->pool, poster->baton_size);
    const char *key = apr_table_get(r->headers_in, "Idempotency-Key");
    const char *fp = NULL, *detail = NULL, *job_id, *body;
    bulkio_idem_t idem, *claimed = NULL;
    PGconn *conn;
    int rc;

    if ((detail = mod_bulkio_missing_scope(req, apr_pstrcat(
                       r->pool, "bulkio:", poster->kind, NULL)))) {
        return mod_bulkio_problem(r, HTTP_FORBIDDEN, detail);
    }
    if (key && !valid_idem_key(key)) {
        return mod_bulkio_problem(r, HTTP_BAD_REQUEST, "Idempotency-Key must "
                                  "be 1 to 255 printable ASCII characters");
    }
    if (!(conn = mod_bulkio_db(r))) {
        return mod_bulkio_db_unavailable(r);
    }
    memset(&idem, 0, sizeof(idem));
    if (key) {
        idem.principal = req->principal;
        idem.endpoint = apr_pstrcat(r->pool, "POST /v1/", poster->kind, "s",
                                    NULL);
        idem.key = key;
        if (bulkio_store_idem_claim(r->pool, conn, &idem,
                                    MOD_BULKIO_IDEM_LEASE,
                                    req->cfg->idempotency_ttl)
            != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r,
                          BULKIO_LOGNO(14) "Idempotency-Key lookup failed: %s",
                          bulkio_pq_error(r->pool, conn));
            return mod_bulkio_db_unavailable(r);
        }
        if (idem.state == BULKIO_IDEM_BUSY) {
            return mod_bulkio_problem(r, HTTP_CONFLICT, "a request with this "
                                      "Idempotency-Key is still in progress");
        }
        if (idem.state == BULKIO_IDEM_CLAIMED) {
            claimed = &idem;
        }
    }
    if (idem.state != BULKIO_IDEM_DONE) {
        /* before the upload is received; the job's creation counts again
         * under a lock (requests at the same time) */
        int full = 0;

        if (bulkio_store_principal_full(r->pool, conn, req->principal,
                                        req->cfg->max_jobs_per_principal,
                                        &full) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r,
                          BULKIO_LOGNO(1700) "cannot count the jobs of %s: %s",
                          req->principal, bulkio_pq_error(r->pool, conn));
            if (claimed) {
                bulkio_store_idem_release(r->pool, conn, claimed);
            }
            return mod_bulkio_db_unavailable(r);
        }
        if (full) {
            if (claimed) {
                bulkio_store_idem_release(r->pool, conn, claimed);
            }
            return too_many(req);
        }
    }
    rc = poster->receive(req, baton, conn, claimed, &fp, &detail);
    if (key && idem.state == BULKIO_IDEM_DONE) {
        /* a key already used: the same request gets the same answer */
        if (rc == OK && idem.fingerprint && !strcmp(fp, idem.fingerprint)
            && idem.body && idem.job_id) {
            return send_accepted(req, poster->kind, idem.status, idem.body,
                                 idem.job_id);
        }
        if (rc == OK || ap_is_HTTP_CLIENT_ERROR(rc)) {
            return mod_bulkio_problem(r, HTTP_UNPROCESSABLE_ENTITY,
                                      "this Idempotency-Key was used for a "
                                      "different request");
        }
    }
    else if (rc == OK) {
        job_id = bulkio_uuid_new(r->pool);
        body = apr_pstrcat(r->pool, "{\"job_id\":\"", job_id,
                           "\",\"status\":\"accepted\"}\n", NULL);
        rc = create_job(req, baton, conn, claimed, fp, job_id, body,
                        &detail);
        if (rc == OK) {
            /* committed: this server's worker claims it at its next tick
             * (a replay above created nothing, so it wakes nobody) */
            mod_bulkio_signal_wake();
            return send_accepted(req, poster->kind, HTTP_ACCEPTED, body, job_id);
        }
    }
    if (claimed) {
        bulkio_store_idem_release(r->pool, conn, claimed);
    }
    if (r->connection->aborted) {
        return DONE;
    }
    if (rc == HTTP_TOO_MANY_REQUESTS) {
        return too_many(req);
    }
    return mod_bulkio_problem(r, rc, detail);
}

int mod_bulkio_callback_url(mod_bulkio_req_t *req, const char *url,
                            const char **purl, const char **pdetail)
{
    *purl = NULL;
    if (!url || !*url) {
        return OK;
    }
    if (!req->cfg->webhook_secret) {
        *pdetail = "callback_url needs a BulkIOWebhookSecret in the server's "
                   "configuration, which this server lacks";
        return HTTP_BAD_REQUEST;
    }
    if (bulkio_hook_check_url(req->r->pool, url, req->cfg->url_allow,
                              req->cfg->url_ports, pdetail) != APR_SUCCESS) {
        return HTTP_BAD_REQUEST;
    }
    *purl = url;
    return OK;
}

int mod_bulkio_list_jobs(mod_bulkio_req_t *req)
{
    const mod_bulkio_poster_t *poster = req->arg;
    request_rec *r = req->r;
    apr_array_header_t *jobs;
    apr_table_t *args;
    bulkio_job_query_t q;
    json_object *doc, *items, *item;
    const char *error, *next = NULL;
    apr_int64_t total = 0;
    PGconn *conn;
    apr_status_t rv;
    int i, n;

    ap_args_to_table(r, &args);
    memset(&q, 0, sizeof(q));
    q.all_kinds = !poster;
    if (bulkio_joblist_parse(r->pool, args, &q, &error) != APR_SUCCESS) {
        return mod_bulkio_problem(r, HTTP_BAD_REQUEST, error);
    }
    q.principal = req->principal;
    if (poster) {
        q.kind = poster->kind;
    }
    if (!(conn = mod_bulkio_db(r))) {
        return mod_bulkio_db_unavailable(r);
    }
    /* one more than a page: whether there is a next one */
    ++q.limit;
    rv = bulkio_store_job_list(r->pool, conn, &q, &jobs);
    --q.limit;
    if (rv == APR_SUCCESS) {
        rv = bulkio_store_job_count(r->pool, conn, &q, &total);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(1300)
                      "cannot list the %s jobs: %s", poster ? poster->kind
                      : "import and export", bulkio_pq_error(r->pool, conn));
        return mod_bulkio_db_unavailable(r);
    }
    n = jobs->nelts > q.limit ? q.limit : jobs->nelts;
    items = json_object_new_array();
    for (i = 0; i < n; ++i) {
        const bulkio_job_t *j = APR_ARRAY_IDX(jobs, i, bulkio_job_t *);

        item = mod_bulkio_jobdoc(r->pool, j, req->base, NULL);
        if (!poster) {
            json_object_object_add(item, "kind",
                                   json_object_new_string(j->kind));
        }
        json_object_array_add(items, item);
    }
    if (jobs->nelts > q.limit) {
        next = apr_pstrcat(r->pool, r->uri, "?", bulkio_joblist_next_query(
                               r->pool, &q, apr_table_get(args, "limit")
                               != NULL, APR_ARRAY_IDX(jobs, n - 1,
                                                      bulkio_job_t *)),
                           NULL);
        apr_table_setn(r->headers_out, "Link", apr_pstrcat(
                       r->pool, "<", next, ">; rel=\"next\"", NULL));
    }
    doc = json_object_new_object();
    json_object_object_add(doc, "items", items);
    json_object_object_add(doc, "total", json_object_new_int64(total));
    json_object_object_add(doc, "next",
                           next ? json_object_new_string(next) : NULL);
    return mod_bulkio_send_json(r, HTTP_OK, doc);
}

int mod_bulkio_cancel_job(mod_bulkio_req_t *req, PGconn *conn,
                          const char *kind, const char **pstatus)
{
    request_rec *r = req->r;
    apr_status_t rv;
    char *id;

    rv = bulkio_store_cancel(r->pool, conn, kind, req->principal, req->id,
                             pstatus);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such job");
        return DONE;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(1950)
                      "cannot cancel %s job %s: %s", kind, req->id,
                      bulkio_pq_error(r->pool, conn));
        mod_bulkio_db_unavailable(r);
        return DONE;
    }
    if (!strcmp(*pstatus, "completed") || !strcmp(*pstatus, "failed")) {
        mod_bulkio_problem(r, HTTP_CONFLICT, apr_pstrcat(
                           r->pool, "the job has already ", *pstatus, NULL));
        return DONE;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, BULKIO_LOGNO(1951)
                  "%s job %s: cancel requested, %s", kind, req->id,
                  *pstatus);
    if (!strcmp(*pstatus, "canceled") && !strcmp(kind, "import")) {
        /* canceled before it ran: its upload is needed no more (a running
         * job's worker removes it when it stops; an export writes nothing
         * before it runs) */
        id = apr_pstrdup(r->pool, req->id);
        ap_str_tolower(id);
        apr_file_remove(apr_pstrcat(r->pool, req->cfg->spool_dir, "/import-",
                                    id, NULL), r->pool);
    }
    return OK;
}
