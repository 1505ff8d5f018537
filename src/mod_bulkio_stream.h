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

#endif /* MOD_BULKIO_STREAM_H */
