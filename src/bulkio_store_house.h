/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_HOUSE_H
#define BULKIO_STORE_HOUSE_H

#include <apr_pools.h>
#include <apr_time.h>
#include <libpq-fe.h>

/*
 * The job store's housekeeping: retention (old error rows, jobs and
 * Idempotency-Keys, in small batches), exports past their TTL, and what
 * the jobs want of the spool (for removing orphaned files).
 */

/** Delete at most max error rows of jobs finished more than retention ago.
 * @param pcount rows deleted */
apr_status_t bulkio_store_purge_errors(apr_pool_t *p, PGconn *conn,
                                       apr_interval_time_t retention,
                                       int max, int *pcount);

/** Delete at most max jobs finished more than retention ago whose error
 * rows are gone; *pres lists (public id, spool file or NULL) of each, for
 * the caller to remove the files. */
apr_status_t bulkio_store_purge_jobs(apr_pool_t *p, PGconn *conn,
                                     apr_interval_time_t retention, int max,
                                     PGresult **pres);

/** Delete at most max Idempotency-Keys past their TTL, and claims whose
 * upload vanished more than grace ago.
 * @param pcount rows deleted */
apr_status_t bulkio_store_purge_idem(apr_pool_t *p, PGconn *conn,
                                     apr_interval_time_t grace, int max,
                                     int *pcount);

/** Delete at most max tombstones (rows a delete import removed) older
 * than retention.
 * @param pcount rows deleted */
apr_status_t bulkio_store_purge_tombstones(apr_pool_t *p, PGconn *conn,
                                           apr_interval_time_t retention,
                                           int max, int *pcount);

/** Forget the files of exports past their TTL; *pres lists their paths
 * (column 0) for the caller to remove. */
apr_status_t bulkio_store_expire_exports(apr_pool_t *p, PGconn *conn,
                                         PGresult **pres);

/** What the jobs of ids (a uuid[] literal) want of the spool: rows of
 * (public id, 't' when the job is pending or running, the file name of its
 * recorded file or ''). Names, not paths, so servers that mount a shared
 * spool at different paths agree. */
apr_status_t bulkio_store_spool_refs(apr_pool_t *p, PGconn *conn,
                                     const char *ids, PGresult **pres);

#endif /* BULKIO_STORE_HOUSE_H */
