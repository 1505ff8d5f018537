/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_STREAM_H
#define MOD_BULKIO_STREAM_H

#include <httpd.h>
#include <libpq-fe.h>

#include "bulkio_util.h"

/** Append row i of res to out, encoded. */
typedef void mod_bulkio_row_fn(void *baton, const PGresult *res, int i,
                               bulkio_buf_t *out);

/** How a stream is framed: text before the first row, between rows and
 * after the last. */
typedef struct {
    const char *head;
    const char *sep;
    const char *tail;
} mod_bulkio_frame_t;

/**
 * Stream the rows of query sql to the client as the database sends them
 * (libpq's single-row mode), encoded into chunks in a subpool and passed
 * down the filter chain. A client that goes away cancels the query at
 * once.
 * Content-Type and other headers are the caller's.
 * @return OK, or an HTTP status when nothing could be sent
 */
int mod_bulkio_stream(request_rec *r, PGconn *conn, const char *sql,
                      int nparams, const char *const *params,
                      const mod_bulkio_frame_t *frame,
                      mod_bulkio_row_fn *row, void *baton);

#endif /* MOD_BULKIO_STREAM_H */
