/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_THREADS_H
#define MOD_BULKIO_THREADS_H

/*
 * The worker's job threads: one claimed job per thread, in a slot of
 * BulkIOMaxJobs, under a pool with its own allocator. They are joined
 * with bounded patience when the child exits, after a cancel flag raised
 * at child_stopping. Below the scheduler, which fills the slots; above
 * the housekeeping and the signal.
 */

#include <apr_dbd.h>

#include <httpd.h>
#include <mod_dbd.h>

#include "bulkio_store_lease.h"

/** post_config: mod_dbd's functions and libcurl. NULL, or what is
 * wrong. */
const char *mod_bulkio_threads_post_config(void);

/** child_init: the slots of this child; their threads are joined in a
 * pre-cleanup of pchild (before mod_dbd's connection pool goes). */
void mod_bulkio_threads_child_init(apr_pool_t *pchild, server_rec *s);

/** child_stopping: raise the cancel flag, so running jobs hand back at
 * their next batch boundary. */
void mod_bulkio_threads_child_stopping(apr_pool_t *pchild, int graceful);

/** Is the cancel flag raised? */
int mod_bulkio_threads_stopping(void);

/** Hold the slots against the child's exit (a scheduler's tick).
 * @return APR_SUCCESS, and then mod_bulkio_threads_unlock() is due */
apr_status_t mod_bulkio_threads_lock(void);

/** Let go of the slots. */
void mod_bulkio_threads_unlock(void);

/** Join the job threads that have ended (the slots are held).
 * @return how many are still running */
int mod_bulkio_threads_reap(void);

/** Does slot i (0 to BulkIOMaxJobs - 1) have a thread, running or not
 * yet joined? */
int mod_bulkio_threads_busy(int i);

/** Run claim c, held by lease owner, in free slot i (the slots are held).
 * The thread records the end of the attempt and wakes the scheduler
 * when its slot frees for another job. */
apr_status_t mod_bulkio_threads_start(int i, const char *owner,
                                      const bulkio_claim_t *c);

/** A connection from mod_dbd that really is connected (an idle one the
 * database closed is reconnected), or NULL. */
ap_dbd_t *mod_bulkio_threads_conn_open(apr_pool_t *p);

/** Give a connection of mod_bulkio_threads_conn_open() back. */
void mod_bulkio_threads_conn_close(ap_dbd_t *dbd);

/** The pause before the next try to reach the database after a pause of
 * d: twice d, at most 8 s (a job thread waiting for the database, the
 * scheduler after a poll without it). */
apr_interval_time_t mod_bulkio_threads_backoff(apr_interval_time_t d);

#endif /* MOD_BULKIO_THREADS_H */
