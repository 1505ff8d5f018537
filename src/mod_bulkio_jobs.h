/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_JOBS_H
#define MOD_BULKIO_JOBS_H

/*
 * What the import and the export handlers share about jobs: creating one
 * (Idempotency-Key, 202) and listing the caller's. Above mod_bulkio_http,
 * mod_bulkio_jobdoc and mod_bulkio_signal (it wakes the worker for a new
 * job), below the handlers.
 */

#include <libpq-fe.h>

#include "bulkio_store_idem.h"
#include "mod_bulkio_http.h"

/** How long a claim on an Idempotency-Key holds unless renewed, and how
 * often a request that is still uploading renews it. */
#define MOD_BULKIO_IDEM_LEASE apr_time_from_sec(120)
#define MOD_BULKIO_IDEM_RENEW apr_time_from_sec(30)

/** A kind of job as its endpoints see it: the route table gives it to
 * mod_bulkio_post_job() and mod_bulkio_list_jobs() (req->arg). */
typedef struct {
    const char *kind;   /**< "import" or "export" */
    /** the size of the state of one POST (the baton), zeroed */
    apr_size_t baton_size;
    /** Read and check the request (claimed: the Idempotency-Key it owns,
     * or NULL); called first, with a new baton.
     * @return OK with *pfp (what makes two requests the same), or an HTTP
     * status with *pdetail */
    int (*receive)(mod_bulkio_req_t *req, void *baton, PGconn *conn,
                   const bulkio_idem_t *claimed, const char **pfp,
                   const char **pdetail);
    /** The job to create as job_id, from what receive read (its id, kind,
     * principal and limit are set by the caller).
     * @return OK with *pjob, or an HTTP status with *pdetail */
    int (*prepare)(mod_bulkio_req_t *req, void *baton, const char *job_id,
                   bulkio_new_job_t **pjob, const char **pdetail);
    /** Undo what prepare did when the job was not created (NULL: nothing
     * to undo); maybe_created: the outcome is unknown (the connection was
     * lost on COMMIT), so what the job would name must stay. */
    void (*discard)(void *baton, int maybe_created);
} mod_bulkio_poster_t;

/** POST of a new job of the kind req->arg (a mod_bulkio_poster_t):
 * Idempotency-Key first (replay, 409, 422), then the poster's receive and
 * create, then 202 with Location. */
int mod_bulkio_post_job(mod_bulkio_req_t *req);

/** GET of a job list: the caller's jobs of the kind req->arg (a
 * mod_bulkio_poster_t), or of both kinds when req->arg is NULL (each item
 * then says its "kind"), newest first, filtered and paged by the query
 * (see bulkio_joblist.h); each item is the job's status document without
 * "errors"; "total", the number of jobs the filters select; a "next" link
 * in the body and an RFC 8288 Link header while there are more. */
int mod_bulkio_list_jobs(mod_bulkio_req_t *req);

/** DELETE of job req->id of kind: ask it to stop (404 for none of the
 * caller's, 409 once it has ended). A pending job is canceled at once
 * (and its upload, an import's spool file, removed); a running one stops
 * at its next batch or chunk, its worker removing what it wrote.
 * @return OK with *pstatus (the job's status now: "canceled" or
 *         "running") for the caller to answer with the job's document;
 *         DONE when the answer was sent */
int mod_bulkio_cancel_job(mod_bulkio_req_t *req, PGconn *conn,
                          const char *kind, const char **pstatus);

#endif /* MOD_BULKIO_JOBS_H */
