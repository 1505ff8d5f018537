/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "bulkio_pq.h"

static apr_status_t clear_result(void *res)
{
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t bulkio_pq_exec(apr_pool_t *p, PGconn *conn, const char *sql,
                            int nparams, const char *const *params,
                            PGresult **pres)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL,
                                 NULL, 0);

    if (pres) {
        *pres = res;
    }
    return bulkio_pq_result(p, res);
}

apr_status_t bulkio_pq_result(apr_pool_t *p, PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (res && p) {
        apr_pool_cleanup_register(p, res, clear_result,
                                  apr_pool_cleanup_null);
    }
    return (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
           ? APR_SUCCESS : APR_EGENERAL;
}

void bulkio_pq_rollback(PGconn *conn)
{
    bulkio_pq_drain(conn, 0);
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
}

apr_status_t bulkio_pq_count(apr_pool_t *p, PGconn *conn, const char *sql,
                             int nparams, const char *const *params,
                             int *pcount)
{
    PGresult *res;
    apr_status_t rv;

    rv = bulkio_pq_exec(p, conn, sql, nparams, params, &res);
    *pcount = rv == APR_SUCCESS ? atoi(PQcmdTuples(res)) : 0;
    return rv;
}

apr_status_t bulkio_pq_one(apr_pool_t *p, PGconn *conn, const char *sql,
                           int nparams, const char *const *params)
{
    apr_status_t rv;
    int n;

    rv = bulkio_pq_count(p, conn, sql, nparams, params, &n);
    return rv == APR_SUCCESS && n != 1 ? APR_NOTFOUND : rv;
}

apr_status_t bulkio_pq_get(apr_pool_t *p, PGconn *conn, const char *sql,
                           int nparams, const char *const *params,
                           const bulkio_pq_col_t *cols, void *row)
{
    PGresult *res;
    apr_status_t rv;

    rv = bulkio_pq_exec(p, conn, sql, nparams, params, &res);
    if (rv == APR_SUCCESS && PQntuples(res) < 1) {
        return APR_NOTFOUND;
    }
    if (rv == APR_SUCCESS) {
        bulkio_pq_row(res, 0, cols, row);
    }
    return rv;
}

apr_status_t bulkio_pq_list(apr_pool_t *p, PGconn *conn, const char *sql,
                            int nparams, const char *const *params,
                            const bulkio_pq_col_t *cols, apr_size_t size,
                            apr_array_header_t **prows)
{
    PGresult *res;
    apr_status_t rv;

    rv = bulkio_pq_exec(p, conn, sql, nparams, params, &res);
    if (rv == APR_SUCCESS) {
        *prows = bulkio_pq_rows(p, res, cols, size);
    }
    return rv;
}

/* The number of column name in res, looked for first at k. */
static int column(const PGresult *res, int k, const char *name)
{
    if (k < PQnfields(res) && !strcmp(PQfname(res, k), name)) {
        return k;
    }
    return PQfnumber(res, name);
}

void bulkio_pq_row(const PGresult *res, int i, const bulkio_pq_col_t *cols,
                   void *row)
{
    const char *v;
    char *at;
    int k, c, null;

    for (k = 0; cols[k].name; ++k) {
        if ((c = column(res, k, cols[k].name)) < 0) {
            continue;
        }
        null = PQgetisnull(res, i, c);
        v = PQgetvalue(res, i, c);
        at = (char *)row + cols[k].offset;
        switch (cols[k].type) {
        case BULKIO_PQ_TEXT:
            *(const char **)at = null ? NULL : v;
            break;
        case BULKIO_PQ_INT64:
            *(apr_int64_t *)at = null ? 0 : apr_atoi64(v);
            break;
        case BULKIO_PQ_INT:
            *(int *)at = null ? 0 : atoi(v);
            break;
        case BULKIO_PQ_BOOL:
            *(int *)at = !null && v[0] == 't';
            break;
        case BULKIO_PQ_DOUBLE:
            *(double *)at = null ? 0.0 : atof(v);
            break;
        }
    }
}

void bulkio_pq_keep(apr_pool_t *p, const bulkio_pq_col_t *cols, void *row)
{
    const char **at;
    int k;

    for (k = 0; cols[k].name; ++k) {
        if (cols[k].type == BULKIO_PQ_TEXT) {
            at = (const char **)((char *)row + cols[k].offset);
            *at = apr_pstrdup(p, *at);
        }
    }
}

apr_array_header_t *bulkio_pq_rows(apr_pool_t *p, const PGresult *res,
                                   const bulkio_pq_col_t *cols,
                                   apr_size_t size)
{
    int i, n = PQntuples(res);
    apr_array_header_t *rows = apr_array_make(p, n + 1, (int)size);
    void *row;

    for (i = 0; i < n; ++i) {
        row = apr_array_push(rows);
        memset(row, 0, size);
        bulkio_pq_row(res, i, cols, row);
    }
    return rows;
}

apr_status_t bulkio_pq_txn(apr_pool_t *p, PGconn *conn, const char *begin,
                           bulkio_pq_txn_fn *fn, void *baton,
                           const char **perror)
{
    apr_status_t rv = APR_SUCCESS;

    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        rv = bulkio_pq_exec(p, conn, begin ? begin : "BEGIN", 0, NULL, NULL);
    }
    if (rv == APR_SUCCESS) {
        rv = fn(p, conn, baton);
    }
    if (rv == APR_SUCCESS) {
        rv = bulkio_pq_exec(p, conn, "COMMIT", 0, NULL, NULL);
    }
    if (rv != APR_SUCCESS) {
        if (perror) {
            *perror = bulkio_pq_error(p, conn);
        }
        bulkio_pq_rollback(conn);
    }
    return rv;
}

apr_status_t bulkio_pq_send(PGconn *conn, const char *sql, int nparams,
                            const char *const *params)
{
    if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
        return APR_EGENERAL;
    }
    if (!PQsetSingleRowMode(conn)) {
        bulkio_pq_drain(conn, 1);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

void bulkio_pq_drain(PGconn *conn, int cancel)
{
    PGcancel *pc;
    PGresult *res;
    char err[256];

    if (cancel && (pc = PQgetCancel(conn))) {
        PQcancel(pc, err, sizeof(err));
        PQfreeCancel(pc);
    }
    while ((res = PQgetResult(conn))) {
        PQclear(res);
    }
}

const char *bulkio_pq_error(apr_pool_t *p, PGconn *conn)
{
    char *msg = apr_pstrdup(p, conn ? PQerrorMessage(conn) : "no connection");
    char *nl;

    while ((nl = strchr(msg, '\n'))) {
        *nl = nl[1] ? ' ' : '\0';
    }
    return msg;
}

apr_status_t bulkio_pq_ping(apr_pool_t *p, PGconn *conn)
{
    return bulkio_pq_exec(p, conn, "SELECT 1", 0, NULL, NULL);
}

static apr_status_t finish_conn(void *conn)
{
    PQfinish(conn);
    return APR_SUCCESS;
}

/* A connection made by libpq with keywords and values; tied to p. */
static apr_status_t connect_params(apr_pool_t *p, const char *const *keys,
                                   const char *const *values, int expand,
                                   PGconn **pout)
{
    PGconn *c = PQconnectdbParams(keys, values, expand);

    *pout = NULL;
    if (!c) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, c, finish_conn, apr_pool_cleanup_null);
    if (PQstatus(c) != CONNECTION_OK) {
        return APR_EGENERAL;
    }
    *pout = c;
    return APR_SUCCESS;
}

apr_status_t bulkio_pq_clone(apr_pool_t *p, PGconn *conn, PGconn **pout)
{
    PQconninfoOption *opts = PQconninfo(conn), *o;
    apr_array_header_t *keys = apr_array_make(p, 16, sizeof(char *));
    apr_array_header_t *values = apr_array_make(p, 16, sizeof(char *));
    apr_status_t rv;

    *pout = NULL;
    if (!opts) {
        return APR_ENOMEM;
    }
    for (o = opts; o->keyword; ++o) {
        if (o->val) {
            APR_ARRAY_PUSH(keys, const char *) = apr_pstrdup(p, o->keyword);
            APR_ARRAY_PUSH(values, const char *) = apr_pstrdup(p, o->val);
        }
    }
    PQconninfoFree(opts);
    APR_ARRAY_PUSH(keys, const char *) = NULL;
    APR_ARRAY_PUSH(values, const char *) = NULL;
    rv = connect_params(p, (const char *const *)keys->elts,
                        (const char *const *)values->elts, 0, pout);
    return rv;
}

apr_status_t bulkio_pq_connect(apr_pool_t *p, const char *conninfo,
                               PGconn **pout)
{
    static const char *const keys[] = { "dbname", NULL };
    const char *values[] = { conninfo, NULL };

    return connect_params(p, keys, values, 1, pout);
}

int bulkio_pq_revive(PGconn *conn)
{
    struct pollfd pfd;
    int i;

    if (!conn) {
        return 0;
    }
    /* an idle connection has nothing to read unless the server closed it
     * (shutdown, restart, terminated backend): then it has sent an error
     * and the end of the stream, which libpq sees one read at a time */
    for (i = 0; i < 4 && PQstatus(conn) == CONNECTION_OK
                && PQtransactionStatus(conn) == PQTRANS_IDLE; ++i) {
        pfd.fd = PQsocket(conn);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0 || !PQconsumeInput(conn)) {
            break;
        }
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        PQreset(conn);
    }
    return PQstatus(conn) == CONNECTION_OK;
}

int bulkio_pq_broken(PGconn *conn)
{
    return !conn || PQstatus(conn) != CONNECTION_OK;
}

const char *bulkio_pq_int64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

const char *bulkio_pq_secs(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT " seconds",
                        (apr_int64_t)apr_time_sec(t));
}
