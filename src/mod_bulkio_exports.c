/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "bulkio_export.h"
#include "bulkio_pq.h"
#include "bulkio_sign.h"
#include "bulkio_spool.h"
#include "bulkio_store_jobs.h"
#include "bulkio_store_replica.h"
#include "bulkio_util.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_exports.h"
#include "mod_bulkio_http.h"
#include "mod_bulkio_jobdoc.h"
#include "mod_bulkio_jobs.h"
#include "mod_bulkio_stream.h"

#define BODY_MAX 65536

static void export_row(void *baton, const PGresult *res, int i,
                       bulkio_buf_t *out)
{
    bulkio_export_row(baton, res, i, out);
}

static void set_attachment(request_rec *r, const bulkio_export_t *exp,
                           const char *name)
{
    ap_set_content_type(r, bulkio_export_ctype(exp));
    apr_table_setn(r->headers_out, "Content-Disposition", apr_psprintf(
                   r->pool, "attachment; filename=\"%s.%s\"", name,
                   bulkio_export_ext(exp)));
}

/* The time of a job's timestamp (UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ"), 0 when
 * there is none. */
static apr_time_t job_time(const char *ts)
{
    apr_time_exp_t t;
    apr_time_t when;

    memset(&t, 0, sizeof(t));
    if (!ts || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d", &t.tm_year, &t.tm_mon,
                      &t.tm_mday, &t.tm_hour, &t.tm_min, &t.tm_sec) != 6) {
        return 0;
    }
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    return apr_time_exp_gmt_get(&when, &t) == APR_SUCCESS ? when : 0;
}

/* The connection an export reads from: the replica, once it has replayed
 * the principal's last finished import (BulkIOExportReplica), else conn
 * (the primary). */
static PGconn *export_conn(mod_bulkio_req_t *req, PGconn *conn)
{
    PGconn *replica;
    const char *why;
    apr_status_t rv;

    if (!req->cfg->replica) {
        return conn;
    }
    rv = bulkio_store_replica_ready(req->r->pool, conn, req->cfg->replica,
                                    req->principal, 0, req->cfg->replica_wait,
                                    &replica, &why);
    if (rv == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, req->r, BULKIO_LOGNO(2000)
                      "export of %s reads from the replica", req->principal);
        return replica;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, rv, req->r, BULKIO_LOGNO(2001)
                  "export of %s reads from the primary: the replica is %s",
                  req->principal, why);
    return conn;
}

int mod_bulkio_exports_stream(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    const char *error;
    bulkio_frame_t frame;
    bulkio_export_t *exp;
    apr_table_t *args;
    PGconn *conn;
    char stamp[32];
    apr_size_t len;
    apr_time_exp_t t;
    int gzip;

    if ((error = mod_bulkio_missing_scope(req, "bulkio:export"))) {
        return mod_bulkio_problem(r, HTTP_FORBIDDEN, error);
    }
    ap_args_to_table(r, &args);
    if (bulkio_export_from_args(r->pool, args, &exp, &error) != APR_SUCCESS) {
        return mod_bulkio_problem(r, HTTP_BAD_REQUEST, error);
    }
    if (!(conn = mod_bulkio_db(r))) {
        return mod_bulkio_db_unavailable(r);
    }
    apr_time_exp_gmt(&t, r->request_time);
    apr_strftime(stamp, &len, sizeof(stamp), "%Y%m%dT%H%M%SZ", &t);
    set_attachment(r, exp, apr_pstrcat(
                   r->pool, bulkio_resource_name(bulkio_export_resource(exp)),
                   "-", stamp, NULL));
    gzip = mod_bulkio_stream_negotiate(r);
    if (r->header_only) {
        return OK;
    }
    frame.head = bulkio_export_head(r->pool, exp);
    frame.sep = bulkio_export_sep(exp);
    frame.tail = bulkio_export_tail(exp);
    conn = export_conn(req, conn);
    return (gzip ? mod_bulkio_stream_gzip : mod_bulkio_stream)(
               r, conn, bulkio_export_send(r->pool, conn, exp), &frame,
               export_row, exp);
}

/* One POST /v1/exports. */
typedef struct {
    bulkio_export_t *exp;
    const char *params;
    const char *callback_url;   /* or NULL */
} post_t;

/* Read a small request body whole (at most BODY_MAX bytes). */
static int read_body(request_rec *r, char **pbody, apr_size_t *plen,
                     const char **pdetail)
{
    bulkio_buf_t buf;
    char chunk[8192];
    long n;
    int rc;

    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        *pdetail = "the request body cannot be read";
        return rc;
    }
    bulkio_buf_init(&buf, r->pool, 4096);
    while ((n = ap_get_client_block(r, chunk, sizeof(chunk))) > 0) {
        if (buf.len + (apr_size_t)n > BODY_MAX) {
            *pdetail = "the request body is limited to 64 KiB";
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        bulkio_buf_add(&buf, chunk, (apr_size_t)n);
    }
    if (n < 0) {
        *pdetail = "the request body could not be read completely";
        return HTTP_BAD_REQUEST;
    }
    *plen = buf.len;
    bulkio_buf_addc(&buf, '\0');
    *pbody = buf.data;
    return OK;
}

/* What the query of POST /v1/exports may carry: the export is the body. */
static const char *const query_known[] = { "callback_url", NULL };

static int receive(mod_bulkio_req_t *req, void *baton, PGconn *conn,
                   const bulkio_idem_t *claimed, const char **pfp,
                   const char **pdetail)
{
    post_t *post = baton;
    request_rec *r = req->r;
    const char *callback;
    json_object *doc, *v;
    json_tokener *tok;
    apr_table_t *args;
    char *body;
    apr_size_t len, end;
    apr_status_t rv;
    int rc;

    (void)conn;
    (void)claimed;
    /* the export is in the body; the query takes only callback_url */
    ap_args_to_table(r, &args);
    if ((*pdetail = bulkio_args_unknown(r->pool, args, query_known))) {
        return HTTP_BAD_REQUEST;
    }
    if ((rc = read_body(r, &body, &len, pdetail)) != OK) {
        return rc;
    }
    /* json-c strings and member names end at a NUL: "users\u0000x" would
     * pass for "users" */
    if (strlen(body) != len || strstr(body, "\\u0000")) {
        *pdetail = "the body must not contain NUL characters";
        return HTTP_BAD_REQUEST;
    }
    if (!(tok = json_tokener_new())) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    doc = json_tokener_parse_ex(tok, body, (int)len);
    end = json_tokener_get_parse_end(tok);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(doc);
        doc = NULL;
    }
    json_tokener_free(tok);
    while (doc && end < len && apr_isspace(body[end])) {
        ++end;
    }
    if (doc && end < len) {
        json_object_put(doc);
        doc = NULL;
    }
    if (!doc) {
        *pdetail = "the body must be a JSON object: {\"resource\", "
                   "\"format\", \"filters\", \"fields\"}";
        return HTTP_BAD_REQUEST;
    }
    /* the job's callback_url: a member of the body, or the query's */
    callback = apr_table_get(args, "callback_url");
    if (json_object_object_get_ex(doc, "callback_url", &v)) {
        callback = v && json_object_is_type(v, json_type_string)
                   ? apr_pstrdup(r->pool, json_object_get_string(v)) : "";
        json_object_object_del(doc, "callback_url");
    }
    rv = bulkio_export_from_json(r->pool, doc, &post->exp, pdetail);
    json_object_put(doc);
    if (rv != APR_SUCCESS) {
        return HTTP_BAD_REQUEST;
    }
    if (callback && !*callback) {
        *pdetail = "callback_url must be a non-empty string";
        return HTTP_BAD_REQUEST;
    }
    if ((rc = mod_bulkio_callback_url(req, callback, &post->callback_url,
                                      pdetail)) != OK) {
        return rc;
    }
    post->params = bulkio_export_params_json(r->pool, post->exp);
    *pfp = bulkio_sha256_hex(r->pool, apr_pstrcat(
               r->pool, "export\n", post->params, "\ncallback_url=",
               post->callback_url ? post->callback_url : "", NULL));
    return OK;
}

static int prepare(mod_bulkio_req_t *req, void *baton, const char *job_id,
                   bulkio_new_job_t **pjob, const char **pdetail)
{
    post_t *post = baton;
    bulkio_new_job_t *job = apr_pcalloc(req->r->pool, sizeof(*job));

    (void)job_id;
    (void)pdetail;
    job->resource = bulkio_resource_name(bulkio_export_resource(post->exp));
    job->format = bulkio_format_name(bulkio_export_format(post->exp));
    job->params = post->params;
    job->callback_url = post->callback_url;
    job->callback_base = req->base;
    *pjob = job;
    return OK;
}

const mod_bulkio_poster_t mod_bulkio_exports = {
    "export", sizeof(post_t), receive, prepare, NULL
};

int mod_bulkio_exports_get(mod_bulkio_req_t *req)
{
    PGconn *conn = mod_bulkio_job_conn(req, req->id);
    bulkio_job_t *j;

    json_object *doc;

    if (!conn || mod_bulkio_job_get(req, conn, "export", req->id, &j) != OK) {
        return OK;
    }
    doc = mod_bulkio_jobdoc(req->r->pool, j, req->base, NULL);
    mod_bulkio_jobdoc_signed(req->r->pool, doc, j, req->base,
                             req->cfg->link_secret, req->cfg->link_ttl,
                             apr_time_sec(apr_time_now()));
    return mod_bulkio_send_json(req->r, HTTP_OK, doc);
}

int mod_bulkio_exports_delete(mod_bulkio_req_t *req)
{
    PGconn *conn = mod_bulkio_job_conn(req, req->id);
    const char *status;
    bulkio_job_t *j;

    if (!conn || mod_bulkio_cancel_job(req, conn, "export", &status) != OK
        || mod_bulkio_job_get(req, conn, "export", req->id, &j) != OK) {
        return OK;
    }
    /* a running job stops at its next chunk; its worker removes the
     * partial file */
    return mod_bulkio_send_json(req->r, strcmp(status, "running")
                                ? HTTP_OK : HTTP_ACCEPTED,
                                mod_bulkio_jobdoc(req->r->pool, j, req->base,
                                                  NULL));
}

/* Send the file of export job j: Content-Length, ETag, Last-Modified,
 * conditional requests and ranges (the byterange filter). */
static int send_file(mod_bulkio_req_t *req, PGconn *conn, bulkio_job_t *j)
{
    request_rec *r = req->r;
    apr_bucket_brigade *bb;
    bulkio_export_t *exp;
    json_object *doc;
    bulkio_spool_reader_t *f;
    apr_time_t mtime;
    const char *error;
    apr_status_t rv;
    int rc;

    if (strcmp(j->status, "completed")) {
        return mod_bulkio_problem(r, HTTP_CONFLICT, apr_pstrcat(
                                  r->pool, "the export is ", j->status,
                                  "; its file is not ready", NULL));
    }
    if (j->expired || !j->source_path) {
        bulkio_spool_remove(r->pool, j->source_path, req->cfg->spool_dir,
                            conn);
        return mod_bulkio_problem(r, HTTP_GONE, "the export has expired");
    }
    rv = bulkio_spool_open(&f, r->pool, j->source_path, conn, 0);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(51)
                      "export file %s of job %s cannot be read",
                      j->source_path, j->job_id);
        return mod_bulkio_problem(r, HTTP_GONE, "the export's file is gone");
    }
    /* the file's type: from the parameters the job was created with */
    doc = json_tokener_parse(j->params);
    if (!doc || bulkio_export_from_json(r->pool, doc, &exp, &error)
                != APR_SUCCESS) {
        json_object_put(doc);
        return mod_bulkio_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                                  "the export's parameters are damaged");
    }
    json_object_put(doc);
    if (bulkio_export_gzip(exp)) {
        /* the file as stored: a .gz the client inflates (or keeps) */
        ap_set_content_type(r, "application/gzip");
        apr_table_setn(r->headers_out, "Content-Disposition", apr_psprintf(
                       r->pool, "attachment; filename=\"export-%s.%s.gz\"",
                       j->job_id, bulkio_export_ext(exp)));
        apr_table_setn(r->subprocess_env, "no-gzip", "1");
    }
    else {
        set_attachment(r, exp, apr_pstrcat(r->pool, "export-", j->job_id,
                                           NULL));
    }
    apr_table_setn(r->headers_out, "ETag", bulkio_spool_etag(f, &mtime));
    /* a file's time, or (a large object has none) the job's end */
    ap_update_mtime(r, mtime ? mtime : job_time(j->completed_at));
    ap_set_last_modified(r);
    ap_set_accept_ranges(r);
    if ((rc = ap_meets_conditions(r)) != OK) {
        return rc;
    }
    ap_set_content_length(r, bulkio_spool_reader_size(f));
    if (r->header_only) {
        return OK;
    }
    /* buckets that read the file as sent (a file's: sendfile), and the
     * byterange filter serves Range from them */
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    bulkio_spool_brigade(f, bb);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(
                                r->connection->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    return rv == APR_SUCCESS || r->connection->aborted ? OK
                                                       : AP_FILTER_ERROR;
}

int mod_bulkio_exports_download(mod_bulkio_req_t *req)
{
    PGconn *conn = mod_bulkio_job_conn(req, req->id);
    bulkio_job_t *j;

    if (!conn || mod_bulkio_job_get(req, conn, "export", req->id, &j) != OK) {
        return OK;
    }
    return send_file(req, conn, j);
}

int mod_bulkio_exports_signed(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    apr_table_t *args;
    bulkio_job_t *j;
    PGconn *conn;
    apr_status_t rv;

    ap_args_to_table(r, &args);
    rv = bulkio_link_verify(r->pool, req->cfg->link_secret, req->id,
                            apr_table_get(args, "expires"),
                            apr_table_get(args, "signature"),
                            apr_time_sec(apr_time_now()));
    if (rv == APR_TIMEUP) {
        return mod_bulkio_problem(r, HTTP_GONE, "the download link has "
                                  "expired; get a new one from the job's "
                                  "document");
    }
    if (rv != APR_SUCCESS) {
        return mod_bulkio_problem(r, HTTP_FORBIDDEN, "the download link's "
                                  "signature is not valid");
    }
    if (!(conn = mod_bulkio_job_conn(req, req->id))) {
        return OK;
    }
    rv = bulkio_store_export_get(r->pool, conn, req->id, &j);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such job");
    }
    if (rv != APR_SUCCESS) {
        return mod_bulkio_db_unavailable(r);
    }
    return send_file(req, conn, j);
}
