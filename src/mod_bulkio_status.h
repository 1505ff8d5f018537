/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_STATUS_H
#define MOD_BULKIO_STATUS_H

/*
 * The mod_bulkio section of mod_status's report. It only reads: the
 * running jobs from PostgreSQL, the scheduler's heartbeat from the
 * worker's signal (mod_bulkio_signal.h).
 */

#include <httpd.h>

/** child_init: this server's id (mod_bulkio_scheduler_server_id()), which
 * the status section shows with the jobs it runs. */
void mod_bulkio_status_child_init(const char *server_id);

/** Register with mod_status's status_hook (when mod_status is loaded). */
void mod_bulkio_status_register(void);

#endif /* MOD_BULKIO_STATUS_H */
