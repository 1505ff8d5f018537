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
#include "bulkio_validate.h"
#include "bulkio_webhook.h"
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
#define OPTION_MAX        4096   /* a form field's value (columns,
                                   * callback_url) */

/* The parameters POST /v1/imports knows; the options among them (from
 * mode on) may come as form fields or {"url"} members as well. */
static const char *const params_known[] = {
    "resource", "format", "mode", "max_errors", "dry_run", "atomic",
    "callback_url", "delimiter", "columns", "charset", NULL
};
#define FIRST_OPTION 2

/* An upload's file name is kept up to this many bytes. */
#define SOURCE_NAME_MAX 255

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
    int tsv;                   /* format=tsv, or a TSV type or name */
    apr_off_t received;        /* request body bytes */
    char *json;                /* a {"url"} body, up to URL_BODY_MAX */
    apr_size_t json_len;
    int status;                /* an error found while receiving */
    const char *detail;
    int query_delete;          /* the query says mode=delete */
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

/* The query's parameters (each one known): the options are kept. */
static int query_options(void *baton, const char *key, const char *value)
{
    upload_t *up = baton;

    if (option_index(key) >= 0) {
        apr_table_set(up->options, key, value);
    }
    return 1;
}

/* The options of a {"url"} body: its members other than url (strings, or
 * numbers as max_errors may be, booleans as dry_run and atomic, or an
 * object as columns may be, kept as its JSON text). */
static void url_options(upload_t *up, json_object *doc)
{
    json_object_object_foreach(doc, key, val) {
        if (option_index(key) >= 0 && val
            && (json_object_is_type(val, json_type_string)
                || json_object_is_type(val, json_type_int)
                || json_object_is_type(val, json_type_boolean)
                || (json_object_is_type(val, json_type_object)
                    && !strcmp(key, "columns")))) {
            apr_table_set(up->options, key, json_object_get_string(val));
        }
    }
}

/* A yes-or-no option: true or 1, false or 0 (any case; absent: no).
 * @return 1, 0, or -1 for another value */
static int flag_option(upload_t *up, const char *name)
{
    const char *v = apr_table_get(up->options, name);

    if (!v || !ap_cstr_casecmp(v, "false") || !strcmp(v, "0")) {
        return 0;
    }
    return !ap_cstr_casecmp(v, "true") || !strcmp(v, "1") ? 1 : -1;
}

/* The record field of a validated column (external_id is id). */
static const char *field_name(const char *col)
{
    return strcmp(col, "external_id") ? col : "id";
}

/* The CSV dialect options (delimiter, columns, charset) as the job's
 * parameters; fmt is the file's format (unknown for a URL import). */
static int check_dialect(upload_t *up, bulkio_new_job_t *job,
                         bulkio_format_e fmt)
{
    apr_pool_t *p = up->req->r->pool;
    const char *delimiter = apr_table_get(up->options, "delimiter");
    const char *columns = apr_table_get(up->options, "columns");
    const char *const *names;
    const char *err, *allowed = NULL;
    bulkio_dialect_t d;
    int i, k, n;

    if ((err = bulkio_dialect_parse(p, &d, delimiter, columns,
                                    apr_table_get(up->options, "charset")))) {
        return fail(up, HTTP_BAD_REQUEST, err);
    }
    if (up->tsv && d.delimiter && d.delimiter != '\t') {
        return fail(up, HTTP_BAD_REQUEST, "a TSV file's delimiter is a tab; "
                    "for another delimiter send format=csv");
    }
    if (up->tsv) {
        d.delimiter = '\t';
    }
    if ((d.delimiter || d.ncolumns) && fmt && fmt != BULKIO_FMT_CSV) {
        return fail(up, HTTP_BAD_REQUEST, "delimiter and columns apply to "
                    "CSV files only");
    }
    /* each mapping names a field of the resource */
    names = bulkio_validate_colnames((bulkio_resource_e)
                                     bulkio_resource_from_name(job->resource));
    n = bulkio_validate_ncols((bulkio_resource_e)
                              bulkio_resource_from_name(job->resource));
    for (i = 0; i < d.ncolumns; ++i) {
        for (k = 0; k < n && strcmp(d.to[i], field_name(names[k])); ++k) {
        }
        if (k < n) {
            continue;
        }
        for (k = 0; k < n; ++k) {
            allowed = apr_pstrcat(p, allowed ? allowed : "", allowed ? ", "
                                  : "", field_name(names[k]), NULL);
        }
        return fail(up, HTTP_BAD_REQUEST, apr_psprintf(
                    p, "columns: unknown field '%s' for %s; allowed: %s",
                    d.to[i], job->resource, allowed));
    }
    job->params = bulkio_dialect_json(p, &d);
    return OK;
}

/* Check the options once the body is read; set the job's. */
static int check_options(upload_t *up, bulkio_new_job_t *job,
                         bulkio_format_e fmt)
{
    const char *mode = apr_table_get(up->options, "mode");
    const char *max = apr_table_get(up->options, "max_errors");
    const char *missing;
    const char *detail;
    apr_int64_t n;
    char *end;
    int rc;

    if (bulkio_mode_from_name(mode) < 0) {
        return fail(up, HTTP_BAD_REQUEST,
                    "unknown mode; allowed: " BULKIO_MODE_NAMES);
    }
    if (bulkio_mode_from_name(mode) == BULKIO_MODE_DELETE) {
        if ((missing = mod_bulkio_missing_scope(up->req, "bulkio:delete"))) {
            return fail(up, HTTP_FORBIDDEN, missing);
        }
        /* httpd's Require (BulkIOAuth httpd) sees the query, not the
         * body: a delete must show there */
        if (up->req->cfg->require_scopes && !up->query_delete
            && up->req->cfg->auth == MOD_BULKIO_AUTH_HTTPD) {
            return fail(up, HTTP_FORBIDDEN, "with BulkIOAuth httpd and "
                        "BulkIORequireScopes on, give mode=delete in the "
                        "query, where httpd's Require sees it");
        }
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
    job->dry_run = flag_option(up, "dry_run");
    job->atomic = flag_option(up, "atomic");
    if (job->dry_run < 0 || job->atomic < 0) {
        return fail(up, HTTP_BAD_REQUEST, apr_pstrcat(up->req->r->pool,
                    job->dry_run < 0 ? "dry_run" : "atomic",
                    " must be true or false", NULL));
    }
    if (job->atomic && !job->max_errors) {
        job->max_errors = "0";     /* atomic: no failed record by default */
    }
    if ((rc = mod_bulkio_callback_url(up->req, apr_table_get(up->options,
                                                            "callback_url"),
                                      &job->callback_url, &detail)) != OK) {
        return fail(up, rc, detail);
    }
    job->callback_base = up->req->base;
    return check_dialect(up, job, fmt);
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
    const char *resource, *format, *boundary, *missing, *unknown;
    apr_table_t *args;
    apr_off_t len;
    bulkio_format_e fmt;
    char *end;

    ap_args_to_table(r, &args);
    resource = apr_table_get(args, "resource");
    format = apr_table_get(args, "format");
    up->options = apr_table_make(r->pool, 4);
    *pformat = BULKIO_FMT_UNKNOWN;
    if ((unknown = bulkio_args_unknown(r->pool, args, params_known))) {
        return fail(up, HTTP_BAD_REQUEST, unknown);
    }
    apr_table_do(query_options, up, args, NULL);
    up->query_delete = bulkio_mode_from_name(apr_table_get(
                           up->options, "mode")) == BULKIO_MODE_DELETE;
    if (up->query_delete && (missing = mod_bulkio_missing_scope(
                                 up->req, "bulkio:delete"))) {
        /* before the body is read */
        return fail(up, HTTP_FORBIDDEN, missing);
    }
    if (!bulkio_is_resource(resource)) {
        return fail(up, HTTP_BAD_REQUEST, resource
                    ? "unknown resource; allowed: users, articles, comments"
                    : "the resource parameter is required "
                      "(users, articles or comments)");
    }
    *pformat = bulkio_format_from_name(format);
    if (format && !strcasecmp(format, "tsv")) {
        *pformat = BULKIO_FMT_CSV;      /* CSV with tabs */
        up->tsv = 1;
    }
    if (format && !*pformat) {
        return fail(up, HTTP_BAD_REQUEST,
                    "unknown format; allowed: ndjson, json, csv, tsv");
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
                    "application/x-ndjson, application/json, text/csv or "
                    "text/tab-separated-values");
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
                                 up->conn, BULKIO_SPOOL_PACK))
        != APR_SUCCESS) {
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
        if (!fmt && bulkio_format_is_tsv(up->file_type, up->filename)) {
            up->tsv = 1;
        }
        if (!(fmt = resolve_format(up, fmt))) {
            return fail(up, HTTP_BAD_REQUEST, "cannot tell the file's "
                        "format; give format=ndjson, json, csv or tsv");
        }
        job->bytes_total = bulkio_spool_size(up->spool);
        if (up->filename && *up->filename) {
            job->source_name = bulkio_text_clean(r->pool, up->filename,
                                                 SOURCE_NAME_MAX);
        }
        source = apr_pstrcat(r->pool, "sha256:",
                             bulkio_hex(r->pool, digest, sizeof(digest)),
                             NULL);
    }
    if (check_options(up, job, fmt) != OK) {
        return up->status;
    }
    job->format = bulkio_format_name(fmt);
    /* what makes two uploads "the same request" for Idempotency-Key: the
     * file, and how it is to be written */
    *pfingerprint = bulkio_sha256_hex(r->pool, apr_pstrcat(
                        r->pool, "import\n", job->resource, "\n",
                        job->format ? job->format : "", "\n", source,
                        "\nmode=", job->mode, "\nmax_errors=",
                        job->max_errors ? job->max_errors : "",
                        "\ndry_run=", job->dry_run ? "true" : "false",
                        "\natomic=", job->atomic ? "true" : "false",
                        "\ncallback_url=",
                        job->callback_url ? job->callback_url : "",
                        "\ndialect=", job->params ? job->params : "", NULL));
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
    /* the caps on its error entries and whether it keeps results: this
     * server's, as it is created */
    up->job.max_error_rows = apr_psprintf(req->r->pool, "%" APR_INT64_T_FMT,
                                          req->cfg->max_error_rows);
    up->job.max_error_bytes = apr_off_t_toa(req->r->pool,
                                            req->cfg->max_error_bytes);
    up->job.results = req->cfg->import_results;
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
    PGconn *conn = mod_bulkio_job_conn(req, req->id);
    const char *status;

    if (!conn || mod_bulkio_cancel_job(req, conn, "import", &status) != OK) {
        return OK;
    }
    /* a running job stops at its next batch boundary */
    return send_job(req, conn, req->id, strcmp(status, "running")
                                        ? HTTP_OK : HTTP_ACCEPTED);
}

/* Append record error e as an NDJSON line. */
static void ndjson_entry(const bulkio_rec_error_t *e, bulkio_buf_t *out)
{
    json_object *o = mod_bulkio_jobdoc_error(e);
    const char *text;

    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
                                          | JSON_C_TO_STRING_NOSLASHESCAPE);
    bulkio_buf_add(out, text, strlen(text));
    bulkio_buf_addc(out, '\n');
    json_object_put(o);
}

/* Append record error e as a CSV row (cells safe in a spreadsheet). */
static void csv_entry(const bulkio_rec_error_t *e, bulkio_buf_t *out)
{
    char num[64];

    apr_snprintf(num, sizeof(num), "%" APR_INT64_T_FMT ",%" APR_INT64_T_FMT
                 ",", e->record_index, e->line);
    bulkio_buf_add(out, num, strlen(num));
    bulkio_csv_field_safe(out, e->field);
    bulkio_buf_addc(out, ',');
    bulkio_csv_field_safe(out, e->error_type);
    bulkio_buf_addc(out, ',');
    bulkio_csv_field_safe(out, e->message);
    bulkio_buf_addc(out, ',');
    bulkio_csv_field_safe(out, e->record_data);
    bulkio_buf_add(out, "\r\n", 2);
}

/* How an error report writes an entry (the baton of error_row()). */
typedef struct {
    void (*entry)(const bulkio_rec_error_t *e, bulkio_buf_t *out);
} report_t;

static const report_t ndjson_report = { ndjson_entry };
static const report_t csv_report = { csv_entry };

/* Row i of the errors query, as an entry of the report baton. */
static void error_row(void *baton, const PGresult *res, int i,
                      bulkio_buf_t *out)
{
    const report_t *report = baton;
    bulkio_rec_error_t e;

    bulkio_store_error_at(res, i, &e);
    report->entry(&e, out);
}

int mod_bulkio_imports_errors(mod_bulkio_req_t *req)
{
    static const char csv_head[] =
        "recordIndex,line,field,errorType,errorMessage,recordData\r\n";
    request_rec *r = req->r;
    const char *job_id = req->id;
    PGconn *conn = mod_bulkio_job_conn(req, job_id);
    bulkio_frame_t frame = { "", "", "" };
    const report_t *report;
    bulkio_rec_error_t cut;
    bulkio_buf_t tail;
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
    if (is_csv) {
        frame.head = csv_head;
    }
    /* past the caps, the report ends with an entry that says so */
    report = is_csv ? &csv_report : &ndjson_report;
    if (mod_bulkio_jobdoc_truncated(r->pool, j, &cut)) {
        bulkio_buf_init(&tail, r->pool, 512);
        report->entry(&cut, &tail);
        frame.tail = apr_pstrmemdup(r->pool, tail.data, tail.len);
    }
    return mod_bulkio_stream(r, conn,
                             bulkio_store_errors_send(r->pool, conn, j->id),
                             &frame, error_row, (void *)report);
}
