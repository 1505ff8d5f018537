/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_buckets.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "bulkio_pq.h"
#include "bulkio_util.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_stream.h"

/* One response being streamed. */
typedef struct {
    request_rec *r;
    apr_bucket_brigade *bb;
    int passed;                  /* chunks passed down so far */
    apr_status_t rv;             /* why the filter chain stopped it */
    bulkio_gzip_t *gz;           /* gzip-compressing, or NULL */
} stream_t;

static apr_status_t pass(void *baton, bulkio_buf_t *buf, apr_int64_t rows);

/* Compressed bytes, passed down as a chunk of their own. */
static apr_status_t pass_out(void *baton, const char *data, apr_size_t len)
{
    bulkio_buf_t out;

    memset(&out, 0, sizeof(out));
    out.data = (char *)data;
    out.len = len;
    return pass(baton, &out, 0);
}

/* A chunk to compress before it is passed down. */
static apr_status_t pass_gzip(void *baton, bulkio_buf_t *buf,
                              apr_int64_t rows)
{
    (void)rows;
    return bulkio_gzip_write(((stream_t *)baton)->gz, buf->data, buf->len,
                             0);
}

/* Pass a chunk down, the first (the head) flushed. Transient: what the
 * filters keep beyond the call they copy (set aside); the chunk's pool is
 * cleared after it. */
static apr_status_t pass(void *baton, bulkio_buf_t *buf, apr_int64_t rows)
{
    stream_t *st = baton;
    conn_rec *c = st->r->connection;

    (void)rows;
    if (buf->len) {
        APR_BRIGADE_INSERT_TAIL(st->bb, apr_bucket_transient_create(
            buf->data, buf->len, c->bucket_alloc));
    }
    if (!st->passed++) {
        APR_BRIGADE_INSERT_TAIL(st->bb, apr_bucket_flush_create(
            c->bucket_alloc));
    }
    st->rv = ap_pass_brigade(st->r->output_filters, st->bb);
    apr_brigade_cleanup(st->bb);
    if (st->rv == APR_SUCCESS && c->aborted) {
        st->rv = APR_ECONNABORTED;
    }
    return st->rv;
}

static int accepts_gzip(request_rec *r)
{
    const char *ae = apr_table_get(r->headers_in, "Accept-Encoding");
    char *copy, *tok, *state, *q;

    if (!ae) {
        return 0;
    }
    copy = apr_pstrdup(r->pool, ae);
    for (tok = apr_strtok(copy, ",", &state); tok;
         tok = apr_strtok(NULL, ",", &state)) {
        while (apr_isspace(*tok)) {
            ++tok;
        }
        if (strncasecmp(tok, "gzip", 4) && strncasecmp(tok, "x-gzip", 6)) {
            continue;
        }
        tok += apr_tolower(*tok) == 'x' ? 6 : 4;
        while (apr_isspace(*tok)) {
            ++tok;
        }
        if (!*tok) {
            return 1;
        }
        if (*tok != ';') {
            continue;
        }
        q = strstr(tok, "q=");
        return !q || strtod(q + 2, NULL) > 0.0;
    }
    return 0;
}

static int stream(request_rec *r, PGconn *conn, apr_status_t sent,
                  const bulkio_frame_t *frame, bulkio_row_fn *row,
                  void *baton, int gzip)
{
    stream_t st;
    apr_status_t rv = sent;

    memset(&st, 0, sizeof(st));
    st.r = r;
    st.bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    st.rv = APR_SUCCESS;
    if (gzip && bulkio_gzip_open(r->pool, pass_out, &st, &st.gz)
                != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_export_rows(r->pool, conn, frame, row, baton,
                                gzip ? pass_gzip : pass, &st);
    }
    if (rv == APR_SUCCESS && gzip) {
        rv = bulkio_gzip_write(st.gz, "", 0, 1);
    }
    if (rv == APR_SUCCESS) {
        return OK;
    }
    if (!st.passed) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(60)
                      "cannot start the query: %s",
                      bulkio_pq_error(r->pool, conn));
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (st.rv == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(61)
                      "streaming stopped: %s", bulkio_pq_error(r->pool, conn));
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, BULKIO_LOGNO(62)
                  "stream ended early (client gone or database error)");
    r->connection->aborted = 1;
    return OK;
}

int mod_bulkio_stream(request_rec *r, PGconn *conn, apr_status_t sent,
                      const bulkio_frame_t *frame,
                      bulkio_row_fn *row, void *baton)
{
    return stream(r, conn, sent, frame, row, baton, 0);
}

int mod_bulkio_stream_negotiate(request_rec *r)
{
    int gzip = accepts_gzip(r);

    apr_table_mergen(r->headers_out, "Vary", "Accept-Encoding");
    if (gzip) {
        apr_table_setn(r->headers_out, "Content-Encoding", "gzip");
        /* mod_deflate, where configured, leaves it as it is */
        apr_table_setn(r->subprocess_env, "no-gzip", "1");
    }
    return gzip;
}

int mod_bulkio_stream_gzip(request_rec *r, PGconn *conn, apr_status_t sent,
                           const bulkio_frame_t *frame, bulkio_row_fn *row,
                           void *baton)
{
    return stream(r, conn, sent, frame, row, baton, 1);
}
