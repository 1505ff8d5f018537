/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_JOBS_H
#define BULKIO_STORE_JOBS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <libpq-fe.h>

#include "bulkio_record.h"
#include "bulkio_store_idem.h"

/*
 * The job store's jobs as requests see them: creating one, reading one or
 * a page of them, their record errors, asking one to stop; and what a job
 * records of its input (a URL import's download) or output (an export's
 * file).
 */

/** A new job. */
typedef struct {
    const char *job_id;      /**< public id (UUID) */
    const char *kind;        /**< "import" or "export" */
    const char *principal;
    const char *resource;
    const char *format;
    const char *source_path; /**< spool file, or NULL for a URL import */
    const char *source_url;
    const char *source_name; /**< an upload's file name, or NULL */
    const char *params;      /**< an export's parameters (JSON), or NULL */
    const char *mode;        /**< an import's mode, or NULL */
    const char *max_errors;  /**< an import's limit of failed records (a
                                  number), or NULL for none */
    const char *max_error_rows;  /**< an import's caps on the error entries
                                      it stores (numbers), or NULL ... */
    const char *max_error_bytes; /**< ... for none */
    const char *callback_url; /**< completion webhook, or NULL */
    const char *callback_base; /**< the API's mount, for its document */
    int dry_run;             /**< an import that applies nothing */
    int atomic;              /**< an import that applies all or nothing */
    int results;             /**< an import that keeps per-record results */
    apr_off_t bytes_total;
    int max_active;          /**< >0: refuse the job when its principal
                                  has this many pending or running jobs */
} bulkio_new_job_t;

/** Insert a pending job and, when idem is given, complete its key with
 * fingerprint, status and body, all in one transaction.
 * @return APR_SUCCESS; APR_EAGAIN when job->max_active is set and the
 *         principal has that many pending or running jobs (nothing is
 *         written); a database error, with its message in *perror (the
 *         rollback clears the connection's) */
apr_status_t bulkio_store_job_create(apr_pool_t *p, PGconn *conn,
                                     const bulkio_new_job_t *job,
                                     const bulkio_idem_t *idem,
                                     const char *fingerprint,
                                     int status, const char *body,
                                     const char **perror);

/** Whether principal has max (or more) pending or running jobs already;
 * max <= 0 means no limit (never full). */
apr_status_t bulkio_store_principal_full(apr_pool_t *p, PGconn *conn,
                                        const char *principal, int max,
                                        int *pfull);

/** A job as its status document shows it. Timestamps are RFC 3339 UTC
 * strings or NULL. */
typedef struct {
    apr_int64_t id;
    const char *job_id;
    const char *kind;
    const char *status;
    const char *resource;
    const char *format;
    const char *reason;
    const char *principal;   /**< who created it */
    const char *source;      /**< an import's file name or URL, or NULL */
    apr_int64_t total_records;
    apr_int64_t success_count;
    apr_int64_t error_count;
    apr_int64_t inserted_count;  /**< an import's successes by action */
    apr_int64_t updated_count;
    apr_int64_t unchanged_count;
    apr_int64_t deleted_count;
    apr_int64_t errors_by_type[BULKIO_ERR_LAST]; /**< failed records of
                                  bulkio_errtype_e t at [t - 1] */
    const char *mode;            /**< an import's mode */
    apr_int64_t max_errors;      /**< its limit of failed records, -1 for
                                      none */
    apr_int64_t errors_stored;   /**< an import's error entries stored */
    apr_int64_t truncated_at;    /**< the first failed record without an
                                      entry (past the caps), -1 for none */
    apr_int64_t truncated_line;  /**< ... and its line */
    int dry_run;                 /**< an import that applies nothing */
    int atomic;                  /**< ... that applies all or nothing */
    int results;                 /**< ... that keeps per-record results
                                      (1, 0), or -1: not recorded (an
                                      export, or an import older than
                                      the record) */
    apr_int64_t processed_records;
    apr_int64_t bytes_processed;
    apr_int64_t bytes_total;
    double elapsed_seconds;  /**< running time so far, or in all */
    const char *params;      /**< an export's parameters (JSON) */
    const char *source_path; /**< an export's file once completed */
    apr_int64_t file_size;   /**< an export's file size, -1 before */
    int expired;             /**< an export whose file is past its TTL */
    const char *expires_at;
    const char *created_at;
    const char *started_at;
    const char *completed_at;
    apr_int64_t created_us;  /**< created_at in microseconds since 1970 */
    apr_int64_t expires_s;   /**< expires_at in seconds since 1970, 0 */
    const char *hook_url;    /**< its completion webhook, or NULL */
    const char *hook_state;  /**< waiting, pending, sending, delivered,
                                  failed */
    const char *hook_event_id;
    apr_int64_t hook_attempts;
    apr_int64_t hook_last_status; /**< -1 for none */
    const char *hook_last_error;
    const char *hook_last_attempt_at;
    const char *hook_next_attempt_at;
    const char *hook_delivered_at;
} bulkio_job_t;

/** Which of a principal's jobs a list shows: newest first, a page of
 * limit after a position (created_at, id) when after_set. */
typedef struct {
    const char *principal;
    const char *kind;           /**< "import" or "export"; NULL: both */
    int all_kinds;              /**< a list across kinds (kind filters) */
    const char *id_prefix;      /**< the start of the job ids, or NULL */
    const char *statuses;       /**< a text[] literal of state names, or NULL */
    const char *resource;       /**< or NULL */
    const char *created_after;  /**< RFC 3339 (exclusive), or NULL */
    const char *created_before; /**< RFC 3339 (exclusive), or NULL */
    int after_set;
    apr_int64_t after_us;       /**< the position: created_at in us ... */
    apr_int64_t after_id;       /**< ... and the row id */
    int limit;
} bulkio_job_query_t;

/** The jobs q selects, newest first (created_at DESC, id DESC), at most
 * q->limit, in *pjobs (of bulkio_job_t *). */
apr_status_t bulkio_store_job_list(apr_pool_t *p, PGconn *conn,
                                   const bulkio_job_query_t *q,
                                   apr_array_header_t **pjobs);

/** The number of jobs q's filters select, on every page (its position
 * and limit aside). */
apr_status_t bulkio_store_job_count(apr_pool_t *p, PGconn *conn,
                                    const bulkio_job_query_t *q,
                                    apr_int64_t *ptotal);

/** Look up job job_id of kind for principal.
 * @return APR_SUCCESS, APR_NOTFOUND (also for another principal's job) */
apr_status_t bulkio_store_job_get(apr_pool_t *p, PGconn *conn,
                                  const char *kind, const char *principal,
                                  const char *job_id, bulkio_job_t **pjob);

/** Look up export job job_id whoever it belongs to (a signed download
 * link names it).
 * @return APR_SUCCESS, APR_NOTFOUND */
apr_status_t bulkio_store_export_get(apr_pool_t *p, PGconn *conn,
                                     const char *job_id, bulkio_job_t **pjob);

/** Ask a job of principal to stop: a pending job is canceled at once, a
 * running one at its next batch boundary.
 * @param pstatus the job's status afterwards
 * @return APR_SUCCESS, APR_NOTFOUND */
apr_status_t bulkio_store_cancel(apr_pool_t *p, PGconn *conn,
                                 const char *kind, const char *principal,
                                 const char *job_id, const char **pstatus);

/** One failed record of an import job. */
typedef struct {
    apr_int64_t record_index;
    apr_int64_t line;
    const char *field;       /**< may be NULL */
    const char *error_type;
    const char *message;
    const char *record_data; /**< may be NULL */
} bulkio_rec_error_t;

/** The first max errors of job (its row id) in record order.
 * @param perrors receives an array of bulkio_rec_error_t */
apr_status_t bulkio_store_errors_head(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, int max,
                                      apr_array_header_t **perrors);

/** Send the query of all errors of job (its row id) in record order in
 * single-row mode (bulkio_pq_send()): each result holds one row, read with
 * bulkio_store_error_at().
 * @return APR_SUCCESS, or APR_EGENERAL with conn idle */
apr_status_t bulkio_store_errors_send(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job);

/** Row i of a result of the errors query; e's text points into res. */
void bulkio_store_error_at(const PGresult *res, int i, bulkio_rec_error_t *e);

/** Record where a URL import's download went, its format and size.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds the job */
apr_status_t bulkio_store_import_source(apr_pool_t *p, PGconn *conn,
                                        apr_int64_t job, const char *owner,
                                        const char *path, const char *format,
                                        apr_off_t size);

/** Record an export job's file: at path, size bytes with records records,
 * downloadable for ttl once the job is completed. The first file recorded
 * adds its records to the running totals.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds the job
 *         or a cancel of it was asked for */
apr_status_t bulkio_store_export_file(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, const char *owner,
                                      const char *path, apr_off_t size,
                                      apr_int64_t records,
                                      apr_interval_time_t ttl);

#endif /* BULKIO_STORE_JOBS_H */
