/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_IDEM_H
#define BULKIO_STORE_IDEM_H

#include <apr_pools.h>
#include <apr_time.h>
#include <libpq-fe.h>

/*
 * The job store's Idempotency-Keys: claiming a key for a request,
 * renewing and releasing the claim. A job's creation completes its key
 * (bulkio_store_job_create()); retention drops old keys
 * (bulkio_store_purge_idem()).
 */

/** Where an Idempotency-Key stands after bulkio_store_idem_claim(). */
typedef enum {
    BULKIO_IDEM_CLAIMED,  /**< new: this request owns the key */
    BULKIO_IDEM_BUSY,     /**< its first request is still being received */
    BULKIO_IDEM_DONE      /**< completed: compare fingerprints, replay */
} bulkio_idem_state_e;

/** An Idempotency-Key's scope and, once done, its stored outcome. */
typedef struct {
    const char *principal;
    const char *endpoint;
    const char *key;
    bulkio_idem_state_e state;
    const char *fingerprint;   /**< of the request that completed */
    int status;                /**< the response to replay */
    const char *body;
    const char *job_id;
} bulkio_idem_t;

/** Claim idem's key for a new request (expired keys are dropped first);
 * fills idem->state and, for a done key, its stored outcome.
 * @param lease how long the claim holds unless renewed
 * @param ttl how long a completed key is kept */
apr_status_t bulkio_store_idem_claim(apr_pool_t *p, PGconn *conn,
                                     bulkio_idem_t *idem,
                                     apr_interval_time_t lease,
                                     apr_interval_time_t ttl);

/** Extend the claim on a key whose request is still being received. */
apr_status_t bulkio_store_idem_renew(apr_pool_t *p, PGconn *conn,
                                     const bulkio_idem_t *idem,
                                     apr_interval_time_t lease);

/** Drop a claim whose request did not complete. */
apr_status_t bulkio_store_idem_release(apr_pool_t *p, PGconn *conn,
                                       const bulkio_idem_t *idem);

/** Complete idem's claim with the outcome of its request: fingerprint,
 * status, body and job job_id (a public id). Inside the transaction that
 * creates the job (bulkio_store_job_create()). */
apr_status_t bulkio_store_idem_complete(apr_pool_t *p, PGconn *conn,
                                        const bulkio_idem_t *idem,
                                        const char *fingerprint, int status,
                                        const char *body,
                                        const char *job_id);

#endif /* BULKIO_STORE_IDEM_H */
