/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_HOUSEKEEPING_H
#define MOD_BULKIO_HOUSEKEEPING_H

/*
 * The worker's housekeeping: files of expired exports, finished jobs past
 * BulkIOJobRetention, Idempotency-Keys past their TTL, spool files no job
 * wants. Any server sharing the database may do it. Below the scheduler
 * and the job threads; it calls no other room of the worker.
 */

#include <httpd.h>
#include <libpq-fe.h>

#include "bulkio_store_lease.h"

/** Sweep on conn when it is due (every minute, at the next poll while the
 * retention purge has more to do than its time budget allowed). Called
 * from the scheduler's tick only. */
void mod_bulkio_housekeeping_sweep(apr_pool_t *p, PGconn *conn,
                                   server_rec *s);

/** Remove the spool file of import c, which ended for good (the spool
 * must not grow with every import); nothing for an export. */
void mod_bulkio_housekeeping_drop_import(apr_pool_t *p, server_rec *s,
                                         const bulkio_claim_t *c);

#endif /* MOD_BULKIO_HOUSEKEEPING_H */
