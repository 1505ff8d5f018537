/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_METRICS_H
#define BULKIO_STORE_METRICS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <libpq-fe.h>

/*
 * The job store's figures: what /v1/metrics shows, read in one snapshot,
 * and the jobs running under one server's leases (mod_status).
 */

/** Jobs by kind and status (every pair, zeros included). */
typedef struct {
    const char *kind, *status;
    apr_int64_t count;
} bulkio_m_jobs_t;

/** Records of the jobs of one kind and resource, summed. */
typedef struct {
    const char *kind;
    const char *resource;
    apr_int64_t processed;
    apr_int64_t succeeded;
    apr_int64_t failed;
} bulkio_m_records_t;

/** Failed records of imports of one resource with one error type. */
typedef struct {
    const char *resource;
    const char *error_type;
    apr_int64_t count;
} bulkio_m_errors_t;

/** A running job, as any server sees it in the database. */
typedef struct {
    const char *job_id;
    const char *kind;
    const char *resource;
    const char *format;       /**< may be NULL (a URL import not fetched) */
    const char *server;       /**< lease_server */
    const char *owner;        /**< lease_owner */
    const char *started_at;   /**< RFC 3339 UTC */
    apr_int64_t records;      /**< committed so far (checkpoint) */
    apr_int64_t success;
    apr_int64_t errors;
    apr_int64_t bytes;        /**< input bytes committed so far */
    apr_int64_t bytes_total;
    double elapsed;           /**< seconds since it first started */
    double lease_left;        /**< seconds until its lease expires */
} bulkio_m_running_t;

/** Durations of the finished jobs of one kind. */
typedef struct {
    const char *kind;
    apr_int64_t *counts;      /**< per bucket, not cumulative; the last one
                                   (index nbuckets) is past every bound */
    apr_int64_t count;
    double sum;
} bulkio_m_durations_t;

/** What /v1/metrics shows, read in one snapshot of the database. */
typedef struct {
    apr_array_header_t *jobs;       /**< of bulkio_m_jobs_t */
    apr_array_header_t *records;    /**< of bulkio_m_records_t */
    apr_array_header_t *errors;     /**< of bulkio_m_errors_t */
    apr_array_header_t *running;    /**< of bulkio_m_running_t */
    apr_array_header_t *durations;  /**< of bulkio_m_durations_t */
    const double *buckets;          /**< upper bounds, ascending */
    int nbuckets;
    apr_int64_t queue_depth;        /**< pending jobs */
    double oldest_pending;          /**< age in seconds, 0 without any */
} bulkio_metrics_t;

/** Read the figures of every job of every server, in one read-only
 * repeatable-read transaction.
 * @param buckets the duration histogram's upper bounds, ascending
 * @param perror on failure, the database's message (for the log) */
apr_status_t bulkio_store_metrics(apr_pool_t *p, PGconn *conn,
                                  const double *buckets, int nbuckets,
                                  bulkio_metrics_t **pm, const char **perror);

/** The jobs running under server's leases, oldest first.
 * @param pjobs receives an array of bulkio_m_running_t */
apr_status_t bulkio_store_server_jobs(apr_pool_t *p, PGconn *conn,
                                      const char *server,
                                      apr_array_header_t **pjobs);

#endif /* BULKIO_STORE_METRICS_H */
