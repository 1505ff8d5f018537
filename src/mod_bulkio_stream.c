/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_buckets.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "bulkio_pq.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_stream.h"

/* One response being streamed. */
typedef struct {
    request_rec *r;
    apr_bucket_brigade *bb;
    int passed;                  /* chunks passed down so far */
    apr_status_t rv;             /* why the filter chain stopped it */
} stream_t;

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

int mod_bulkio_stream(request_rec *r, PGconn *conn, apr_status_t sent,
                      const bulkio_frame_t *frame,
                      bulkio_row_fn *row, void *baton)
{
    stream_t st;
    apr_status_t rv = sent;

    st.r = r;
    st.bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    st.passed = 0;
    st.rv = APR_SUCCESS;
    if (rv == APR_SUCCESS) {
        rv = bulkio_export_rows(r->pool, conn, frame, row, baton, pass, &st);
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
