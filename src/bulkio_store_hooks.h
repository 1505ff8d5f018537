/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_HOOKS_H
#define BULKIO_STORE_HOOKS_H

#include <apr_pools.h>
#include <apr_time.h>
#include <libpq-fe.h>

/*
 * The job store's completion webhooks (sql/011_webhooks.sql): a job
 * created with a callback URL has a delivery that waits until the job
 * ends (a trigger makes it due in the transaction that ends the job);
 * senders claim due deliveries with FOR UPDATE SKIP LOCKED and a lease,
 * and record each try.
 */

/** A delivery a sender claimed. */
typedef struct {
    apr_int64_t job;            /**< the job's row id */
    const char *job_id;         /**< its public id */
    const char *kind;
    const char *principal;
    const char *event_id;
    const char *url;
    const char *base;           /**< the API's mount when it was created */
    const char *body;           /**< fixed at the first try, else NULL */
    int attempts;               /**< tries, this one included */
} bulkio_hook_t;

/** Whether a delivery is due (or its sender's lease expired). */
apr_status_t bulkio_store_hook_due(apr_pool_t *p, PGconn *conn, int *pdue);

/** Claim the delivery due longest for owner for lease, counting a try.
 * @return APR_SUCCESS, or APR_NOTFOUND when none is due */
apr_status_t bulkio_store_hook_claim(apr_pool_t *p, PGconn *conn,
                                     const char *owner,
                                     apr_interval_time_t lease,
                                     bulkio_hook_t **phook);

/** Fix the body of a delivery owner holds, unless it has one already;
 * *pbody is the body every try sends.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_hook_body(apr_pool_t *p, PGconn *conn,
                                    apr_int64_t job, const char *owner,
                                    const char *body, const char **pbody);

/** Record a try of a delivery owner holds: delivered, or the next try in
 * retry_in unless that is past retry (after the job ended), when the
 * delivery fails for good.
 * @param http_status the receiver's answer, 0 for none
 * @param error why it was not delivered, or NULL
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_hook_done(apr_pool_t *p, PGconn *conn,
                                    apr_int64_t job, const char *owner,
                                    int delivered, int http_status,
                                    const char *error,
                                    apr_interval_time_t retry_in,
                                    apr_interval_time_t retry);

#endif /* BULKIO_STORE_HOOKS_H */
