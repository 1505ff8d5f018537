/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_RESULTS_H
#define MOD_BULKIO_RESULTS_H

/* The handler of /imports/{id}/results (the router's table names it). */

#include "mod_bulkio_http.h"

/** GET /imports/{job_id}/results (req->id): one entry per record in file
 * order (recordIndex, line, id, action, errorType), NDJSON or CSV
 * (?format=), streamed a batch's entries at a time; 409 while the job is
 * pending or running, 404 for an unknown job, another principal's, or
 * with BulkIOImportResults off. */
int mod_bulkio_results(mod_bulkio_req_t *req);

#endif /* MOD_BULKIO_RESULTS_H */
