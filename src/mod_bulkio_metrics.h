/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_METRICS_H
#define MOD_BULKIO_METRICS_H

#include <httpd.h>

/** GET /v1/metrics: the figures of every job in the database, in the
 * Prometheus text format. No token: httpd's own access control (Require)
 * guards the location. */
int mod_bulkio_metrics(request_rec *r);

#endif /* MOD_BULKIO_METRICS_H */
