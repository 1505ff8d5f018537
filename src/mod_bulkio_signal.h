/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_SIGNAL_H
#define MOD_BULKIO_SIGNAL_H

/*
 * The signal between the request side and the worker, in one anonymous
 * shared memory segment of the server generation: the wake-up count (a
 * new job, a freed slot) and the scheduler's heartbeat (its polls). Any
 * process may write or read it; it calls no other file of the glue.
 */

#include <httpd.h>

/** The scheduler's last poll, as any process of the generation sees it. */
typedef struct {
    apr_time_t last_poll;   /**< 0 before the first */
    apr_uint64_t polls;     /**< polls so far */
    apr_uint32_t pid;       /**< the process that polls */
    apr_uint32_t threads;   /**< job threads it runs */
} mod_bulkio_heartbeat_t;

/** post_config: make the shared memory, inherited by every child at
 * fork. Without it nothing wakes the scheduler and no heartbeat shows. */
void mod_bulkio_signal_post_config(apr_pool_t *pconf, server_rec *s);

/** Wake the scheduler: a job was committed (a request) or a job thread
 * freed its slot, so its next tick polls without waiting for
 * BulkIOPollInterval. Any process of this generation may call it. */
void mod_bulkio_signal_wake(void);

/** The wake-up count: a change since the scheduler's last look means it
 * should poll now. */
apr_uint32_t mod_bulkio_signal_wakes(void);

/** The scheduler polled the database in this process; threads job
 * threads run here. */
void mod_bulkio_signal_poll(int threads);

/** Read the heartbeat into *hb (all zero when there is none). */
void mod_bulkio_signal_heartbeat(mod_bulkio_heartbeat_t *hb);

#endif /* MOD_BULKIO_SIGNAL_H */
