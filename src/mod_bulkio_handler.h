/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_HANDLER_H
#define MOD_BULKIO_HANDLER_H

#include <httpd.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "bulkio_store.h"
#include "mod_bulkio_config.h"

/** One API request: its server's configuration and the authenticated
 * principal (r->user). */
typedef struct {
    request_rec *r;
    mod_bulkio_cfg_t *cfg;
    const char *principal;
} mod_bulkio_req_t;

/** The "bulkio" handler. */
int mod_bulkio_handler(request_rec *r);

/** Register the handler's output filter. */
void mod_bulkio_handler_register(void);

/** insert_error_filter: errors httpd raises itself for a request under
 * /v1 leave as problem+json, never as an HTML page. */
void mod_bulkio_insert_error_filter(request_rec *r);

/** map_to_storage, before httpd's own TRACE answer: TRACE under /v1 is 405
 * (it would echo the request's Authorization header back). */
int mod_bulkio_refuse_trace(request_rec *r);

/** Check that mod_dbd is loaded; NULL, or a message saying what is wrong. */
const char *mod_bulkio_handler_init(void);

/** Answer with an application/problem+json document.
 * @return OK: the response is written */
int mod_bulkio_problem(request_rec *r, int status, const char *detail);

/** Answer with a JSON document (which is released).
 * @return OK: the response is written */
int mod_bulkio_send_json(request_rec *r, int status, json_object *doc);

/** The request's database connection from mod_dbd, or NULL (logged) when
 * the database is unavailable. */
PGconn *mod_bulkio_db(request_rec *r);

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

/** The connection for a request about job job_id, or NULL when the answer
 * (404 for a malformed id, 503) is written. */
PGconn *mod_bulkio_job_conn(mod_bulkio_req_t *req, const char *job_id);

/** Look up job job_id of kind for the request's principal.
 * @return OK, or DONE when the answer (404, 503) is written */
int mod_bulkio_job_get(mod_bulkio_req_t *req, PGconn *conn, const char *kind,
                       const char *job_id, bulkio_job_t **pjob);

/** A status document with what every job has: job_id, status, resource,
 * format, reason (when there is one), totalRecords, createdAt,
 * completedAt. */
json_object *mod_bulkio_job_doc(const bulkio_job_t *j);

/** POST /v1/imports */
int mod_bulkio_imports_post(mod_bulkio_req_t *req);

/** GET /v1/imports/{job_id} */
int mod_bulkio_imports_get(mod_bulkio_req_t *req, const char *job_id);

/** DELETE /v1/imports/{job_id} */
int mod_bulkio_imports_delete(mod_bulkio_req_t *req, const char *job_id);

/** GET /v1/imports/{job_id}/errors */
int mod_bulkio_imports_errors(mod_bulkio_req_t *req, const char *job_id);

/** GET /v1/exports: a streamed export */
int mod_bulkio_exports_stream(mod_bulkio_req_t *req);

/** POST /v1/exports: an export job */
int mod_bulkio_exports_post(mod_bulkio_req_t *req);

/** GET /v1/exports/{job_id} */
int mod_bulkio_exports_get(mod_bulkio_req_t *req, const char *job_id);

/** GET /v1/exports/{job_id}/download */
int mod_bulkio_exports_download(mod_bulkio_req_t *req, const char *job_id);

#endif /* MOD_BULKIO_HANDLER_H */
