/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_PQ_H
#define BULKIO_PQ_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <libpq-fe.h>

/*
 * The thin PostgreSQL layer under the job store and the writers: run a
 * statement with text parameters (its result cleared with a pool), read
 * rows into structs through a table of columns, run a function in one
 * transaction, send a query in single-row mode, and the health of a
 * connection (errors, ping, reconnecting).
 */

/** How a column's text is read into a struct's field. */
typedef enum {
    BULKIO_PQ_TEXT,    /**< const char *: into the result, NULL for NULL */
    BULKIO_PQ_INT64,   /**< apr_int64_t, 0 for NULL */
    BULKIO_PQ_INT,     /**< int, 0 for NULL */
    BULKIO_PQ_BOOL,    /**< int: 1 for true, 0 for false and NULL */
    BULKIO_PQ_DOUBLE   /**< double, 0 for NULL */
} bulkio_pq_type_e;

/** One field of a struct a row is read into. A table of them ends with
 * BULKIO_PQ_END. */
typedef struct {
    const char *name;        /**< the column's label in the result */
    bulkio_pq_type_e type;
    apr_size_t offset;       /**< of the field: offsetof() */
} bulkio_pq_col_t;

/** The field member of struct type st, read from the column labelled
 * like the member, as type (TEXT, INT64, INT, BOOL, DOUBLE). */
#define BULKIO_PQ_COL(st, member, type) \
    { #member, BULKIO_PQ_##type, offsetof(st, member) }

/** The end of a table of columns. */
#define BULKIO_PQ_END { NULL, BULKIO_PQ_TEXT, 0 }

/** Run sql with text parameters; the result is cleared with pool p.
 * @return APR_SUCCESS when the command succeeded, else APR_EGENERAL
 *         (*pres is then the failed result, or NULL when there is none) */
apr_status_t bulkio_pq_exec(apr_pool_t *p, PGconn *conn, const char *sql,
                            int nparams, const char *const *params,
                            PGresult **pres);

/** Run a command and count the rows it affected (or returned).
 * @param pcount the count, 0 when the command failed */
apr_status_t bulkio_pq_count(apr_pool_t *p, PGconn *conn, const char *sql,
                             int nparams, const char *const *params,
                             int *pcount);

/** Run a command that must affect (or return) exactly one row.
 * @return APR_SUCCESS, APR_NOTFOUND when it touched none (or more), or
 *         APR_EGENERAL */
apr_status_t bulkio_pq_one(apr_pool_t *p, PGconn *conn, const char *sql,
                           int nparams, const char *const *params);

/** Run a query and read its first row into row (bulkio_pq_row()); text
 * fields live as long as p.
 * @return APR_SUCCESS, APR_NOTFOUND when it returned no row, or
 *         APR_EGENERAL */
apr_status_t bulkio_pq_get(apr_pool_t *p, PGconn *conn, const char *sql,
                           int nparams, const char *const *params,
                           const bulkio_pq_col_t *cols, void *row);

/** Run a query and read all its rows (bulkio_pq_rows()) into *prows, an
 * array of structs of size bytes each; text fields live as long as p. */
apr_status_t bulkio_pq_list(apr_pool_t *p, PGconn *conn, const char *sql,
                            int nparams, const char *const *params,
                            const bulkio_pq_col_t *cols, apr_size_t size,
                            apr_array_header_t **prows);

/** Read row i of res into the struct at row: each field of cols from the
 * column of its name (found at once where the query lists the columns in
 * the table's order). A field whose column res lacks is left as it is.
 * Text fields point into res. */
void bulkio_pq_row(const PGresult *res, int i, const bulkio_pq_col_t *cols,
                   void *row);

/** Copy the text fields that cols names in row into p, so that row
 * outlives the result it was read from. */
void bulkio_pq_keep(apr_pool_t *p, const bulkio_pq_col_t *cols, void *row);

/** Every row of res, read with bulkio_pq_row() into an array (in p) of
 * structs of size bytes, zeroed first. */
apr_array_header_t *bulkio_pq_rows(apr_pool_t *p, const PGresult *res,
                                   const bulkio_pq_col_t *cols,
                                   apr_size_t size);

/** Work done inside a transaction. */
typedef apr_status_t bulkio_pq_txn_fn(apr_pool_t *p, PGconn *conn,
                                      void *baton);

/** Run fn in one transaction: begin (NULL: "BEGIN"), fn, COMMIT when fn
 * returned APR_SUCCESS, else ROLLBACK. A transaction conn has open already
 * (a spool object's) is joined: it commits or rolls back with fn's.
 * @param perror if not NULL, on failure the database's message, read
 *        before the rollback clears it
 * @return what fn returned, or the failure of BEGIN or COMMIT */
apr_status_t bulkio_pq_txn(apr_pool_t *p, PGconn *conn, const char *begin,
                           bulkio_pq_txn_fn *fn, void *baton,
                           const char **perror);

/** Send query sql with text parameters in libpq's single-row mode: its
 * rows are then read one result at a time with PQgetResult(), and the
 * query ended with bulkio_pq_drain().
 * @return APR_SUCCESS, or APR_EGENERAL with conn idle */
apr_status_t bulkio_pq_send(PGconn *conn, const char *sql, int nparams,
                            const char *const *params);

/** Discard the results of the query conn runs, after asking the server
 * to stop it when cancel is set; conn is idle afterwards. */
void bulkio_pq_drain(PGconn *conn, int cancel);

/** Whether res (NULL: no result) is a statement's success: COMMAND_OK or
 * TUPLES_OK. With p, res is cleared when p is.
 * @return APR_SUCCESS or APR_EGENERAL */
apr_status_t bulkio_pq_result(apr_pool_t *p, PGresult *res);

/** Read what is left of conn's results and roll back what it has open. */
void bulkio_pq_rollback(PGconn *conn);

/** The last error of conn, one line, for logs. */
const char *bulkio_pq_error(apr_pool_t *p, PGconn *conn);

/** Open a new connection to the database conn is connected to, with the
 * same parameters; it is closed when p is cleaned up.
 * @return APR_SUCCESS, or APR_EGENERAL (*pout NULL) */
apr_status_t bulkio_pq_clone(apr_pool_t *p, PGconn *conn, PGconn **pout);

/** Open a connection with conninfo (closed when p is cleaned up); the
 * conninfo may hold a password: it is never logged.
 * @return APR_SUCCESS, or APR_EGENERAL with *pout NULL */
apr_status_t bulkio_pq_connect(apr_pool_t *p, const char *conninfo,
                               PGconn **pout);

/** APR_SUCCESS when the database answers a query. */
apr_status_t bulkio_pq_ping(apr_pool_t *p, PGconn *conn);

/** Make sure conn is usable: an idle connection the server has closed
 * (shutdown, restart) is noticed without a round trip, and a broken one is
 * reconnected in place (what mod_dbd's own check does).
 * @return non-zero when conn is connected afterwards */
int bulkio_pq_revive(PGconn *conn);

/** Non-zero when conn lost its server (so an error on it was an outage,
 * not a statement that failed). */
int bulkio_pq_broken(PGconn *conn);

/** v as a parameter's text. */
const char *bulkio_pq_int64(apr_pool_t *p, apr_int64_t v);

/** t in whole seconds as the text PostgreSQL reads into an interval. */
const char *bulkio_pq_secs(apr_pool_t *p, apr_interval_time_t t);

#endif /* BULKIO_PQ_H */
