/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_EXPORT_H
#define BULKIO_EXPORT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "bulkio_format.h"
#include "bulkio_record.h"
#include "bulkio_util.h"

/*
 * What to export: resource, format, fields and filters, checked against
 * fixed allow-lists; the SELECT that produces the rows (parameterized,
 * ordered by internal id, values already formatted as text); the encoders
 * that turn its rows into NDJSON, a JSON array or CSV; and the loop that
 * streams a query's rows to a sink as the database sends them.
 */
typedef struct bulkio_export_t bulkio_export_t;

/** From the query arguments of GET /v1/exports (resource, format, fields
 * and the resource's filters, snake_case or camelCase).
 * @param perror on APR_EINVAL, what is wrong and what is allowed */
apr_status_t bulkio_export_from_args(apr_pool_t *p, const apr_table_t *args,
                                     bulkio_export_t **pexp,
                                     const char **perror);

/** From the body of POST /v1/exports: {"resource", "format", "filters":
 * {...}, "fields": [...]}.
 * @param perror on APR_EINVAL, what is wrong and what is allowed */
apr_status_t bulkio_export_from_json(apr_pool_t *p, json_object *body,
                                     bulkio_export_t **pexp,
                                     const char **perror);

/** The canonical JSON of the export's parameters (sorted, snake_case);
 * bulkio_export_from_json() reads it back to the same export. */
const char *bulkio_export_params_json(apr_pool_t *p,
                                      const bulkio_export_t *exp);

/** The export's format. */
bulkio_format_e bulkio_export_format(const bulkio_export_t *exp);

/** Whether an export job's file is written gzip-compressed
 * ("compression": "gzip" in its parameters). */
int bulkio_export_gzip(const bulkio_export_t *exp);

/** The export's resource. */
bulkio_resource_e bulkio_export_resource(const bulkio_export_t *exp);

/** The SELECT of the rows and its text parameters. */
const char *bulkio_export_sql(apr_pool_t *p, const bulkio_export_t *exp,
                              int *pnparams, const char *const **pparams);

/** Text before the first row (a CSV header, "[" for JSON). */
const char *bulkio_export_head(apr_pool_t *p, const bulkio_export_t *exp);

/** Text between two rows. */
const char *bulkio_export_sep(const bulkio_export_t *exp);

/** Text after the last row. */
const char *bulkio_export_tail(const bulkio_export_t *exp);

/** Append row i of res, a result of bulkio_export_sql()'s query, encoded. */
void bulkio_export_row(const bulkio_export_t *exp, const PGresult *res, int i,
                       bulkio_buf_t *out);

/** Append row i of res to out, encoded. */
typedef void bulkio_row_fn(void *baton, const PGresult *res, int i,
                           bulkio_buf_t *out);

/** Take the bytes in buf (emptied after the call; its pool is cleared then
 * too, so anything of the moment may go into it). rows: how many rows are
 * encoded so far, those in buf and before. Anything but APR_SUCCESS ends
 * the stream. */
typedef apr_status_t bulkio_sink_fn(void *baton, bulkio_buf_t *buf,
                                    apr_int64_t rows);

/** How rows are framed: text before the first row, between rows and after
 * the last. */
typedef struct {
    const char *head;
    const char *sep;
    const char *tail;
} bulkio_frame_t;

/** Send the export's SELECT on conn in single-row mode (bulkio_pq_send()),
 * for bulkio_export_rows().
 * @return APR_SUCCESS, or APR_EGENERAL with conn idle */
apr_status_t bulkio_export_send(apr_pool_t *p, PGconn *conn,
                                const bulkio_export_t *exp);

/**
 * Hand the rows of the query sent on conn in single-row mode
 * (bulkio_pq_send(), bulkio_export_send(), bulkio_store_errors_send()),
 * framed and encoded by row, to sink as the database sends them, so that
 * the server finds the next rows while this thread encodes. The head goes
 * to sink at once, then chunks of about 128 KiB built in a subpool of p,
 * the last one with the tail. On return conn is idle (a query ended early
 * is canceled).
 * @return APR_SUCCESS when every row went to sink, the status of sink when
 *         it ended the stream, else APR_EGENERAL: a database error
 *         (bulkio_pq_error() tells it)
 */
apr_status_t bulkio_export_rows(apr_pool_t *p, PGconn *conn,
                                const bulkio_frame_t *frame,
                                bulkio_row_fn *row, void *row_baton,
                                bulkio_sink_fn *sink, void *sink_baton);

/** Send query sql with its text parameters on conn and hand its rows to
 * sink: bulkio_pq_send(), then bulkio_export_rows(). */
apr_status_t bulkio_export_stream(apr_pool_t *p, PGconn *conn,
                                  const char *sql, int nparams,
                                  const char *const *params,
                                  const bulkio_frame_t *frame,
                                  bulkio_row_fn *row, void *row_baton,
                                  bulkio_sink_fn *sink, void *sink_baton);

/** The media type of the export's format. */
const char *bulkio_export_ctype(const bulkio_export_t *exp);

/** The file extension of the export's format. */
const char *bulkio_export_ext(const bulkio_export_t *exp);

#endif /* BULKIO_EXPORT_H */
