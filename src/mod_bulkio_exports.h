/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_EXPORTS_H
#define MOD_BULKIO_EXPORTS_H

/* The handlers of /exports (the router's table names them). */

#include "mod_bulkio_http.h"

/** GET /exports: a streamed export. */
int mod_bulkio_exports_stream(mod_bulkio_req_t *req);

/** POST /exports: an export job. */
int mod_bulkio_exports_post(mod_bulkio_req_t *req);

/** GET /exports/jobs: the caller's export jobs, newest first. */
int mod_bulkio_exports_list(mod_bulkio_req_t *req);

/** GET /exports/{job_id} (req->id): the status document. */
int mod_bulkio_exports_get(mod_bulkio_req_t *req);

/** GET /exports/{job_id}/download: the finished file. */
int mod_bulkio_exports_download(mod_bulkio_req_t *req);

#endif /* MOD_BULKIO_EXPORTS_H */
