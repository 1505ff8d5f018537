/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_METRICS_H
#define BULKIO_METRICS_H

#include <apr_pools.h>

#include "bulkio_store_metrics.h"
#include "bulkio_store_replica.h"
#include "bulkio_util.h"

/*
 * The Prometheus text exposition format (version 0.0.4) of the figures
 * bulkio_store_metrics() reads: no httpd, no database.
 */

/** The media type of the output. */
#define BULKIO_METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/** Upper bounds in seconds of the job duration histogram's buckets. */
extern const double bulkio_metrics_buckets[];

/** How many bounds bulkio_metrics_buckets holds (+Inf is implied). */
extern const int bulkio_metrics_nbuckets;

/** A label value as the exposition format wants it: backslash, double
 * quote and line feed escaped. */
const char *bulkio_prom_label(apr_pool_t *p, const char *value);

/** A HELP text with backslash and line feed escaped. */
const char *bulkio_prom_help(apr_pool_t *p, const char *text);

/** A sample value: the shortest decimal that reads back the same double,
 * or NaN, +Inf, -Inf. */
const char *bulkio_prom_double(apr_pool_t *p, double v);

/** Append m to out in the text exposition format: a HELP and a TYPE line
 * before each family's samples. */
void bulkio_metrics_render(bulkio_buf_t *out, const bulkio_metrics_t *m);

/** Append the export replica's state (BulkIOExportReplica) to out. */
void bulkio_metrics_render_replica(bulkio_buf_t *out,
                                   const bulkio_replica_state_t *st);

#endif /* BULKIO_METRICS_H */
