/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_EXPORTS_H
#define MOD_BULKIO_EXPORTS_H

/* The handlers of /exports (the router's table names them). */

#include "mod_bulkio_http.h"
#include "mod_bulkio_jobs.h"

/** GET /exports: a streamed export. */
int mod_bulkio_exports_stream(mod_bulkio_req_t *req);

/** The export jobs for POST /exports and GET /exports/jobs (the caller's,
 * newest first). */
extern const mod_bulkio_poster_t mod_bulkio_exports;

/** GET /exports/{job_id} (req->id): the status document. */
int mod_bulkio_exports_get(mod_bulkio_req_t *req);

/** DELETE /exports/{job_id}: cancel (mod_bulkio_cancel_job()); the job's
 * document, 202 while it still runs. */
int mod_bulkio_exports_delete(mod_bulkio_req_t *req);

/** GET /exports/{job_id}/download: the finished file. */
int mod_bulkio_exports_download(mod_bulkio_req_t *req);

#endif /* MOD_BULKIO_EXPORTS_H */
