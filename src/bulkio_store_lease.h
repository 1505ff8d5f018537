/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_LEASE_H
#define BULKIO_STORE_LEASE_H

#include <apr_pools.h>
#include <apr_time.h>
#include <libpq-fe.h>

/*
 * The job store's leases and checkpoints: a worker claims a job, holds it
 * with a lease it renews, records a checkpoint with every batch, resumes
 * after a database outage and ends its hold.
 */

/** Error types counted per job, in the order of bulkio_errtype_e
 * (BULKIO_ERR_PARSE first): index type - 1. */
#define BULKIO_STORE_ERR_TYPES 5

/** What an import's applied records did, in the order of the job's
 * columns inserted_count, updated_count, unchanged_count, deleted_count
 * (their sum is success_count). */
#define BULKIO_STORE_ACTS 4

/** A job a worker claimed. */
typedef struct {
    apr_int64_t id;
    const char *job_id;
    const char *kind;
    int attempts;                 /**< claims so far, this one included */
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
    apr_int64_t errors_by_type[BULKIO_STORE_ERR_TYPES]; /**< of error_count */
    apr_int64_t acts[BULKIO_STORE_ACTS]; /**< of success_count */
    const char *mode;             /**< an import's mode (bulkio_mode_e's
                                       name) */
    apr_int64_t max_errors;       /**< an import's limit of failed records,
                                       -1 for none */
    apr_int64_t max_error_rows;   /**< an import's caps on its stored error
                                       entries, -1 for none ... */
    apr_int64_t max_error_bytes;  /**< ... and their record data's bytes */
    int dry_run;                  /**< an import that applies nothing */
    int atomic;                   /**< ... that applies all or nothing */
    int atomic_applied;           /**< ... whose records were committed
                                       (bulkio_store_applied()) */
    int results;                  /**< ... that keeps per-record results
                                       (1, 0), or -1: not recorded (the
                                       server's BulkIOImportResults
                                       decides) */
} bulkio_claim_t;

/** Claim the oldest pending job (or a running one whose lease expired)
 * of the principals with the fewest running jobs, unless server already
 * runs max_jobs jobs with live leases.
 * @return APR_SUCCESS, or APR_NOTFOUND when there is nothing to claim */
apr_status_t bulkio_store_claim(apr_pool_t *p, PGconn *conn,
                                const char *server, const char *owner,
                                int max_jobs, apr_interval_time_t lease,
                                bulkio_claim_t **pclaim);

/** Copy the text of claim c into p, so that it outlives the pool the
 * claim was read with (a job thread's claim outlives the scheduler's
 * tick). */
void bulkio_store_claim_keep(apr_pool_t *p, bulkio_claim_t *c);

/** A job's counters at a batch boundary. */
typedef struct {
    apr_int64_t records;    /**< records consumed (checkpoint) */
    apr_int64_t bytes;      /**< input bytes consumed */
    apr_int64_t success;
    apr_int64_t errors;
    apr_int64_t by_type[BULKIO_STORE_ERR_TYPES]; /**< errors by type */
    apr_int64_t acts[BULKIO_STORE_ACTS]; /**< success by action */
} bulkio_progress_t;

/** Record a checkpoint inside the batch's transaction and renew the lease;
 * an import's running totals (bulkio_record_totals) grow by what the job's
 * counters grew, in the same transaction.
 * @param pcancel set when the job was asked to stop
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds the job */
apr_status_t bulkio_store_checkpoint(apr_pool_t *p, PGconn *conn,
                                     apr_int64_t job, const char *owner,
                                     apr_interval_time_t lease,
                                     const bulkio_progress_t *prog,
                                     int *pcancel);

/** Record a job's counters as bulkio_store_checkpoint() does, but leave
 * the running totals as they are: for a run whose records are not applied
 * (a dry run, an atomic import rolled back). */
apr_status_t bulkio_store_counts(apr_pool_t *p, PGconn *conn,
                                 apr_int64_t job, const char *owner,
                                 apr_interval_time_t lease,
                                 const bulkio_progress_t *prog, int *pcancel);

/** Record how far a run that commits nothing before its end (a dry run,
 * an atomic import) got: the records and bytes it consumed, for the
 * status's progress; and renew the lease. Its counters stay as they are.
 * @param pcancel set when the job was asked to stop
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds the job */
apr_status_t bulkio_store_position(apr_pool_t *p, PGconn *conn,
                                   apr_int64_t job, const char *owner,
                                   apr_interval_time_t lease,
                                   apr_int64_t records, apr_off_t bytes,
                                   int *pcancel);

/** Mark an atomic import's records applied, inside the transaction that
 * commits them: a worker that takes the job over then only finishes it.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_applied(apr_pool_t *p, PGconn *conn,
                                  apr_int64_t job, const char *owner,
                                  apr_interval_time_t lease);

/** Start job c again from its first record, in one transaction: its error
 * entries are deleted, its checkpoint and counters go back to 0 (in c
 * too; the running totals are left as they are).
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_restart(apr_pool_t *p, PGconn *conn,
                                  bulkio_claim_t *c, const char *owner);

/** Renew owner's lease on a job outside a batch.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_renew(apr_pool_t *p, PGconn *conn, apr_int64_t job,
                                const char *owner, apr_interval_time_t lease);

/** Renew owner's lease on a running job after its connection broke and
 * refresh c's checkpoint, counters, file and format from the database, so
 * the run can go on after its last committed batch.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_resume(apr_pool_t *p, PGconn *conn,
                                 bulkio_claim_t *c, const char *owner,
                                 apr_interval_time_t lease);

/** End owner's hold on a job: status "completed", "failed" or "canceled"
 * (with completed_at), or "pending" to hand it back to the queue. reason
 * is kept for failed jobs and as the last error of a released one.
 * @return APR_SUCCESS, or APR_NOTFOUND when owner no longer holds it */
apr_status_t bulkio_store_finish(apr_pool_t *p, PGconn *conn,
                                 apr_int64_t job, const char *owner,
                                 const char *status, const char *reason);

#endif /* BULKIO_STORE_LEASE_H */
