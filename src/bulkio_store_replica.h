/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_REPLICA_H
#define BULKIO_STORE_REPLICA_H

#include <apr_pools.h>
#include <apr_time.h>
#include <libpq-fe.h>

/*
 * The job store's replica (BulkIOExportReplica): whether a streaming
 * replica has replayed a principal's last finished import (read-your-
 * writes for exports read from it), and its state and lag.
 */

/** A replica's state as /v1/health and the metrics show it. */
typedef struct {
    int up;                    /**< connected, and in recovery */
    apr_int64_t lag_bytes;     /**< WAL the primary wrote that the replica
                                    has not replayed */
    double lag_seconds;        /**< since its last replayed transaction,
                                    0 when it has replayed everything */
} bulkio_replica_state_t;

/**
 * Connect to the replica and wait, up to wait, until it has replayed the
 * last finished import of principal (or of the principal of export job
 * job, when principal is NULL): its commit position (finish_lsn) replayed
 * and its end visible there.
 * @param primary the primary, where the import's position is read
 * @param conninfo the replica's (a secret: never in a message)
 * @param preplica the replica's connection, closed when p is cleaned up
 * @param pwhy when it is not ready: why, for the log ("down", "lagging")
 * @return APR_SUCCESS when ready; APR_TIMEUP when it lags past wait;
 *         APR_ECONNREFUSED when it is down or no replica; APR_EGENERAL
 *         when the primary cannot tell
 */
apr_status_t bulkio_store_replica_ready(apr_pool_t *p, PGconn *primary,
    const char *conninfo, const char *principal, apr_int64_t job,
    apr_interval_time_t wait, PGconn **preplica, const char **pwhy);

/** The replica's state: down when it cannot be reached or is no replica;
 * its lag measured against the primary's WAL position. */
apr_status_t bulkio_store_replica_state(apr_pool_t *p, PGconn *primary,
                                        const char *conninfo,
                                        bulkio_replica_state_t *st);

#endif /* BULKIO_STORE_REPLICA_H */
