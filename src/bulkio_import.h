/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_IMPORT_H
#define BULKIO_IMPORT_H

#include <apr_pools.h>
#include <libpq-fe.h>

#include "bulkio_format.h"
#include "bulkio_record.h"
#include "bulkio_store.h"

/** Levels of bulkio_log_fn, as syslog numbers them (and httpd too). */
#define BULKIO_LOG_ERR    3
#define BULKIO_LOG_NOTICE 5
#define BULKIO_LOG_INFO   6

/** Where the core's log lines go; the glue installs one. */
typedef void bulkio_log_fn(void *baton, int level, const char *msg);

/** An import job as its worker runs it. */
typedef struct {
    PGconn *conn;
    const bulkio_claim_t *claim;
    const char *owner;             /**< lease owner */
    apr_interval_time_t lease;
    int batch_size;
    apr_size_t max_record;
    volatile int *stop;            /**< raised when the server stops */
    bulkio_log_fn *log;
    void *log_baton;
} bulkio_import_t;

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
bulkio_run_e bulkio_import_run(apr_pool_t *p, bulkio_import_t *job,
                               const char **preason);

/** The process's resident memory in bytes, 0 when unknown. */
apr_int64_t bulkio_rss_bytes(void);

#endif /* BULKIO_IMPORT_H */
