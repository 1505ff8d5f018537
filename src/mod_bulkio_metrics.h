/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_METRICS_H
#define MOD_BULKIO_METRICS_H

/* The handlers that describe the service itself (no token). */

#include "mod_bulkio_http.h"

/** GET /metrics: the figures of every job in the database, in the
 * Prometheus text format. No token: httpd's own access control (Require)
 * guards the location. */
int mod_bulkio_metrics(mod_bulkio_req_t *req);

/** GET /health: 200 while PostgreSQL answers, else 503. */
int mod_bulkio_health(mod_bulkio_req_t *req);

#endif /* MOD_BULKIO_METRICS_H */
