/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_HANDLER_H
#define MOD_BULKIO_HANDLER_H

#include <httpd.h>
#include <json-c/json.h>
#include <libpq-fe.h>

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

/** POST /v1/imports */
int mod_bulkio_imports_post(mod_bulkio_req_t *req);

/** GET /v1/imports/{job_id} */
int mod_bulkio_imports_get(mod_bulkio_req_t *req, const char *job_id);

/** DELETE /v1/imports/{job_id} */
int mod_bulkio_imports_delete(mod_bulkio_req_t *req, const char *job_id);

/** GET /v1/imports/{job_id}/errors */
int mod_bulkio_imports_errors(mod_bulkio_req_t *req, const char *job_id);

#endif /* MOD_BULKIO_HANDLER_H */
