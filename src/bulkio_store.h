/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_H
#define BULKIO_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <libpq-fe.h>

/*
 * The job store: every SQL statement about jobs, record errors and
 * idempotency keys, parameterized, over a libpq connection (the native
 * handle of a mod_dbd connection).
 */

/** Run sql with text parameters; the result is cleared with pool p.
 * @return APR_SUCCESS when the command succeeded, else APR_EGENERAL
 *         (*pres is then the failed result, or NULL when there is none) */
apr_status_t bulkio_pq_exec(apr_pool_t *p, PGconn *conn, const char *sql,
                            int nparams, const char *const *params,
                            PGresult **pres);

/** The last error of conn, one line, for logs. */
const char *bulkio_pq_error(apr_pool_t *p, PGconn *conn);

/** APR_SUCCESS when the database answers a query. */
apr_status_t bulkio_store_ping(apr_pool_t *p, PGconn *conn);

/** Where an Idempotency-Key stands after bulkio_store_idem_claim(). */
typedef enum {
    BULKIO_IDEM_CLAIMED,  /**< new: this request owns the key */
    BULKIO_IDEM_BUSY,     /**< its first request is still being received */
    BULKIO_IDEM_DONE      /**< completed: compare fingerprints, replay */
} bulkio_idem_state_e;

/** An Idempotency-Key's scope and, once done, its stored outcome. */
typedef struct {
    const char *principal;
    const char *endpoint;
    const char *key;
    bulkio_idem_state_e state;
    const char *fingerprint;   /**< of the request that completed */
    int status;                /**< the response to replay */
    const char *body;
    const char *job_id;
} bulkio_idem_t;

/** Claim idem's key for a new request (expired keys are dropped first);
 * fills idem->state and, for a done key, its stored outcome.
 * @param lease how long the claim holds unless renewed
 * @param ttl how long a completed key is kept */
apr_status_t bulkio_store_idem_claim(apr_pool_t *p, PGconn *conn,
                                     bulkio_idem_t *idem,
                                     apr_interval_time_t lease,
                                     apr_interval_time_t ttl);

/** Extend the claim on a key whose request is still being received. */
apr_status_t bulkio_store_idem_renew(apr_pool_t *p, PGconn *conn,
                                     const bulkio_idem_t *idem,
                                     apr_interval_time_t lease);

/** Drop a claim whose request did not complete. */
apr_status_t bulkio_store_idem_release(apr_pool_t *p, PGconn *conn,
                                       const bulkio_idem_t *idem);

/** A new job. */
typedef struct {
    const char *job_id;      /**< public id (UUID) */
    const char *kind;        /**< "import" or "export" */
    const char *principal;
    const char *resource;
    const char *format;
    const char *source_path; /**< spool file, or NULL for a URL import */
    const char *source_url;
    const char *params;      /**< an export's parameters (JSON), or NULL */
    apr_off_t bytes_total;
} bulkio_new_job_t;

/** Insert a pending job and, when idem is given, complete its key with
 * fingerprint, status and body, all in one transaction. */
apr_status_t bulkio_store_job_create(apr_pool_t *p, PGconn *conn,
                                     const bulkio_new_job_t *job,
                                     const bulkio_idem_t *idem,
                                     const char *fingerprint,
                                     int status, const char *body);

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
    apr_int64_t total_records;
    apr_int64_t success_count;
    apr_int64_t error_count;
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
} bulkio_job_t;

/** Which of a principal's jobs a list shows: newest first, a page of
 * limit after a position (created_at, id) when after_set. */
typedef struct {
    const char *principal;
    const char *kind;           /**< "import" or "export" */
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

/** Look up job job_id of kind for principal.
 * @return APR_SUCCESS, APR_NOTFOUND (also for another principal's job) */
apr_status_t bulkio_store_job_get(apr_pool_t *p, PGconn *conn,
                                  const char *kind, const char *principal,
                                  const char *job_id, bulkio_job_t **pjob);

/** One failed record of an import job. */
typedef struct {
    apr_int64_t record_index;
    apr_int64_t line;
    const char *field;       /**< may be NULL */
    const char *error_type;
    const char *message;
    const char *record_data; /**< may be NULL */
} bulkio_rec_error_t;

/** The errors of job $1 in record order, rows as bulkio_store_error_at()
 * reads them. */
#define BULKIO_STORE_ERRORS_SQL \
    "SELECT record_index, line, field, error_type, error_message," \
    "       record_data" \
    "  FROM bulkio_job_errors WHERE job_id = $1 ORDER BY record_index"

/** The first max errors of a job in record order.
 * @param pres receives the result; row i is read with bulkio_store_error_at */
apr_status_t bulkio_store_errors_head(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, int max,
                                      PGresult **pres);

/** Row i of an errors result. */
void bulkio_store_error_at(const PGresult *res, int i, bulkio_rec_error_t *e);

/** A job a worker claimed. */
typedef struct {
    apr_int64_t id;
    const char *job_id;
    const char *kind;
    const char *resource;
    const char *format;
    const char *source_path;
    const char *source_url;
    const char *params;           /**< an export's parameters (JSON) */
    const char *reason;           /**< the last attempt's error, if any */
    apr_int64_t checkpoint_records;
    apr_int64_t checkpoint_bytes;
    apr_int64_t total_records;
    apr_int64_t success_count;
    apr_int64_t error_count;
    int attempts;                 /**< claims so far, this one included */
} bulkio_claim_t;

/** Claim the oldest pending job, or a running one whose lease expired,
 * unless server already runs max_jobs jobs with live leases.
 * @return APR_SUCCESS, or APR_NOTFOUND when there is nothing to claim */
apr_status_t bulkio_store_claim(apr_pool_t *p, PGconn *conn,
                                const char *server, const char *owner,
                                int max_jobs, apr_interval_time_t lease,
                                bulkio_claim_t **pclaim);

/** A job's counters at a batch boundary. */
typedef struct {
    apr_int64_t records;    /**< records consumed (checkpoint) */
    apr_int64_t bytes;      /**< input bytes consumed */
    apr_int64_t success;
    apr_int64_t errors;
} bulkio_progress_t;

/** Record a checkpoint inside the batch's transaction and renew the lease.
 * @param pcancel set when the job was asked to stop
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds the job */
apr_status_t bulkio_store_checkpoint(apr_pool_t *p, PGconn *conn,
                                     apr_int64_t job, const char *owner,
                                     apr_interval_time_t lease,
                                     const bulkio_progress_t *prog,
                                     int *pcancel);

/** Renew owner's lease on a job outside a batch.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_renew(apr_pool_t *p, PGconn *conn, apr_int64_t job,
                                const char *owner, apr_interval_time_t lease);

/** End owner's hold on a job: status "completed", "failed" or "canceled"
 * (with completed_at), or "pending" to hand it back to the queue. reason
 * is kept for failed jobs and as the last error of a released one.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_finish(apr_pool_t *p, PGconn *conn,
                                 apr_int64_t job, const char *owner,
                                 const char *status, const char *reason);

/** Ask a job of principal to stop: a pending job is canceled at once, a
 * running one at its next batch boundary.
 * @param pstatus the job's status afterwards
 * @return APR_SUCCESS, APR_NOTFOUND */
apr_status_t bulkio_store_cancel(apr_pool_t *p, PGconn *conn,
                                 const char *kind, const char *principal,
                                 const char *job_id, const char **pstatus);

/** Record where a URL import's download went, its format and size.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds the job */
apr_status_t bulkio_store_import_source(apr_pool_t *p, PGconn *conn,
                                        apr_int64_t job, const char *owner,
                                        const char *path, const char *format,
                                        apr_off_t size);

/** Record an export job's file: at path, size bytes with records records,
 * downloadable for ttl once the job is completed.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds the job */
apr_status_t bulkio_store_export_file(apr_pool_t *p, PGconn *conn,
                                      apr_int64_t job, const char *owner,
                                      const char *path, apr_off_t size,
                                      apr_int64_t records,
                                      apr_interval_time_t ttl);

/** Forget the files of exports past their TTL; *pres lists their paths
 * (column 0) for the caller to remove. */
apr_status_t bulkio_store_expire_exports(apr_pool_t *p, PGconn *conn,
                                         PGresult **pres);

/** Jobs by kind and status (every pair, zeros included). */
typedef struct {
    const char *kind;
    const char *status;
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

/* ---- connection health, resuming after a database outage, retention ---- */

/** Make sure conn is usable: an idle connection the server has closed
 * (shutdown, restart) is noticed without a round trip, and a broken one is
 * reconnected in place (what mod_dbd's own check does).
 * @return non-zero when conn is connected afterwards */
int bulkio_pq_revive(PGconn *conn);

/** Non-zero when conn lost its server (so an error on it was an outage,
 * not a statement that failed). */
int bulkio_pq_broken(PGconn *conn);

/** Renew owner's lease on a running job after its connection broke and
 * refresh c's checkpoint and counters from the database, so the run can go
 * on after its last committed batch.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_resume(apr_pool_t *p, PGconn *conn,
                                 bulkio_claim_t *c, const char *owner,
                                 apr_interval_time_t lease);

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

/** What the jobs of ids (a uuid[] literal) want of the spool: rows of
 * (public id, 't' when the job is pending or running, the file name of its
 * recorded file or ''). Names, not paths, so servers that mount a shared
 * spool at different paths agree. */
apr_status_t bulkio_store_spool_refs(apr_pool_t *p, PGconn *conn,
                                     const char *ids, PGresult **pres);

#endif /* BULKIO_STORE_H */
