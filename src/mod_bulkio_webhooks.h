/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_WEBHOOKS_H
#define MOD_BULKIO_WEBHOOKS_H

/*
 * The worker's completion webhooks: a sender thread of this child that
 * delivers the status documents of ended jobs (bulkio_store_hooks.h) to
 * their callback URLs, signed, retrying with backoff. The scheduler kicks
 * it at its polls; it calls the job threads' room for connections and
 * the cancel flag, and the job documents. Below the scheduler.
 */

#include <httpd.h>
#include <libpq-fe.h>

/** At a poll of the scheduler (on its connection conn, under the job
 * threads' lock): reap a sender that has finished, and start one when a
 * delivery is due and none runs. owner names this child among the
 * servers sharing the database. */
void mod_bulkio_webhooks_kick(apr_pool_t *p, PGconn *conn, const char *owner);

/** child_init: the sender's state; at child exit it is joined with
 * bounded patience (a delivery left mid-try is taken up again once its
 * lease expires, at least once). */
void mod_bulkio_webhooks_child_init(apr_pool_t *pchild, server_rec *s);

#endif /* MOD_BULKIO_WEBHOOKS_H */
