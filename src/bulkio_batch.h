/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_BATCH_H
#define BULKIO_BATCH_H

#include <apr_pools.h>
#include <libpq-fe.h>

#include "bulkio_record.h"
#include "bulkio_util.h"

/** The most columns a resource has. */
#define BULKIO_MAX_COLS 8

/*
 * A batch in the database: collects a batch of validated rows and failed
 * records, then writes them set-based inside a transaction the import
 * writer (bulkio_writer.h) opened: COPY into a temporary staging table;
 * when no key repeats in the batch, one insert of all its rows as new
 * ones, tried in a savepoint (users, which reference nothing: COPY
 * straight into the table instead of the staging COPY and the insert,
 * then, if that fails, staged); else (or when a row meets an existing one)
 * one upsert statement per segment of rows (the rows of a segment touch
 * no row in common, and segments apply in file order, so a batch that
 * updates one record twice ends as the file says); then COPY of the
 * error entries. Only the writer sends batches.
 */
typedef struct bulkio_batch_t bulkio_batch_t;

/** A job run's staging on its connection (its batches' numbers). */
typedef struct bulkio_stage_t bulkio_stage_t;

/** What a flushed batch did. */
typedef struct {
    apr_int64_t applied;   /**< records applied: the four below */
    apr_int64_t inserted;
    apr_int64_t updated;   /**< rows an update changed */
    apr_int64_t unchanged; /**< rows an update left as they were */
    apr_int64_t deleted;
    apr_int64_t failed;    /**< records with an error entry */
    apr_int64_t by_type[BULKIO_ERR_LAST + 1]; /**< failed, indexed by
                                                   bulkio_errtype_e */
    int staged;            /**< its rows went through the staging table */
} bulkio_batch_result_t;

/** Create the staging table for res on conn and prepare its apply
 * statement for mode (both once per connection; outside a transaction is
 * fine), and the staging of a job run, allocated from p. Modes update and
 * delete never try the insert statement. */
apr_status_t bulkio_batch_setup(apr_pool_t *p, PGconn *conn,
                                bulkio_resource_e res, bulkio_mode_e mode,
                                bulkio_stage_t **pstage);

/** Cap what the job of stage stores of its error entries (-1: no cap):
 * at most max_rows entries and max_bytes bytes of their record data, those
 * of its failed records before the first one past either. Failed records
 * past the caps are counted (bulkio_batch_result_t.failed) but not stored.
 * Without caps (the default), every entry is stored and the job's row is
 * not told. What the job stored so far is read from its row, so the caps
 * hold across runs and workers. */
void bulkio_batch_error_caps(bulkio_stage_t *stage, apr_int64_t max_rows,
                             apr_int64_t max_bytes);

/** The staging table of stage's resource (its name names the resource's
 * lock too). */
const char *bulkio_batch_table(const bulkio_stage_t *stage);

/** The sequence of the ids of stage's resource. */
const char *bulkio_batch_sequence(const bulkio_stage_t *stage);

/** Write the error entries of stage's batches through conn, committed at
 * once, not in the batch's transaction: so they outlive a run whose
 * transaction is rolled back (a dry run, an atomic import that fails).
 * NULL: in the batch's transaction (the default). */
void bulkio_batch_errors_to(bulkio_stage_t *stage, PGconn *conn);

/** Store the result of each record of stage's batches (on: 1; the
 * default is 0), one row of bulkio_job_results per batch
 * (bulkio_results.h), through conn (committed at once: a dry run's, whose
 * transaction is rolled back) or, when NULL, in the batch's transaction.
 * Through conn, a batch's results are sent, not waited for: read them
 * with bulkio_batch_side_wait() before anything else goes through conn. */
void bulkio_batch_results(bulkio_stage_t *stage, int on, PGconn *conn);

/** New rows of stage's batches take ids of their own below zero, rising
 * with the record's index, not the table's sequence: for a run that never
 * commits (a dry run), whose ids nobody sees, so that it does not spend
 * the sequence's. */
void bulkio_batch_own_ids(bulkio_stage_t *stage);

/** Send b as new rows only (it must be bulkio_batch_independent() of
 * some batch), on conn: for a transaction beside another one that cannot
 * see its rows. bulkio_batch_finish() then returns APR_EAGAIN when they
 * could not all be inserted as they are: nothing of b is written, and b
 * was not stored. */
apr_status_t bulkio_batch_send_new(bulkio_batch_t *b, PGconn *conn,
                                   const apr_int64_t *ids);

/** Read what the batches sent through the connection of their results
 * (bulkio_batch_results()) and not waited for; an error if it failed. */
apr_status_t bulkio_batch_side_wait(bulkio_stage_t *stage);

/** A new, empty batch of stage; its memory comes from a subpool of p,
 * cleared on each bulkio_batch_reset(). */
bulkio_batch_t *bulkio_batch_create(apr_pool_t *p, bulkio_stage_t *stage,
                                    bulkio_resource_e res);

/** Add a valid record with its normalized columns and presence bits (as
 * bulkio_validate_mode() gave them). */
void bulkio_batch_add_row(bulkio_batch_t *b, const bulkio_record_t *rec,
                          const char *const *cols, unsigned int pres);

/** Add a record that failed (parse or validation). */
void bulkio_batch_add_error(bulkio_batch_t *b, const bulkio_record_t *rec,
                            const bulkio_verdict_t *v);

/** Records in the batch, valid or not. */
int bulkio_batch_size(const bulkio_batch_t *b);

/** Can b be written on another connection while prev is not committed?
 * Only when no key of b is one of prev's (and b deletes nothing; with
 * as_new, when b is to be tried as new rows): then neither writes a row
 * the other does. Where b meets a row that prev changes, b tried as new
 * rows waits for prev in a unique index; b applied may have read the row
 * as it was: bulkio_batch_meets() tells, once prev is finished. */
int bulkio_batch_independent(const bulkio_batch_t *b,
                             const bulkio_batch_t *prev, int as_new);

/** Did b, sent beside prev (bulkio_batch_independent()) and not yet
 * finished, read a row as it was before prev (finished) changed it? Only
 * when b was applied and one of its keys is an email or slug that prev's
 * updates gave up: b is then sent again (bulkio_batch_resend()) once prev
 * is committed. */
int bulkio_batch_meets(const bulkio_batch_t *b, const bulkio_batch_t *prev);

/** Start writing the batch inside a transaction the caller opened (others
 * of its batches may come before it in it): stage its rows and leave the
 * first statement running, so that the caller can parse the next batch
 * meanwhile. Then bulkio_batch_finish(), before any other use of conn. On
 * failure the caller rolls back. New rows take their internal ids in file
 * order from ids (one per record of the batch, taken from
 * bulkio_batch_sequence()), or, when NULL, from the sequence as they are
 * written. */
apr_status_t bulkio_batch_send(bulkio_batch_t *b, PGconn *conn,
                               const apr_int64_t *ids);

/** Send b again as bulkio_batch_send() applied it, in a new transaction
 * (the caller rolled back the one it was sent in, unfinished). */
apr_status_t bulkio_batch_resend(bulkio_batch_t *b, PGconn *conn);

/** Finish writing the batch for import job job (and its error entries, as
 * many as the stage's caps leave room for, bulkio_batch_error_caps()).
 * On failure the caller reads what is left of results and rolls back. */
apr_status_t bulkio_batch_finish(bulkio_batch_t *b, PGconn *conn,
                                 apr_int64_t job,
                                 bulkio_batch_result_t *result);

/** Empty the batch and release its memory. */
void bulkio_batch_reset(bulkio_batch_t *b);

/** Append s to buf as a COPY text-format field (NULL as \N). */
void bulkio_copy_field(bulkio_buf_t *buf, const char *s);

#endif /* BULKIO_BATCH_H */
