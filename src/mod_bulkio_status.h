/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_STATUS_H
#define MOD_BULKIO_STATUS_H

#include <httpd.h>

/** post_config: the shared memory where this server's scheduler leaves
 * its heartbeat for mod_status (any child may serve /server-status). */
void mod_bulkio_status_post_config(apr_pool_t *pconf, server_rec *s);

/** child_init: this server's id (mod_bulkio_worker_server_id()), which
 * the status section shows with the jobs it runs. */
void mod_bulkio_status_child_init(const char *server_id);

/** The scheduler polled the database in this process; threads job
 * threads run here. */
void mod_bulkio_status_poll(int threads);

/** Wake the scheduler: a job was committed (a request) or a job thread
 * freed its slot, so its next tick polls without waiting for
 * BulkIOPollInterval. Any process of this generation may call it. */
void mod_bulkio_status_wake(void);

/** The wake-up count: a change since the scheduler's last look means it
 * should poll now. */
apr_uint32_t mod_bulkio_status_wakes(void);

/** Register with mod_status's status_hook (when mod_status is loaded). */
void mod_bulkio_status_register(void);

#endif /* MOD_BULKIO_STATUS_H */
