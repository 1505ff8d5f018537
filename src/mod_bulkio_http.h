/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_HTTP_H
#define MOD_BULKIO_HTTP_H

/*
 * The bottom of the glue: what every handler needs to answer a request
 * (problem+json, JSON documents, the request's database connection, the
 * token, the job a request is about). Calls no handler and no router.
 */

#include <httpd.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "bulkio_store_jobs.h"
#include "mod_bulkio_config.h"

/** One API request: its server's configuration, the authenticated
 * principal (r->user), where the API is mounted and the path parameter. */
typedef struct {
    request_rec *r;
    mod_bulkio_cfg_t *cfg;
    const char *principal;
    /** the path of the <Location> the handler is mounted at, e.g. "/v1"
     * or "/api/bulk/v1": links in answers start with it */
    const char *base;
    /** the {job_id} of the route, or NULL */
    const char *id;
    /** what the route table gives the handler besides the request (the
     * job kind of a list or a POST), or NULL */
    const void *arg;
    /** the token's scope claim (space-separated), or NULL */
    const char *scope;
} mod_bulkio_req_t;

/** Check that mod_dbd is loaded; NULL, or a message saying what is wrong. */
const char *mod_bulkio_http_init(void);

/** Register the output filter that turns httpd's own error pages into
 * problem+json. */
void mod_bulkio_http_register(void);

/** insert_error_filter: errors httpd raises itself for a request the
 * API serves (under /v1, or with the bulkio handler) leave as
 * problem+json, never as an HTML page. */
void mod_bulkio_insert_error_filter(request_rec *r);

/** Whether a request targets literal /v1 as it was sent (also when httpd
 * could not parse its URI). */
int mod_bulkio_targets_v1(request_rec *r);

/** Answer with an application/problem+json document.
 * @return OK: the response is written */
int mod_bulkio_problem(request_rec *r, int status, const char *detail);

/** Answer 503 "the database is unavailable": a connection could not be had
 * or a statement failed (the caller logs why).
 * @return OK: the response is written */
int mod_bulkio_db_unavailable(request_rec *r);

/** Answer 405 with Allow: allow.
 * @return OK: the response is written */
int mod_bulkio_method_not_allowed(request_rec *r, const char *allow);

/** Answer with a JSON document (which is released).
 * @return OK: the response is written */
int mod_bulkio_send_json(request_rec *r, int status, json_object *doc);

/** The request's database connection from mod_dbd, or NULL (logged) when
 * the database is unavailable. */
PGconn *mod_bulkio_db(request_rec *r);

/** Authenticate the request: BulkIOAuth jwt, its token (the principal is
 * the sub claim, also set as r->user); BulkIOAuth httpd, r->user as
 * httpd's authentication set it, with POST and DELETE refused (403) unless
 * same-origin (Origin, Sec-Fetch-Site). On success req->principal is set.
 * @return OK, or DONE when the 401 or 403 answer is written */
int mod_bulkio_authenticate(mod_bulkio_req_t *req);

/** With BulkIORequireScopes on and BulkIOAuth jwt, whether the request's
 * token lacks scope (e.g. "bulkio:import").
 * @return NULL when the request may go on, else the detail of its 403
 *         answer, naming the scope */
const char *mod_bulkio_missing_scope(mod_bulkio_req_t *req,
                                     const char *scope);

/** Note the job a request is about, for LogFormat: %{bulkio-job-id}n or
 * %{BULKIO_JOB_ID}e. */
void mod_bulkio_note_job(request_rec *r, const char *job_id);

/** The connection for a request about job job_id, or NULL when the answer
 * (404 for a malformed id, 503) is written. */
PGconn *mod_bulkio_job_conn(mod_bulkio_req_t *req, const char *job_id);

/** Look up job job_id of kind for the request's principal.
 * @return OK, or DONE when the answer (404, 503) is written */
int mod_bulkio_job_get(mod_bulkio_req_t *req, PGconn *conn, const char *kind,
                       const char *job_id, bulkio_job_t **pjob);

#endif /* MOD_BULKIO_HTTP_H */
