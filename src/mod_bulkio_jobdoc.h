/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_JOBDOC_H
#define MOD_BULKIO_JOBDOC_H

/*
 * The JSON documents of a job, built in this one place: the status
 * document of an import or an export, the item of a job list (the status
 * document without its errors) and one record error. Calls no other glue
 * file.
 */

#include <apr_pools.h>
#include <apr_tables.h>
#include <json-c/json.h>

#include "bulkio_store_jobs.h"

/** The status document of job j (an import or an export).
 * @param base where the API is mounted ("/v1"): the links start with it
 * @param errors an import's first errors (bulkio_rec_error_t, from
 *        bulkio_store_errors_head()), or NULL for a list item, which has no
 *        "errors" array */
json_object *mod_bulkio_jobdoc(apr_pool_t *p, const bulkio_job_t *j,
                               const char *base,
                               const apr_array_header_t *errors);

/** Add "signedDownloadUrl" to the document doc of export job j: a link
 * that works without a token until min(now + ttl, the export's expiry),
 * signed with secret (bulkio_link_signature()); null when the file is
 * not ready, has expired, or secret is NULL.
 * @param now seconds since 1970 */
void mod_bulkio_jobdoc_signed(apr_pool_t *p, json_object *doc,
                              const bulkio_job_t *j, const char *base,
                              const char *secret, apr_interval_time_t ttl,
                              apr_int64_t now);

/** One record error as the status document and the NDJSON error file
 * show it. */
json_object *mod_bulkio_jobdoc_error(const bulkio_rec_error_t *e);

/** The errorType of the entry that ends a truncated error report. */
#define MOD_BULKIO_ERRORS_TRUNCATED "ERRORS_TRUNCATED"

/** When import j's error entries were truncated (past BulkIOMaxErrorRows
 * or BulkIOMaxErrorBytes), fill e with the entry that ends its error report
 * and says so: errorType ERRORS_TRUNCATED, at the first failed record
 * without an entry. Text from p.
 * @return 1 when they were, else 0 (e untouched) */
int mod_bulkio_jobdoc_truncated(apr_pool_t *p, const bulkio_job_t *j,
                                bulkio_rec_error_t *e);

#endif /* MOD_BULKIO_JOBDOC_H */
