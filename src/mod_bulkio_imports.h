/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_IMPORTS_H
#define MOD_BULKIO_IMPORTS_H

/* The handlers of /imports (the router's table names them). */

#include "mod_bulkio_http.h"
#include "mod_bulkio_jobs.h"

/** The import jobs for POST /imports (a file uploaded, or a URL named) and
 * GET /imports (the caller's, newest first). */
extern const mod_bulkio_poster_t mod_bulkio_imports;

/** GET /imports/{job_id} (req->id): the status document. */
int mod_bulkio_imports_get(mod_bulkio_req_t *req);

/** DELETE /imports/{job_id}: cancel. */
int mod_bulkio_imports_delete(mod_bulkio_req_t *req);

/** GET /imports/{job_id}/errors: every record error, NDJSON or CSV. */
int mod_bulkio_imports_errors(mod_bulkio_req_t *req);

#endif /* MOD_BULKIO_IMPORTS_H */
