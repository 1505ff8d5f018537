/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_WRITER_H
#define BULKIO_WRITER_H

#include <apr_pools.h>
#include <apr_time.h>

#include "bulkio_batch.h"
#include "bulkio_job.h"

/*
 * The import writer: the stage after validation. It takes an import run's
 * batches in file order and owns all that writing them involves: the
 * job's connections (one, or two with batches in flight on both), the
 * transactions (several batches share one, committed with the job's
 * checkpoint and lease renewal), the resource's lock, the ids new rows
 * take (in file order, a block from the sequence at a time), and the
 * commits (in file order). What a batch does in the database is
 * bulkio_batch.h's.
 */
typedef struct bulkio_writer_t bulkio_writer_t;

/** How a writer commits. */
typedef enum {
    BULKIO_COMMIT_BATCHES,    /**< batch by batch, with the checkpoint */
    BULKIO_COMMIT_AT_END,     /**< atomic: the whole run in one
                                   transaction, committed at its end */
    BULKIO_COMMIT_NEVER       /**< dry run: the whole run in one
                                   transaction, rolled back at its end */
} bulkio_commit_e;

/** What a writer did so far. */
typedef struct {
    bulkio_progress_t prog;   /**< the job's, as of the last commit (the
                                   last batch when commit is not
                                   BULKIO_COMMIT_BATCHES) */
    apr_int64_t records;      /**< records this run committed */
    int connections;          /**< written through */
    bulkio_commit_e commit;   /**< how */
    int again;                /**< a dry run through two connections met
                                   what one connection could not see of
                                   the other's: run it again through
                                   job->conn alone (job->aux NULL) */
} bulkio_writer_stats_t;

/** Why an import stopped whose failed records (prog) passed max_errors. */
const char *bulkio_writer_over(apr_pool_t *p, const bulkio_progress_t *prog,
                               apr_int64_t max_errors);

/** How a run of the import job of claim c commits. */
bulkio_commit_e bulkio_writer_commit(const bulkio_claim_t *c);

/** The mode an import job's claim c writes its records in. */
bulkio_mode_e bulkio_writer_mode(const bulkio_claim_t *c);

/** Open the writer of an import run of job into resource res: through
 * job->conn, and job->ctl too when it is another connection; the job's
 * progress starts from its claim's checkpoint.
 *
 * A dry run, and an atomic import whose records are not committed yet,
 * write through job->conn alone, in one transaction for the whole run
 * (committed at the end only when atomic and at most max_errors records
 * failed), and need job->ctl: through it go the error entries (committed
 * at once, so a rolled back run keeps them), the progress and the lease.
 * Such a run starts again from the first record: the job's error entries
 * and counters are reset, and job->claim then points to a copy with its
 * checkpoint at 0. Neither takes the resource's lock: they hold the row
 * locks of what they write until they end. A dry run writes through
 * job->aux too when there is one: a batch that cannot meet the one in
 * flight goes beside it, as new rows, in a transaction of its own that
 * the first cannot see. Whatever one would have to see of the other (a
 * key the other wrote: the row lock it waits for ends at lock_timeout)
 * ends the run with stats' again set, to run it once more through
 * job->conn alone.
 * @param started when the run started (for its rate in progress lines)
 * @param preason why, when it fails (a database error: try again later)
 */
apr_status_t bulkio_writer_open(apr_pool_t *p, bulkio_job_ctx_t *job,
                                bulkio_resource_e res, apr_time_t started,
                                bulkio_writer_t **pw, const char **preason);

/** The batch to fill (bulkio_batch_add_row(), bulkio_batch_add_error());
 * each bulkio_writer_submit() hands out an empty one. */
bulkio_batch_t *bulkio_writer_batch(bulkio_writer_t *w);

/** Start writing the batch filled since the last submit; the database
 * works on it while the next is filled. Once it commits, the job's
 * checkpoint is records (consumed) and bytes (of input read).
 * @return BULKIO_RUN_COMPLETED, or why the run ends (canceled, stopped,
 *         lost, a database error): then bulkio_writer_abort() */
bulkio_run_e bulkio_writer_submit(bulkio_writer_t *w, apr_int64_t records,
                                  apr_off_t bytes);

/** Commit every batch submitted; with last, then write the batch being
 * filled as the end of the file (records and bytes as for
 * bulkio_writer_submit(); the checkpoint does not go back), else drop it.
 * Gives back the lock and what the connections hold open, as
 * bulkio_writer_abort() does.
 * @param preason why, for BULKIO_RUN_RETRY
 * @return BULKIO_RUN_COMPLETED, or why the run ends */
bulkio_run_e bulkio_writer_finish(bulkio_writer_t *w, int last,
                                  apr_int64_t records, apr_off_t bytes,
                                  const char **preason);

/** Roll back what is not committed, give back the resource's lock.
 * @param preason why the run ended as far as the writer knows, or NULL */
void bulkio_writer_abort(bulkio_writer_t *w, const char **preason);

/** What w did so far. */
const bulkio_writer_stats_t *bulkio_writer_stats(const bulkio_writer_t *w);

#endif /* BULKIO_WRITER_H */
