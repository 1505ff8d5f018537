/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_JOB_H
#define BULKIO_JOB_H

#include <apr_pools.h>
#include <libpq-fe.h>

#include "bulkio_format.h"
#include "bulkio_record.h"
#include "bulkio_spool.h"
#include "bulkio_store_lease.h"

/** Levels of bulkio_log_fn, as syslog numbers them (and httpd too). */
#define BULKIO_LOG_ERR    3
#define BULKIO_LOG_NOTICE 5
#define BULKIO_LOG_INFO   6

/** Where the core's log lines go; the glue installs one. */
typedef void bulkio_log_fn(void *baton, int level, const char *msg);

/** A job as its worker runs it. */
typedef struct {
    PGconn *conn;
    PGconn *ctl;                   /**< exports: a second connection for the
                                        job's row while conn reads;
                                        imports: a second one to write
                                        through (conn: write through one) */
    PGconn *aux;                   /**< dry runs: a third connection, to
                                        write beside conn (NULL: none) */
    const bulkio_claim_t *claim;
    const char *owner;             /**< lease owner */
    apr_interval_time_t lease;
    int batch_size;
    apr_size_t max_record;
    int results;                   /**< imports: store each record's result
                                        (BulkIOImportResults) */
    apr_off_t max_inflated;        /**< imports: bytes a gzip file may
                                        inflate to (0: no bound) */
    const char *spool_dir;         /**< the spool's directory */
    const bulkio_spool_conf_t *spool; /**< where downloads and exports go */
    const struct bulkio_fetch_opts_t *fetch; /**< URL imports' limits */
    apr_interval_time_t ttl;       /**< exports: how long it stays */
    volatile int *stop;            /**< raised when the server stops */
    bulkio_log_fn *log;
    void *log_baton;
} bulkio_job_ctx_t;

/** How a run of a job ended. */
typedef enum {
    BULKIO_RUN_COMPLETED,  /**< every record applied or failed */
    BULKIO_RUN_CANCELED,   /**< asked to stop (DELETE) */
    BULKIO_RUN_STOPPED,    /**< the server stops: hand the job back */
    BULKIO_RUN_LOST,       /**< another worker holds the job now */
    BULKIO_RUN_FAILED,     /**< cannot go on: the input is unreadable */
    BULKIO_RUN_RETRY       /**< a database error: try again later */
} bulkio_run_e;

/**
 * Run an import: parse the spool file, validate, write in batches of one
 * transaction each with the job's checkpoint. Records before the claim's
 * checkpoint are skipped, so a job taken over resumes after its last
 * committed batch.
 * @param preason why, for FAILED and RETRY
 */
bulkio_run_e bulkio_import_run(apr_pool_t *p, bulkio_job_ctx_t *job,
                               const char **preason);

/**
 * Run an export job: stream the query's rows on conn as the database sends
 * them (bulkio_export_stream()) into a temporary file in the spool
 * directory, renamed when complete; progress and the lease go through ctl
 * between chunks. A job taken over starts its file again.
 * @param preason why, for FAILED and RETRY
 */
bulkio_run_e bulkio_export_run(apr_pool_t *p, bulkio_job_ctx_t *job,
                               const char **preason);

/** Log a line about job (a printf format). */
void bulkio_job_log(bulkio_job_ctx_t *job, apr_pool_t *p, int level,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Records per second since started. */
apr_int64_t bulkio_rows_per_sec(apr_int64_t records, apr_time_t started);

/** Log a job's progress line (the form docs/api.md gives). */
void bulkio_job_progress(bulkio_job_ctx_t *job, apr_pool_t *p,
                         const bulkio_progress_t *prog,
                         apr_int64_t run_records, apr_time_t started);

/** The process's resident memory in bytes, 0 when unknown. */
apr_int64_t bulkio_rss_bytes(void);

#endif /* BULKIO_JOB_H */
