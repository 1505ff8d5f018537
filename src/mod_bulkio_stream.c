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

#define FETCH_ROWS  "1000"
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
    int i, n, first = 1;

    if (bulkio_pq_exec(r->pool, conn, "BEGIN READ ONLY", 0, NULL, NULL)
        != APR_SUCCESS
        || bulkio_pq_exec(r->pool, conn, apr_pstrcat(
               r->pool, "DECLARE bulkio_stream NO SCROLL CURSOR FOR ", sql,
               NULL), nparams, params, NULL) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r, BULKIO_LOGNO(40)
                      "cannot open the cursor: %s",
                      bulkio_pq_error(r->pool, conn));
        PQclear(PQexec(conn, "ROLLBACK"));
        return HTTP_SERVICE_UNAVAILABLE;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_pool_create(&chunk, r->pool);
    bulkio_buf_init(&buf, chunk, CHUNK_HINT);
    bulkio_buf_add(&buf, frame->head, strlen(frame->head));
    /* the first bytes go out before the query has run to its end */
    rv = pass(r, bb, &buf, 1);
    while (rv == APR_SUCCESS && !r->connection->aborted) {
        apr_pool_clear(chunk);
        bulkio_buf_init(&buf, chunk, CHUNK_HINT);
        res = PQexec(conn, "FETCH " FETCH_ROWS " FROM bulkio_stream");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r,
                          BULKIO_LOGNO(41) "streaming stopped: %s",
                          bulkio_pq_error(r->pool, conn));
            PQclear(res);
            rv = APR_EGENERAL;
            break;
        }
        n = PQntuples(res);
        for (i = 0; i < n; ++i) {
            if (!first) {
                bulkio_buf_add(&buf, frame->sep, strlen(frame->sep));
            }
            first = 0;
            row(baton, res, i, &buf);
        }
        PQclear(res);
        if (!n) {
            bulkio_buf_add(&buf, frame->tail, strlen(frame->tail));
            rv = pass(r, bb, &buf, 0);
            break;
        }
        rv = pass(r, bb, &buf, 0);
    }
    PQclear(PQexec(conn, rv == APR_SUCCESS && !r->connection->aborted
                         ? "COMMIT" : "ROLLBACK"));
    apr_pool_destroy(chunk);
    if (rv != APR_SUCCESS || r->connection->aborted) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, BULKIO_LOGNO(42)
                      "stream ended early (client gone or database error)");
        r->connection->aborted = 1;
    }
    return OK;
}
