/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_STREAM_H
#define MOD_BULKIO_STREAM_H

#include <httpd.h>
#include <libpq-fe.h>

#include "bulkio_export.h"

/**
 * Stream the rows of the query sent on conn in single-row mode to the
 * client as the database sends them (bulkio_export_rows()), in chunks
 * passed down the filter chain. A client that goes away cancels the query.
 * Content-Type and other headers are the caller's.
 * @param sent what the function that sent the query returned
 *        (bulkio_export_send(), bulkio_store_errors_send())
 * @return OK, or an HTTP status when nothing could be sent
 */
int mod_bulkio_stream(request_rec *r, PGconn *conn, apr_status_t sent,
                      const bulkio_frame_t *frame,
                      bulkio_row_fn *row, void *baton);

/** Whether the response is to be gzip-compressed: the request's
 * Accept-Encoding takes gzip (or x-gzip) with a q above 0; then sets
 * Content-Encoding: gzip. Vary: Accept-Encoding either way. */
int mod_bulkio_stream_negotiate(request_rec *r);

/** mod_bulkio_stream(), gzip-compressed as it goes (still in chunks,
 * memory flat). */
int mod_bulkio_stream_gzip(request_rec *r, PGconn *conn, apr_status_t sent,
                           const bulkio_frame_t *frame, bulkio_row_fn *row,
                           void *baton);

#endif /* MOD_BULKIO_STREAM_H */
