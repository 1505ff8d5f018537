/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_JOBLIST_H
#define BULKIO_JOBLIST_H

/*
 * The query of a job list (GET /v1/imports, GET /v1/exports/jobs): its
 * parameters checked against fixed allow-lists, the opaque cursor, and
 * the query string of the next page.
 */

#include <apr_pools.h>
#include <apr_tables.h>

#include "bulkio_store_jobs.h"

#define BULKIO_JOBLIST_LIMIT_DEFAULT 50
#define BULKIO_JOBLIST_LIMIT_MAX     1000

/** Read a list's parameters (status, resource, created_after,
 * created_before, limit, cursor, id_prefix; and kind when q->all_kinds)
 * from args into q (principal, all_kinds and a list's one kind are the
 * caller's to set).
 * @return APR_SUCCESS, or APR_EINVAL with *perror for the client */
apr_status_t bulkio_joblist_parse(apr_pool_t *p, apr_table_t *args,
                                  bulkio_job_query_t *q, const char **perror);

/** The cursor that continues after job j: base64url of
 * "created_us:id". */
const char *bulkio_joblist_cursor(apr_pool_t *p, const bulkio_job_t *j);

/** The query string (without '?') of the page after job last: the filters
 * and limit of q as the client gave them, percent-encoded, and the cursor
 * after last. */
const char *bulkio_joblist_next_query(apr_pool_t *p,
                                      const bulkio_job_query_t *q,
                                      int limit_given,
                                      const bulkio_job_t *last);

#endif /* BULKIO_JOBLIST_H */
