/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_SCHEDULER_H
#define MOD_BULKIO_SCHEDULER_H

/*
 * The worker's scheduler: a mod_watchdog singleton callback that claims
 * jobs from PostgreSQL and hands them to the job threads, and has the
 * housekeeping done. The top room of the worker: it calls the threads,
 * the housekeeping and the signal.
 */

#include <httpd.h>

/** Register the scheduler with mod_watchdog (post_config, before
 * mod_watchdog's own). NULL, or what is wrong. */
const char *mod_bulkio_scheduler_post_config(apr_pool_t *pconf,
                                             server_rec *s);

/** child_init: this child's identity in lease owners (after
 * mod_bulkio_threads_child_init()). */
void mod_bulkio_scheduler_child_init(apr_pool_t *pchild, server_rec *s);

/** This server's id among those sharing the database (the jobs' lease
 * server), or NULL before child_init. */
const char *mod_bulkio_scheduler_server_id(void);

#endif /* MOD_BULKIO_SCHEDULER_H */
