/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <errno.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "bulkio_format.h"
#include "bulkio_multipart.h"
#include "bulkio_spool.h"
#include "bulkio_pq.h"
#include "bulkio_store_jobs.h"
#include "bulkio_util.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_http.h"
#include "mod_bulkio_imports.h"
#include "mod_bulkio_jobdoc.h"
#include "mod_bulkio_jobs.h"
#include "mod_bulkio_stream.h"

#define URL_BODY_MAX      65536
#define URL_MAX           2048
#define READ_CHUNK        65536
#define ERRORS_IN_STATUS  100
#define OPTION_MAX        32

/* The parameters POST /v1/imports knows; the options among them (from
 * mode on) may come as form fields or {"url"} members as well. */
static const char *const params_known[] = {
    "resource", "format", "mode", "max_errors", NULL
};
#define FIRST_OPTION 2
#define PARAMS_ALLOWED "resource, format, mode, max_errors"

typedef enum {
    BODY_RAW,        /* the file itself */
    BODY_MULTIPART,  /* multipart/form-data with a part "file" */
    BODY_JSON,       /* application/json: an array file or a {"url"} */
    BODY_URL         /* application/json that turned out to be {"url"} */
} body_mode_e;

/* One upload in progress. */
typedef struct {
    mod_bulkio_req_t *req;
    PGconn *conn;
    PGconn *renew;             /* the key's renewals while conn is busy */
    const bulkio_idem_t *idem; /* the key this request claimed, or NULL */
    bulkio_new_job_t job;      /* what the upload makes */
    body_mode_e mode;
    bulkio_spool_t *spool;
    bulkio_mp_t *mp;
    int file_parts;            /* parts named "file" seen */
    int in_file;               /* the current part is the file */
    apr_table_t *options;      /* mode etc.: query, form fields, {"url"} */
    const char *in_option;     /* the option the current part gives */
    char option[OPTION_MAX + 1];
    apr_size_t option_len;
    const char *filename;
    const char *file_type;     /* Content-Type of the file (part) */
    apr_off_t received;        /* request body bytes */
    char *json;                /* a {"url"} body, up to URL_BODY_MAX */
    apr_size_t json_len;
    int status;                /* an error found while receiving */
    const char *detail;
} upload_t;

static int fail(upload_t *up, int status, const char *detail)
{
    up->status = status;
    up->detail = detail;
    return status;
}

/* The index of option name among params_known, or -1. */
static int option_index(const char *name)
{
    int i;

    for (i = FIRST_OPTION; params_known[i]; ++i) {
        if (!strcmp(name, params_known[i])) {
            return i;
        }
    }
    return -1;
}

/* The query's parameters: each must be known; the options are kept. */
static int query_options(void *baton, const char *key, const char *value)
{
    upload_t *up = baton;
    int i;

    for (i = 0; params_known[i] && strcmp(key, params_known[i]); ++i) {
    }
    if (!params_known[i]) {
        fail(up, HTTP_BAD_REQUEST, apr_pstrcat(up->req->r->pool,
             "unknown parameter ", key, "; allowed: " PARAMS_ALLOWED, NULL));
        return 0;
    }
    if (i >= FIRST_OPTION) {
        apr_table_set(up->options, key, value);
    }
    return 1;
}

/* The options of a {"url"} body: its members other than url (strings, or
 * numbers as max_errors may be). */
static void url_options(upload_t *up, json_object *doc)
{
    json_object_object_foreach(doc, key, val) {
        if (option_index(key) >= 0 && val
            && (json_object_is_type(val, json_type_string)
                || json_object_is_type(val, json_type_int))) {
            apr_table_set(up->options, key, json_object_get_string(val));
        }
    }
}

/* Check the options once the body is read; set the job's. */
static int check_options(upload_t *up, bulkio_new_job_t *job)
{
    const char *mode = apr_table_get(up->options, "mode");
    const char *max = apr_table_get(up->options, "max_errors");
    apr_int64_t n;
    char *end;

    if (bulkio_mode_from_name(mode) < 0) {
        return fail(up, HTTP_BAD_REQUEST,
                    "unknown mode; allowed: " BULKIO_MODE_NAMES);
    }
    job->mode = mode ? mode : bulkio_mode_name(BULKIO_MODE_UPSERT);
    if (max) {
        errno = 0;
        n = apr_strtoi64(max, &end, 10);
        if (!*max || *end || errno || n < 0 || !apr_isdigit(*max)) {
            return fail(up, HTTP_BAD_REQUEST,
                        "max_errors must be a whole number, 0 or more");
        }
        job->max_errors = apr_psprintf(up->req->r->pool, "%" APR_INT64_T_FMT,
                                       n);
    }
    return OK;
}

/* Map a spool write error to an answer. */
static int spool_failed(upload_t *up, apr_status_t rv)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, up->req->r, BULKIO_LOGNO(10)
                  "cannot write to the spool %s", up->req->cfg->spool.kind
                  == BULKIO_SPOOL_DATABASE ? apr_pstrcat(up->req->r->pool,
                  "(large objects): ", bulkio_pq_error(up->req->r->pool,
                  up->conn), NULL) : up->req->cfg->spool_dir);
    if (APR_STATUS_IS_ENOSPC(rv)
#ifdef EDQUOT
        || rv == APR_FROM_OS_ERROR(EDQUOT)
#endif
        ) {
        return fail(up, HTTP_INSUFFICIENT_STORAGE,
                    "the server has no room left for this upload");
    }
    return fail(up, HTTP_INTERNAL_SERVER_ERROR, APR_STATUS_IS_EACCES(rv)
                ? "the upload could not be stored: the spool directory is "
                  "not writable"
                : "the upload could not be stored");
}

static apr_status_t store_file_data(upload_t *up, const char *data,
                                    apr_size_t len)
{
    apr_status_t rv = bulkio_spool_write(up->spool, data, len);

    if (rv != APR_SUCCESS) {
        spool_failed(up, rv);
    }
    return rv;
}

static apr_status_t part_begin(void *baton, const char *name,
                               const char *filename, const char *ctype,
                               int *want_data)
{
    upload_t *up = baton;
    apr_pool_t *p = up->req->r->pool;

    if (name && option_index(name) >= 0) {
        up->in_option = apr_pstrdup(p, name);
        up->option_len = 0;
        *want_data = 1;
        return APR_SUCCESS;
    }
    if (!name || strcmp(name, "file")) {
        *want_data = 0;
        return APR_SUCCESS;
    }
    if (up->file_parts++) {
        fail(up, HTTP_BAD_REQUEST, "only one part named \"file\" is allowed");
        return APR_EINVAL;
    }
    up->in_file = 1;
    up->filename = filename ? apr_pstrdup(p, filename) : NULL;
    up->file_type = ctype ? apr_pstrdup(p, ctype) : NULL;
    *want_data = 1;
    return APR_SUCCESS;
}

static apr_status_t part_data(void *baton, const char *data, apr_size_t len)
{
    upload_t *up = baton;

    if (up->in_option) {
        if (up->option_len + len > OPTION_MAX) {
            fail(up, HTTP_BAD_REQUEST, apr_pstrcat(up->req->r->pool, "the "
                 "form field ", up->in_option, " is too long", NULL));
            return APR_EINVAL;
        }
        memcpy(up->option + up->option_len, data, len);
        up->option_len += len;
        return APR_SUCCESS;
    }
    return up->in_file ? store_file_data(up, data, len) : APR_SUCCESS;
}

static apr_status_t part_end(void *baton)
{
    upload_t *up = baton;

    if (up->in_option) {
        apr_table_setn(up->options, up->in_option, apr_pstrmemdup(
                           up->req->r->pool, up->option, up->option_len));
        up->in_option = NULL;
    }
    up->in_file = 0;
    return APR_SUCCESS;
}

static const bulkio_mp_cb_t mp_callbacks = { part_begin, part_data, part_end };

/* application/json: an object is a URL request kept in memory (bounded),
 * anything else is a JSON array file streamed to the spool. */
static int consume_json(upload_t *up, const char *data, apr_size_t len)
{
    apr_size_t i;

    if (up->mode == BODY_JSON) {
        for (i = 0; i < len && apr_isspace(data[i]); ++i) {
        }
        if (i < len) {
            up->mode = data[i] == '{' ? BODY_URL : BODY_RAW;
        }
        if (up->mode == BODY_RAW) {
            if (store_file_data(up, up->json, up->json_len) != APR_SUCCESS) {
                return up->status;
            }
            return store_file_data(up, data, len) == APR_SUCCESS
                   ? OK : up->status;
        }
    }
    if (up->json_len + len > URL_BODY_MAX) {
        return fail(up, HTTP_REQUEST_ENTITY_TOO_LARGE,
                    "a JSON request body (not a file) is limited to 64 KiB");
    }
    memcpy(up->json + up->json_len, data, len);
    up->json_len += len;
    return OK;
}

static int consume(upload_t *up, const char *data, apr_size_t len)
{
    apr_status_t rv;

    switch (up->mode) {
    case BODY_MULTIPART:
        rv = bulkio_mp_feed(up->mp, data, len);
        if (rv != APR_SUCCESS && !up->status) {
            fail(up, HTTP_BAD_REQUEST, "the multipart/form-data body is "
                 "malformed");
        }
        return rv == APR_SUCCESS ? OK : up->status;
    case BODY_JSON:
    case BODY_URL:
        return consume_json(up, data, len);
    default:
        return store_file_data(up, data, len) == APR_SUCCESS
               ? OK : up->status;
    }
}

/* The connection to renew the Idempotency-Key on: the request's, unless
 * the spool holds a transaction open on it (the database spool), in
 * which a renewal would stay unseen (and lock the key's row). */
static PGconn *renew_conn(upload_t *up)
{
    if (PQtransactionStatus(up->conn) == PQTRANS_IDLE) {
        return up->conn;
    }
    if (!up->renew) {
        bulkio_pq_clone(up->req->r->pool, up->conn, &up->renew);
    }
    return up->renew;
}

/* Stream the request body through consume(); memory stays flat. */
static int receive_body(upload_t *up)
{
    request_rec *r = up->req->r;
    apr_bucket_brigade *bb;
    apr_bucket *b;
    apr_time_t renew_at = apr_time_now() + MOD_BULKIO_IDEM_RENEW;
    const char *data;
    apr_size_t len;
    apr_status_t rv;
    int seen_eos = 0;

    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    do {
        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, READ_CHUNK);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, BULKIO_LOGNO(11)
                          "upload aborted after %" APR_OFF_T_FMT " bytes",
                          up->received);
            return fail(up, ap_map_http_request_error(rv, HTTP_BAD_REQUEST),
                        "the request body could not be read completely");
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            if ((rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ))
                != APR_SUCCESS) {
                return fail(up, HTTP_BAD_REQUEST,
                            "the request body could not be read");
            }
            up->received += (apr_off_t)len;
            if (up->received > up->req->cfg->max_upload) {
                return fail(up, HTTP_REQUEST_ENTITY_TOO_LARGE, apr_psprintf(
                            r->pool, "the upload exceeds the limit of %"
                            APR_OFF_T_FMT " bytes", up->req->cfg->max_upload));
            }
            if (consume(up, data, len) != OK) {
                return up->status;
            }
        }
        apr_brigade_cleanup(bb);
        if (up->idem && apr_time_now() > renew_at) {
            if (renew_conn(up)) {
                bulkio_store_idem_renew(r->pool, renew_conn(up), up->idem,
                                        MOD_BULKIO_IDEM_LEASE);
            }
            renew_at = apr_time_now() + MOD_BULKIO_IDEM_RENEW;
        }
    } while (!seen_eos);
    apr_brigade_destroy(bb);
    return OK;
}

/* The URL of a {"url": "..."} body, or NULL with up->status set. */
static const char *parse_url_request(upload_t *up)
{
    apr_pool_t *p = up->req->r->pool;
    json_tokener *tok = json_tokener_new();
    json_object *doc, *v;
    const char *url = NULL;
    apr_uri_t uri;
    int ok;

    doc = json_tokener_parse_ex(tok, up->json, (int)up->json_len);
    ok = doc && json_tokener_get_error(tok) == json_tokener_success
         && tok->char_offset == (int)up->json_len;
    json_tokener_free(tok);
    if (!ok || !json_object_object_get_ex(doc, "url", &v)
        || !json_object_is_type(v, json_type_string)) {
        fail(up, HTTP_BAD_REQUEST, "a JSON object body must be "
             "{\"url\": \"https://...\"}; send files as a JSON array");
    }
    else if (json_object_get_string_len(v) > URL_MAX) {
        fail(up, HTTP_BAD_REQUEST, "the URL is longer than 2048 characters");
    }
    else if (strlen(json_object_get_string(v))
                 != (apr_size_t)json_object_get_string_len(v)
             || apr_uri_parse(p, json_object_get_string(v), &uri) != APR_SUCCESS
             || !uri.scheme || !uri.hostname || !*uri.hostname
             || (strcasecmp(uri.scheme, "http")
                 && strcasecmp(uri.scheme, "https"))) {
        fail(up, HTTP_BAD_REQUEST, "the URL must be an absolute http or "
             "https URL");
    }
    else {
        url = apr_pstrdup(p, json_object_get_string(v));
        url_options(up, doc);
    }
    json_object_put(doc);
    return url;
}

/* Decide the upload's format: the parameter, the (part's) media type, the
 * file name, the content. */
static bulkio_format_e resolve_format(upload_t *up, bulkio_format_e param)
{
    bulkio_format_e fmt = param;
    const unsigned char *head;
    apr_size_t len;

    if (!fmt) {
        bulkio_format_from_type(up->file_type, &fmt);
    }
    if (!fmt) {
        fmt = bulkio_format_from_filename(up->filename);
    }
    if (!fmt) {
        head = bulkio_spool_head(up->spool, &len);
        fmt = bulkio_format_sniff_head(head, len);
    }
    return fmt;
}

/* Check the request line and headers, and set up the body's reader.
 * @return OK or an error status (up->detail says why) */
static int check_request(upload_t *up, const char **presource,
                         bulkio_format_e *pformat)
{
    request_rec *r = up->req->r;
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    const char *clen = apr_table_get(r->headers_in, "Content-Length");
    const char *resource, *format, *boundary;
    apr_table_t *args;
    apr_off_t len;
    bulkio_format_e fmt;
    char *end;

    ap_args_to_table(r, &args);
    resource = apr_table_get(args, "resource");
    format = apr_table_get(args, "format");
    up->options = apr_table_make(r->pool, 4);
    *pformat = BULKIO_FMT_UNKNOWN;
    if (!apr_table_do(query_options, up, args, NULL)) {
        return up->status;
    }
    if (!bulkio_is_resource(resource)) {
        return fail(up, HTTP_BAD_REQUEST, resource
                    ? "unknown resource; allowed: users, articles, comments"
                    : "the resource parameter is required "
                      "(users, articles or comments)");
    }
    *pformat = bulkio_format_from_name(format);
    if (format && !*pformat) {
        return fail(up, HTTP_BAD_REQUEST,
                    "unknown format; allowed: ndjson, json, csv");
    }
    *presource = resource;
    if (clen) {
        if (apr_strtoff(&len, clen, &end, 10) != APR_SUCCESS || *end
            || len < 0) {
            return fail(up, HTTP_BAD_REQUEST, "invalid Content-Length");
        }
        if (len > up->req->cfg->max_upload) {
            return fail(up, HTTP_REQUEST_ENTITY_TOO_LARGE, apr_psprintf(
                        r->pool, "the upload exceeds the limit of %"
                        APR_OFF_T_FMT " bytes", up->req->cfg->max_upload));
        }
    }
    else if (!r->read_chunked && !apr_table_get(r->headers_in,
                                                "Transfer-Encoding")) {
        return fail(up, HTTP_BAD_REQUEST, "no file: the request has no body");
    }
    if (ctype && !strncasecmp(ctype, "multipart/", 10)) {
        if (bulkio_mp_boundary(r->pool, ctype, &boundary) != APR_SUCCESS) {
            return fail(up, HTTP_BAD_REQUEST, "multipart/form-data needs a "
                        "valid boundary parameter");
        }
        up->mode = BODY_MULTIPART;
        up->mp = bulkio_mp_create(r->pool, boundary, &mp_callbacks, up);
        return OK;
    }
    if (bulkio_format_from_type(ctype, &fmt) == BULKIO_CT_UNSUPPORTED) {
        return fail(up, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported "
                    "Content-Type; send multipart/form-data, "
                    "application/x-ndjson, application/json or text/csv");
    }
    up->file_type = ctype;
    up->file_parts = 1;
    if (fmt == BULKIO_FMT_JSON) {
        up->mode = BODY_JSON;
        up->json = apr_palloc(r->pool, URL_BODY_MAX);
    }
    return OK;
}

/* Receive the upload into the spool and describe the job it makes.
 * @return OK, or an error status (up->detail says why) */
static int receive_import(upload_t *up, bulkio_new_job_t *job,
                          const char **pfingerprint)
{
    request_rec *r = up->req->r;
    unsigned char digest[BULKIO_SHA256_LEN];
    bulkio_format_e fmt, part_fmt;
    const char *source;
    apr_status_t rv;

    if (check_request(up, &job->resource, &fmt) != OK) {
        return up->status;
    }
    if ((rv = bulkio_spool_begin(&up->spool, r->pool, &up->req->cfg->spool,
                                 up->conn, 0)) != APR_SUCCESS) {
        return spool_failed(up, rv);
    }
    if (receive_body(up) != OK) {
        return up->status;
    }
    if ((rv = bulkio_spool_close(up->spool, digest)) != APR_SUCCESS) {
        return spool_failed(up, rv);
    }
    if (up->mode == BODY_MULTIPART) {
        if (bulkio_mp_finish(up->mp) != APR_SUCCESS) {
            return fail(up, HTTP_BAD_REQUEST, "the multipart/form-data body "
                        "ends before its closing boundary");
        }
        if (!up->file_parts) {
            return fail(up, HTTP_BAD_REQUEST, "no file: send it as the part "
                        "\"file\" of a multipart/form-data body");
        }
        if (bulkio_format_from_type(up->file_type, &part_fmt)
            == BULKIO_CT_UNSUPPORTED) {
            return fail(up, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported "
                        "Content-Type of the part \"file\"");
        }
    }
    if (up->mode == BODY_URL) {
        if (!(job->source_url = parse_url_request(up))) {
            return up->status;
        }
        source = apr_pstrcat(r->pool, "url:", job->source_url, NULL);
    }
    else {
        if (!bulkio_spool_size(up->spool)) {
            return fail(up, HTTP_BAD_REQUEST, "no file: the upload is empty");
        }
        if (!(fmt = resolve_format(up, fmt))) {
            return fail(up, HTTP_BAD_REQUEST, "cannot tell the file's "
                        "format; give format=ndjson, json or csv");
        }
        job->bytes_total = bulkio_spool_size(up->spool);
        source = apr_pstrcat(r->pool, "sha256:",
                             bulkio_hex(r->pool, digest, sizeof(digest)),
                             NULL);
    }
    if (check_options(up, job) != OK) {
        return up->status;
    }
    job->format = bulkio_format_name(fmt);
    /* what makes two uploads "the same request" for Idempotency-Key: the
     * file, and how it is to be written */
    *pfingerprint = bulkio_sha256_hex(r->pool, apr_pstrcat(
                        r->pool, "import\n", job->resource, "\n",
                        job->format ? job->format : "", "\n", source,
                        "\nmode=", job->mode, "\nmax_errors=",
                        job->max_errors ? job->max_errors : "", NULL));
    return OK;
}

static int receive(mod_bulkio_req_t *req, void *baton, PGconn *conn,
                   const bulkio_idem_t *claimed, const char **pfp,
                   const char **pdetail)
{
    upload_t *up = baton;
    int rc;

    up->req = req;
    up->conn = conn;
    up->idem = claimed;
    rc = receive_import(up, &up->job, pfp);
    if (rc != OK && up->spool) {
        /* now: the request's connection serves the key's release next */
        bulkio_spool_discard(up->spool);
    }
    *pdetail = up->detail;
    return rc;
}

/* Keep the upload under the job's name. */
static int prepare(mod_bulkio_req_t *req, void *baton, const char *job_id,
                   bulkio_new_job_t **pjob, const char **pdetail)
{
    upload_t *up = baton;
    apr_status_t rv;
    int rc;

    if (!up->job.source_url) {
        rv = bulkio_spool_keep(up->spool, apr_pstrcat(req->r->pool, "import-",
                                                      job_id, NULL));
        if (rv != APR_SUCCESS) {
            bulkio_spool_discard(up->spool);
            rc = spool_failed(up, rv);
            *pdetail = up->detail;
            return rc;
        }
        up->job.source_path = bulkio_spool_path(up->spool);
    }
    else {
        /* the worker downloads the file: nothing to keep */
        bulkio_spool_discard(up->spool);
    }
    *pjob = &up->job;
    return OK;
}

/* The job was not created: its upload goes, unless the job may exist. */
static void discard(void *baton, int maybe_created)
{
    upload_t *up = baton;

    if (up->job.source_path && !maybe_created) {
        bulkio_spool_discard(up->spool);
    }
}

const mod_bulkio_poster_t mod_bulkio_imports = {
    "import", sizeof(upload_t), receive, prepare, discard
};

/* Answer with the status document of a job, or 404. */
static int send_job(mod_bulkio_req_t *req, PGconn *conn, const char *job_id,
                    int status)
{
    request_rec *r = req->r;
    apr_array_header_t *errors;
    bulkio_job_t *j;
    json_object *doc;
    apr_status_t rv;

    if (mod_bulkio_job_get(req, conn, "import", job_id, &j) != OK) {
        return OK;
    }
    rv = bulkio_store_errors_head(r->pool, conn, j->id, ERRORS_IN_STATUS,
                                  &errors);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(16)
                      "cannot read the errors of job %s: %s", job_id,
                      bulkio_pq_error(r->pool, conn));
        return mod_bulkio_db_unavailable(r);
    }
    doc = mod_bulkio_jobdoc(r->pool, j, req->base, errors);
    return mod_bulkio_send_json(r, status, doc);
}

int mod_bulkio_imports_get(mod_bulkio_req_t *req)
{
    const char *job_id = req->id;
    PGconn *conn = mod_bulkio_job_conn(req, job_id);

    return conn ? send_job(req, conn, job_id, HTTP_OK) : OK;
}

int mod_bulkio_imports_delete(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    const char *job_id = req->id;
    PGconn *conn = mod_bulkio_job_conn(req, job_id);
    const char *status;
    apr_status_t rv;

    if (!conn) {
        return OK;
    }
    rv = bulkio_store_cancel(r->pool, conn, "import", req->principal, job_id,
                             &status);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such job");
    }
    if (rv != APR_SUCCESS) {
        return mod_bulkio_db_unavailable(r);
    }
    if (!strcmp(status, "completed") || !strcmp(status, "failed")) {
        return mod_bulkio_problem(r, HTTP_CONFLICT, apr_pstrcat(
                                  r->pool, "the job has already ", status,
                                  NULL));
    }
    if (!strcmp(status, "canceled")) {
        /* canceled before it ran: its upload is needed no more (a running
         * job's worker removes it when it stops) */
        char *id = apr_pstrdup(r->pool, job_id);

        ap_str_tolower(id);
        apr_file_remove(apr_pstrcat(r->pool, req->cfg->spool_dir, "/import-",
                                    id, NULL), r->pool);
    }
    /* a running job stops at its next batch boundary */
    return send_job(req, conn, job_id, strcmp(status, "running")
                                       ? HTTP_OK : HTTP_ACCEPTED);
}

static void error_ndjson(void *baton, const PGresult *res, int i,
                         bulkio_buf_t *out)
{
    bulkio_rec_error_t e;
    json_object *o;
    const char *text;

    (void)baton;
    bulkio_store_error_at(res, i, &e);
    o = mod_bulkio_jobdoc_error(&e);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
                                          | JSON_C_TO_STRING_NOSLASHESCAPE);
    bulkio_buf_add(out, text, strlen(text));
    bulkio_buf_addc(out, '\n');
    json_object_put(o);
}

static void error_csv(void *baton, const PGresult *res, int i,
                      bulkio_buf_t *out)
{
    bulkio_rec_error_t e;
    char num[64];

    (void)baton;
    bulkio_store_error_at(res, i, &e);
    apr_snprintf(num, sizeof(num), "%" APR_INT64_T_FMT ",%" APR_INT64_T_FMT
                 ",", e.record_index, e.line);
    bulkio_buf_add(out, num, strlen(num));
    bulkio_csv_field_safe(out, e.field);
    bulkio_buf_addc(out, ',');
    bulkio_csv_field_safe(out, e.error_type);
    bulkio_buf_addc(out, ',');
    bulkio_csv_field_safe(out, e.message);
    bulkio_buf_addc(out, ',');
    bulkio_csv_field_safe(out, e.record_data);
    bulkio_buf_add(out, "\r\n", 2);
}

int mod_bulkio_imports_errors(mod_bulkio_req_t *req)
{
    static const bulkio_frame_t ndjson = { "", "", "" };
    static const bulkio_frame_t csv = {
        "recordIndex,line,field,errorType,errorMessage,recordData\r\n", "", ""
    };
    request_rec *r = req->r;
    const char *job_id = req->id;
    PGconn *conn = mod_bulkio_job_conn(req, job_id);
    const char *format;
    apr_table_t *args;
    bulkio_job_t *j;
    int is_csv;

    if (!conn) {
        return OK;
    }
    ap_args_to_table(r, &args);
    format = apr_table_get(args, "format");
    if (format && strcmp(format, "ndjson") && strcmp(format, "csv")) {
        return mod_bulkio_problem(r, HTTP_BAD_REQUEST,
                                  "unknown format; allowed: ndjson, csv");
    }
    is_csv = format && !strcmp(format, "csv");
    if (mod_bulkio_job_get(req, conn, "import", job_id, &j) != OK) {
        return OK;
    }
    ap_set_content_type(r, is_csv ? "text/csv; charset=utf-8"
                                  : "application/x-ndjson");
    apr_table_setn(r->headers_out, "Content-Disposition", apr_psprintf(
                   r->pool, "attachment; filename=\"import-%s-errors.%s\"",
                   j->job_id, is_csv ? "csv" : "ndjson"));
    if (r->header_only) {
        return OK;
    }
    return mod_bulkio_stream(r, conn,
                             bulkio_store_errors_send(r->pool, conn, j->id),
                             is_csv ? &csv : &ndjson,
                             is_csv ? error_csv : error_ndjson, NULL);
}
