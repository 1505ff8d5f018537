/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_buckets.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "bulkio_store.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_stream.h"

#define CHUNK_HINT  (128 * 1024)

/* Pass buf down and empty it. */
static apr_status_t pass(request_rec *r, apr_bucket_brigade *bb,
                         bulkio_buf_t *buf, int flush)
{
    apr_status_t rv;

    if (buf->len) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_heap_create(
            buf->data, buf->len, NULL, r->connection->bucket_alloc));
    }
    if (flush) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(
            r->connection->bucket_alloc));
    }
    rv = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    buf->len = 0;
    return rv;
}

/* Stop the query conn runs and read what is left of it, so that the
 * connection goes back to the pool idle. */
static void cancel_query(PGconn *conn)
{
    PGcancel *cancel = PQgetCancel(conn);
    PGresult *res;
    char err[256];

    if (cancel) {
        PQcancel(cancel, err, sizeof(err));
        PQfreeCancel(cancel);
    }
    while ((res = PQgetResult(conn))) {
        PQclear(res);
    }
}

int mod_bulkio_stream(request_rec *r, PGconn *conn, const char *sql,
                      int nparams, const char *const *params,
                      const mod_bulkio_frame_t *frame,
                      mod_bulkio_row_fn *row, void *baton)
{
    apr_bucket_brigade *bb;
    apr_pool_t *chunk;
    bulkio_buf_t buf;
    PGresult *res;
    apr_status_t rv;
    int done = 0, first = 1;

    /* single-row mode: the server sends rows as it finds them, and works
     * on the next ones while this thread encodes */
    if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
        || !PQsetSingleRowMode(conn)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r, BULKIO_LOGNO(40)
                      "cannot start the query: %s",
                      bulkio_pq_error(r->pool, conn));
        cancel_query(conn);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_pool_create(&chunk, r->pool);
    bulkio_buf_init(&buf, chunk, CHUNK_HINT);
    bulkio_buf_add(&buf, frame->head, strlen(frame->head));
    /* the first bytes go out before the query has run to its end */
    rv = pass(r, bb, &buf, 1);
    while (rv == APR_SUCCESS && !done && !r->connection->aborted) {
        res = PQgetResult(conn);
        switch (res ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
        case PGRES_SINGLE_TUPLE:
            if (!first) {
                bulkio_buf_add(&buf, frame->sep, strlen(frame->sep));
            }
            first = 0;
            row(baton, res, 0, &buf);
            break;
        case PGRES_TUPLES_OK:
            bulkio_buf_add(&buf, frame->tail, strlen(frame->tail));
            done = 1;
            break;
        default:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r,
                          BULKIO_LOGNO(41) "streaming stopped: %s",
                          bulkio_pq_error(r->pool, conn));
            rv = APR_EGENERAL;
            break;
        }
        PQclear(res);
        if (rv == APR_SUCCESS && (done || buf.len >= CHUNK_HINT)) {
            rv = pass(r, bb, &buf, 0);
            apr_pool_clear(chunk);
            bulkio_buf_init(&buf, chunk, CHUNK_HINT);
        }
    }
    apr_pool_destroy(chunk);
    if (!done) {
        cancel_query(conn);
    }
    while ((res = PQgetResult(conn))) {
        PQclear(res);
    }
    if (rv != APR_SUCCESS || r->connection->aborted) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, BULKIO_LOGNO(42)
                      "stream ended early (client gone or database error)");
        r->connection->aborted = 1;
    }
    return OK;
}
