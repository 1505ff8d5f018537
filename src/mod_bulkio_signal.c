/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The signal between the request side and the worker.
 *
 * The worker runs in one child (the mod_watchdog singleton) while any
 * child may take a new job or serve /server-status, so what they tell
 * each other must be shared between processes. A small anonymous shared
 * memory segment made in post_config, inherited by every child at fork,
 * carries it:
 *
 * - the scheduler's wake-up count: a request that created a job, and a
 *   job thread that freed a slot, add one to it, and the scheduler, which
 *   looks at it every tick (100 ms), polls at once when it changed instead
 *   of at its next BulkIOPollInterval. It is only a hint: a lost or extra
 *   wake-up costs at most one poll interval or one poll;
 * - the scheduler's heartbeat: its last poll, its process and how many
 *   job threads it runs. The single writer stores each field atomically
 *   and readers need no lock (a reader may see one poll's fields mixed
 *   with the next one's, which does not matter here).
 */

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_log.h>

#include "mod_bulkio_private.h"
#include "mod_bulkio_signal.h"

/* The segment, shared by the children of one generation. */
typedef struct {
    volatile apr_uint64_t last_poll;    /* apr_time_t of the last tick */
    volatile apr_uint64_t polls;        /* ticks so far */
    volatile apr_uint32_t pid;          /* of the process that ticks */
    volatile apr_uint32_t threads;      /* job threads it runs */
    volatile apr_uint32_t wakes;        /* jobs created, slots freed */
} signal_t;

static signal_t *shared;

void mod_bulkio_signal_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    shared = NULL;
    rv = apr_shm_create(&shm, sizeof(signal_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, BULKIO_LOGNO(710)
                     "no shared memory for the worker's status: "
                     "/server-status will not show its last poll, and new "
                     "jobs wait for the worker's next poll");
        return;
    }
    shared = apr_shm_baseaddr_get(shm);
    memset(shared, 0, sizeof(*shared));
}

void mod_bulkio_signal_wake(void)
{
    if (shared) {
        apr_atomic_inc32(&shared->wakes);
    }
}

apr_uint32_t mod_bulkio_signal_wakes(void)
{
    return shared ? apr_atomic_read32(&shared->wakes) : 0;
}

void mod_bulkio_signal_poll(int threads)
{
    if (!shared) {
        return;
    }
    apr_atomic_set32(&shared->pid, (apr_uint32_t)getpid());
    apr_atomic_set32(&shared->threads, (apr_uint32_t)threads);
    apr_atomic_set64(&shared->polls, apr_atomic_read64(&shared->polls) + 1);
    apr_atomic_set64(&shared->last_poll, (apr_uint64_t)apr_time_now());
}

void mod_bulkio_signal_heartbeat(mod_bulkio_heartbeat_t *hb)
{
    memset(hb, 0, sizeof(*hb));
    if (shared) {
        hb->last_poll = (apr_time_t)apr_atomic_read64(&shared->last_poll);
        hb->polls = apr_atomic_read64(&shared->polls);
        hb->pid = apr_atomic_read32(&shared->pid);
        hb->threads = apr_atomic_read32(&shared->threads);
    }
}
