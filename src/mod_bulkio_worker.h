/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_WORKER_H
#define MOD_BULKIO_WORKER_H

#include <httpd.h>

/** Register the job scheduler with mod_watchdog (post_config, before
 * mod_watchdog's own). NULL, or what is wrong. */
const char *mod_bulkio_worker_post_config(apr_pool_t *pconf, server_rec *s);

/** child_init: the job threads' home in this child. */
void mod_bulkio_worker_child_init(apr_pool_t *pchild, server_rec *s);

/** child_stopping: running jobs hand back at their next batch boundary. */
void mod_bulkio_worker_child_stopping(apr_pool_t *pchild, int graceful);

/** This server's id among those sharing the database (the jobs' lease
 * server), or NULL before child_init. */
const char *mod_bulkio_worker_server_id(void);

#endif /* MOD_BULKIO_WORKER_H */
