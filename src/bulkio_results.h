/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_RESULTS_H
#define BULKIO_RESULTS_H

#include <apr_pools.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "bulkio_record.h"
#include "bulkio_util.h"

/*
 * Per-record import results (GET /v1/imports/{id}/results): what became
 * of each record, one entry per record in file order. A batch's entries
 * are kept as one row of bulkio_job_results (sql/013_results.sql), written
 * by the batch in the transaction that applies it, in a compact text:
 * one line per record,
 *
 *     <action>[<error type>]<index delta>,<line delta>,<id>\n
 *
 * action one letter (i, u, n, d, f), the error type's number after f, the
 * record index and line as differences to the entry before (the first to
 * first_record - 1 and 0), and the external id (empty for none).
 */

/** What became of a record. */
typedef enum {
    BULKIO_ACT_INSERTED = 0,
    BULKIO_ACT_UPDATED,
    BULKIO_ACT_UNCHANGED,
    BULKIO_ACT_DELETED,
    BULKIO_ACT_FAILED
} bulkio_action_e;

/** One record's entry. */
typedef struct {
    apr_int64_t index;        /**< 0-based position in the file */
    apr_int64_t line;         /**< 1-based line where it starts */
    bulkio_action_e action;
    const char *id;           /**< the row's external id, or NULL */
    bulkio_errtype_e error;   /**< a failure's type, else BULKIO_ERR_NONE */
} bulkio_result_t;

/** The entries of one batch being encoded. */
typedef struct {
    bulkio_buf_t buf;
    apr_int64_t first;        /**< the first entry's index */
    apr_int64_t prev_index;
    apr_int64_t prev_line;
    int count;
} bulkio_results_t;

/** "inserted", "updated", "unchanged", "deleted" or "failed". */
const char *bulkio_action_name(bulkio_action_e action);

/** Start encoding a batch's entries in a buffer of p. */
void bulkio_results_init(bulkio_results_t *rs, apr_pool_t *p,
                         apr_size_t cap);

/** Encode e, the next entry (in file order). */
void bulkio_results_add(bulkio_results_t *rs, const bulkio_result_t *e);

/** Store the entries of rs as the row of their batch for import job job,
 * in the transaction open on conn (nothing for no entries). With sent,
 * the statement (one transaction of its own, whose commit does not wait
 * for its WAL to reach the disk) is only sent: *sent says whether its
 * answer is left for the caller to read. */
apr_status_t bulkio_results_store(apr_pool_t *p, PGconn *conn,
                                  apr_int64_t job,
                                  const bulkio_results_t *rs, int *sent);

/** Send the query of job's batches in file order on conn in single-row
 * mode (bulkio_pq_send()), for bulkio_results_expand(). */
apr_status_t bulkio_results_send(apr_pool_t *p, PGconn *conn,
                                  apr_int64_t job);

/** Called with each entry of a batch; e and its id are valid during the
 * call only. */
typedef void bulkio_result_fn(void *baton, const bulkio_result_t *e);

/** Decode the entries of a batch whose first record is first (a row of
 * the query bulkio_results_send() sent: its columns 0 and 1) and hand them
 * to fn in file order.
 * @return APR_SUCCESS, or APR_EGENERAL at an entry that does not decode */
apr_status_t bulkio_results_expand(apr_int64_t first, const char *entries,
                                   bulkio_result_fn *fn, void *baton);

/** The id a failed record carries, as it would be stored (a UUID lower-
 * cased, or cm_ and one), or NULL when it carries no valid one. */
const char *bulkio_results_record_id(apr_pool_t *p, json_object *obj);

#endif /* BULKIO_RESULTS_H */
