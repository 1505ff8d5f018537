/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_JOBS_H
#define MOD_BULKIO_JOBS_H

/*
 * What the import and the export handlers share about jobs: creating one
 * (Idempotency-Key, 202) and listing the caller's. Above mod_bulkio_http,
 * mod_bulkio_jobdoc and mod_bulkio_status (it wakes the worker for a new
 * job), below the handlers.
 */

#include <libpq-fe.h>

#include "bulkio_store_idem.h"
#include "mod_bulkio_http.h"

/** How long a claim on an Idempotency-Key holds unless renewed, and how
 * often a request that is still uploading renews it. */
#define MOD_BULKIO_IDEM_LEASE apr_time_from_sec(120)
#define MOD_BULKIO_IDEM_RENEW apr_time_from_sec(30)

/** What creating a job of one kind needs from its endpoint. */
typedef struct {
    const char *kind;   /**< "import" or "export" */
    /** Read and check the request (claimed: the Idempotency-Key it owns,
     * or NULL). @return OK with *pfp (what makes two requests the same),
     * or an HTTP status with *pdetail */
    int (*receive)(void *baton, PGconn *conn, const bulkio_idem_t *claimed,
                   const char **pfp, const char **pdetail);
    /** Create job job_id, completing claimed (if any) with fp and the
     * answer body in the same transaction.
     * @return OK, or an HTTP status with *pdetail */
    int (*create)(void *baton, PGconn *conn, const bulkio_idem_t *claimed,
                  const char *fp, const char *job_id, const char *body,
                  const char **pdetail);
} mod_bulkio_poster_t;

/** POST of a new job: Idempotency-Key first (replay, 409, 422), then the
 * poster's receive and create, then 202 with Location. */
int mod_bulkio_post_job(mod_bulkio_req_t *req,
                        const mod_bulkio_poster_t *poster, void *baton);

/** GET of a job list: the caller's jobs of kind, newest first, filtered
 * and paged by the query (see bulkio_joblist.h); each item is the job's
 * status document without "errors"; a "next" link in the body and an
 * RFC 8288 Link header while there are more. */
int mod_bulkio_list_jobs(mod_bulkio_req_t *req, const char *kind);

#endif /* MOD_BULKIO_JOBS_H */
