/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* The spool's database backend: an object is a PostgreSQL large object,
 * written in one transaction with the row that names it ("lo:<oid>");
 * read in a read-only transaction. The rows' trigger
 * (sql/010_spool_replica.sql) unlinks an object once no row wants it.
 *
 * Writes go in libpq's pipeline mode: each 256 KiB is sent as
 * lowrite(fd, data) with binary parameters and the caller goes on (the
 * upload is received) while the server writes it; at most LO_INFLIGHT
 * writes are unanswered, so memory stays bounded. Closing reads the last
 * answers and leaves pipeline mode; discarding does too, then rolls the
 * transaction back with the object. */

/* before APR: its ring macros then use offsetof (no NULL arithmetic) */
#include <stddef.h>
#include <stdlib.h>
#include <poll.h>
#include <errno.h>
#include <arpa/inet.h>

#include <apr_strings.h>
#include <libpq/libpq-fs.h>

#include "bulkio_pq.h"
#include "bulkio_spool_be.h"

#define LO_PREFIX  "lo:"
#define LO_WBUF    (256 * 1024)   /* writes are gathered up to this */
#define LO_RCHUNK  (256 * 1024)   /* a bucket reads this much at a time */
#define LO_INFLIGHT 4             /* writes sent and not yet answered */
#define LO_WRITE_SQL "SELECT pg_catalog.lowrite($1, $2)"
#define LO_READ_SQL  "SELECT pg_catalog.loread($1, $2)"
#define INT4OID    23
#define BYTEAOID   17

/* Whether ref names a large object; its oid into *poid. */
static int lo_ref(const char *ref, Oid *poid)
{
    char *end;
    unsigned long v;

    if (!ref || strncmp(ref, LO_PREFIX, sizeof(LO_PREFIX) - 1)) {
        return 0;
    }
    v = strtoul(ref + sizeof(LO_PREFIX) - 1, &end, 10);
    if (*end || !v || v > 0xffffffffUL) {
        return 0;
    }
    *poid = (Oid)v;
    return 1;
}

static int lo_owns(const char *ref)
{
    Oid oid;

    return lo_ref(ref, &oid);
}

/* Begin a transaction on conn unless one is open; fails on an aborted
 * one. */
static apr_status_t lo_txn(apr_pool_t *p, PGconn *conn, const char *begin)
{
    switch (PQtransactionStatus(conn)) {
    case PQTRANS_IDLE:
        return bulkio_pq_exec(p, conn, begin, 0, NULL, NULL);
    case PQTRANS_INTRANS:
        return APR_SUCCESS;
    default:
        return APR_EGENERAL;
    }
}

/* The connection an object is written or read on: conn, or a new one
 * made like it. */
static apr_status_t lo_conn(apr_pool_t *p, PGconn *conn, int flags,
                            PGconn **pown)
{
    *pown = NULL;
    if (!conn) {
        return APR_EINVAL;
    }
    if (flags & BULKIO_SPOOL_OWN_CONN) {
        return bulkio_pq_clone(p, conn, pown);
    }
    return APR_SUCCESS;
}

static apr_status_t lo_begin(bulkio_spool_t *s, int flags)
{
    PGconn *conn;
    apr_status_t rv;

    if ((rv = lo_conn(s->pool, s->conn, flags, &s->own)) != APR_SUCCESS) {
        return rv;
    }
    conn = bulkio_spool_conn(s);
    if ((rv = lo_txn(s->pool, conn, "BEGIN")) != APR_SUCCESS) {
        return rv;
    }
    s->oid = lo_creat(conn, INV_READ | INV_WRITE);
    if (s->oid == InvalidOid
        || (s->fd = lo_open(conn, s->oid, INV_WRITE)) < 0) {
        bulkio_pq_rollback(conn);
        return APR_EGENERAL;
    }
    s->path = apr_psprintf(s->pool, LO_PREFIX "%u", (unsigned int)s->oid);
    s->wbuf = apr_palloc(s->pool, LO_WBUF);
    if (PQsetnonblocking(conn, 1) || !PQenterPipelineMode(conn)) {
        PQsetnonblocking(conn, 0);
        bulkio_pq_rollback(conn);
        return APR_EGENERAL;
    }
    s->piped = 1;
    return APR_SUCCESS;
}

/* Wait until conn can be read, or written while output is queued. */
static apr_status_t lo_poll(PGconn *conn, int queued)
{
    struct pollfd pfd;
    int n;

    pfd.fd = PQsocket(conn);
    pfd.events = POLLIN | (queued ? POLLOUT : 0);
    pfd.revents = 0;
    if (pfd.fd < 0) {
        return APR_EGENERAL;
    }
    do {
        n = poll(&pfd, 1, -1);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? APR_FROM_OS_ERROR(errno) : APR_SUCCESS;
}

/* Read the answer to the oldest write sent: wait for it when block, else
 * take it only when it is there (APR_EAGAIN when not). */
static apr_status_t lo_answer(bulkio_spool_t *s, int block)
{
    PGconn *conn = bulkio_spool_conn(s);
    PGresult *res;
    apr_status_t rv = APR_EGENERAL;
    apr_uint32_t n;
    int queued;

    for (;;) {
        if ((queued = PQflush(conn)) < 0 || !PQconsumeInput(conn)) {
            return APR_EGENERAL;
        }
        if (!PQisBusy(conn)) {
            break;
        }
        if (!block) {
            return APR_EAGAIN;
        }
        if ((rv = lo_poll(conn, queued)) != APR_SUCCESS) {
            return rv;
        }
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
        && PQgetlength(res, 0, 0) == 4) {
        memcpy(&n, PQgetvalue(res, 0, 0), 4);
        s->written += (apr_off_t)ntohl(n);
        rv = APR_SUCCESS;
    }
    PQclear(res);
    /* a query's results end with a NULL, there at once */
    while ((res = PQgetResult(conn))) {
        PQclear(res);
        rv = APR_EGENERAL;
    }
    --s->inflight;
    return rv;
}

/* Send what is gathered as one write; the caller goes on while the
 * server writes it. */
static apr_status_t lo_flush(bulkio_spool_t *s)
{
    static const Oid types[2] = { INT4OID, BYTEAOID };
    static const int formats[2] = { 1, 1 };
    PGconn *conn = bulkio_spool_conn(s);
    apr_uint32_t fd = htonl((apr_uint32_t)s->fd);
    const char *values[2];
    int lengths[2];
    apr_status_t rv;

    if (!s->wlen) {
        return APR_SUCCESS;
    }
    while (s->inflight >= LO_INFLIGHT) {
        if ((rv = lo_answer(s, 1)) != APR_SUCCESS) {
            return rv;
        }
    }
    values[0] = (const char *)&fd;
    lengths[0] = 4;
    values[1] = s->wbuf;
    lengths[1] = (int)s->wlen;
    /* libpq copies the data: wbuf is free again at once */
    if (!PQsendQueryParams(conn, LO_WRITE_SQL, 2, types, values, lengths,
                           formats, 1)
        || !PQsendFlushRequest(conn) || PQflush(conn) < 0) {
        return APR_EGENERAL;
    }
    ++s->inflight;
    s->sent += (apr_off_t)s->wlen;
    s->wlen = 0;
    /* answers already there are read without waiting */
    while (s->inflight
           && (rv = lo_answer(s, 0)) != APR_EAGAIN) {
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* End conn's pipeline: a sync ends what an error left of it (not the
 * transaction, which BEGIN opened), the results still due are read and
 * conn leaves pipeline mode. Each query's results end with a NULL; two in
 * a row only when nothing more comes (a lost connection).
 * @return APR_EGENERAL when any of them failed */
static apr_status_t lo_pipe_end(PGconn *conn)
{
    apr_status_t rv = APR_SUCCESS;
    ExecStatusType st;
    PGresult *res;
    int nulls;

    nulls = PQpipelineSync(conn) ? 0 : 2;
    if (nulls) {
        rv = APR_EGENERAL;
    }
    while (PQstatus(conn) == CONNECTION_OK && nulls < 2) {
        if (!(res = PQgetResult(conn))) {
            ++nulls;
            continue;
        }
        nulls = 0;
        st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC) {
            break;
        }
        if (st != PGRES_TUPLES_OK) {
            rv = APR_EGENERAL;
        }
    }
    if (!PQexitPipelineMode(conn)) {
        rv = APR_EGENERAL;
    }
    return rv;
}

/* Leave the writes' pipeline: their answers are read, the connection
 * blocks again. */
static apr_status_t lo_unpipe(bulkio_spool_t *s)
{
    PGconn *conn = bulkio_spool_conn(s);
    apr_status_t rv = APR_SUCCESS;

    if (!s->piped) {
        return APR_SUCCESS;
    }
    s->piped = 0;
    while (s->inflight && rv == APR_SUCCESS) {
        rv = lo_answer(s, 1);
    }
    /* the pipeline first: reading its results flushes what an error left
     * unsent, which would keep the connection from blocking again (and a
     * connection mod_dbd hands out next must block); a lost connection
     * drops its output at the first try */
    if (lo_pipe_end(conn) != APR_SUCCESS) {
        rv = APR_EGENERAL;
    }
    if (PQsetnonblocking(conn, 0) && PQsetnonblocking(conn, 0)) {
        rv = APR_EGENERAL;
    }
    s->inflight = 0;
    return rv;
}

static apr_status_t lo_write_data(bulkio_spool_t *s, const void *data,
                                  apr_size_t len)
{
    const char *d = data;
    apr_size_t n;
    apr_status_t rv;

    while (len) {
        n = LO_WBUF - s->wlen;
        n = n < len ? n : len;
        memcpy(s->wbuf + s->wlen, d, n);
        s->wlen += n;
        d += n;
        len -= n;
        if (s->wlen == LO_WBUF && (rv = lo_flush(s)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t lo_close_write(bulkio_spool_t *s)
{
    apr_status_t rv = lo_flush(s), rv2 = lo_unpipe(s);

    if (rv == APR_SUCCESS) {
        rv = rv2;
    }
    /* every byte written, as the server counts them */
    if (rv == APR_SUCCESS && s->written != s->sent) {
        rv = APR_EGENERAL;
    }
    if (s->fd >= 0 && rv == APR_SUCCESS
        && lo_close(bulkio_spool_conn(s), s->fd) < 0) {
        rv = APR_EGENERAL;
    }
    s->fd = -1;
    return rv;
}

static apr_status_t lo_keep(bulkio_spool_t *s, const char *name)
{
    (void)name;
    return s->fd < 0 ? APR_SUCCESS : lo_close_write(s);
}

static apr_status_t lo_commit(bulkio_spool_t *s)
{
    PGconn *conn = bulkio_spool_conn(s);

    switch (PQtransactionStatus(conn)) {
    case PQTRANS_INTRANS:
        return bulkio_pq_exec(s->pool, conn, "COMMIT", 0, NULL, NULL);
    case PQTRANS_IDLE:
        /* committed with the row (bulkio_pq_txn()) */
        return APR_SUCCESS;
    default:
        bulkio_pq_rollback(conn);
        return APR_EGENERAL;
    }
}

static void lo_discard(bulkio_spool_t *s)
{
    PGconn *conn = bulkio_spool_conn(s);

    /* uncommitted, the object goes with its transaction; one committed
     * meanwhile belongs to the row that committed it */
    if (conn) {
        lo_unpipe(s);
    }
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        bulkio_pq_rollback(conn);
    }
    s->fd = -1;
}

/* Ends a reader's transaction when its pool goes. */
static apr_status_t reader_cleanup(void *data)
{
    bulkio_spool_reader_t *rd = data;

    PQclear(rd->res);
    rd->res = NULL;
    if (rd->piped) {
        rd->piped = 0;
        lo_pipe_end(rd->conn);
    }
    if (PQstatus(rd->conn) == CONNECTION_OK) {
        bulkio_pq_rollback(rd->conn);
    }
    return APR_SUCCESS;
}

static apr_status_t lo_open_read(bulkio_spool_reader_t *rd, int flags)
{
    PGconn *own;
    pg_int64 end;
    apr_status_t rv;
    int started;

    if (!lo_ref(rd->ref, &rd->oid)) {
        return APR_EINVAL;
    }
    if ((rv = lo_conn(rd->pool, rd->conn, flags, &own)) != APR_SUCCESS) {
        return rv;
    }
    if (own) {
        rd->conn = own;
    }
    started = PQtransactionStatus(rd->conn) == PQTRANS_IDLE;
    if ((rv = lo_txn(rd->pool, rd->conn, "BEGIN READ ONLY")) != APR_SUCCESS) {
        return rv;
    }
    if (started) {
        apr_pool_cleanup_register(rd->pool, rd, reader_cleanup,
                                  apr_pool_cleanup_null);
    }
    if ((rd->fd = lo_open(rd->conn, rd->oid, INV_READ)) < 0) {
        bulkio_pq_rollback(rd->conn);
        return APR_ENOENT;
    }
    end = lo_lseek64(rd->conn, rd->fd, 0, SEEK_END);
    if (end < 0 || lo_lseek64(rd->conn, rd->fd, 0, SEEK_SET) < 0) {
        return APR_EGENERAL;
    }
    rd->size = (apr_off_t)end;
    rd->at = 0;
    /* a connection of its own reads ahead in pipeline mode (one that
     * others use, the request's, is read in turn) */
    rd->piped = own && started && PQenterPipelineMode(rd->conn);
    return APR_SUCCESS;
}

/* Send the next read: the server reads it while the last is used. */
static apr_status_t lo_ask(bulkio_spool_reader_t *rd)
{
    static const Oid types[2] = { INT4OID, INT4OID };
    static const int formats[2] = { 1, 1 };
    apr_uint32_t fd = htonl((apr_uint32_t)rd->fd);
    apr_uint32_t len = htonl(LO_WBUF);
    const char *values[2] = { (const char *)&fd, (const char *)&len };
    static const int lengths[2] = { 4, 4 };

    if (!PQsendQueryParams(rd->conn, LO_READ_SQL, 2, types, values, lengths,
                           formats, 1)
        || !PQsendFlushRequest(rd->conn) || PQflush(rd->conn)) {
        return APR_EGENERAL;
    }
    rd->pending = 1;
    return APR_SUCCESS;
}

/* Wait for the read sent; its bytes in rd->res. */
static apr_status_t lo_take(bulkio_spool_reader_t *rd)
{
    PGresult *res = PQgetResult(rd->conn), *end;

    rd->pending = 0;
    /* the query's results end with a NULL, there at once */
    while ((end = PQgetResult(rd->conn))) {
        PQclear(end);
        PQclear(res);
        res = NULL;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        PQclear(res);
        return APR_EGENERAL;
    }
    rd->res = res;
    rd->rpos = 0;
    return APR_SUCCESS;
}

/* Read ahead: the bytes of one read are handed out while the server
 * reads the next. */
static apr_status_t lo_read_ahead(bulkio_spool_reader_t *rd, void *buf,
                                  apr_size_t *plen)
{
    apr_size_t have;

    for (;;) {
        if (rd->res) {
            have = (apr_size_t)PQgetlength(rd->res, 0, 0) - rd->rpos;
            if (have || !PQgetlength(rd->res, 0, 0)) {
                /* nothing in a read: the end */
                *plen = have < *plen ? have : *plen;
                memcpy(buf, PQgetvalue(rd->res, 0, 0) + rd->rpos, *plen);
                rd->rpos += *plen;
                return APR_SUCCESS;
            }
            PQclear(rd->res);
            rd->res = NULL;
        }
        if ((!rd->pending && lo_ask(rd) != APR_SUCCESS)
            || lo_take(rd) != APR_SUCCESS
            || (PQgetlength(rd->res, 0, 0) && lo_ask(rd) != APR_SUCCESS)) {
            *plen = 0;
            return APR_EGENERAL;
        }
        rd->at = -1;
    }
}

static apr_status_t lo_read_data(bulkio_spool_reader_t *rd, void *buf,
                                 apr_size_t *plen)
{
    int n;

    if (rd->piped) {
        return lo_read_ahead(rd, buf, plen);
    }
    if (*plen > LO_WBUF) {
        *plen = LO_WBUF;
    }
    n = lo_read(rd->conn, rd->fd, buf, *plen);
    if (n < 0) {
        *plen = 0;
        rd->at = -1;
        return APR_EGENERAL;
    }
    *plen = (apr_size_t)n;
    if (rd->at >= 0) {
        rd->at += n;
    }
    return APR_SUCCESS;
}

/* A bucket of a large object: reads at its start as it is sent, in
 * chunks, like a file bucket; splits and copies share the reader. */
typedef struct {
    apr_bucket_refcount refcount;
    bulkio_spool_reader_t *rd;
} lo_bucket_t;

static void lo_bucket_destroy(void *data)
{
    if (apr_bucket_shared_destroy(data)) {
        apr_bucket_free(data);
    }
}

static apr_status_t lo_bucket_read(apr_bucket *e, const char **str,
                                   apr_size_t *len, apr_read_type_e block);

static const apr_bucket_type_t lo_bucket_type = {
    "BULKIO_LO", 5, APR_BUCKET_DATA, lo_bucket_destroy, lo_bucket_read,
    apr_bucket_setaside_noop, apr_bucket_shared_split, apr_bucket_shared_copy
};

static apr_status_t lo_bucket_read(apr_bucket *e, const char **str,
                                   apr_size_t *len, apr_read_type_e block)
{
    lo_bucket_t *a = e->data;
    bulkio_spool_reader_t *rd = a->rd;
    apr_size_t want = e->length > LO_RCHUNK ? LO_RCHUNK : e->length;
    apr_size_t rest = e->length;
    apr_off_t at = e->start;
    char *buf;
    apr_bucket *b;
    int n;

    (void)block;
    buf = apr_bucket_alloc(want, e->list);
    /* buckets sent in order read on without a seek */
    if ((rd->at != at && lo_lseek64(rd->conn, rd->fd, at, SEEK_SET) != at)
        || (n = lo_read(rd->conn, rd->fd, buf, want)) <= 0) {
        rd->at = -1;
        apr_bucket_free(buf);
        return APR_EGENERAL;
    }
    rd->at = at + n;
    *str = buf;
    *len = (apr_size_t)n;
    apr_bucket_heap_make(e, buf, *len, apr_bucket_free);
    if (rest > *len) {
        /* the rest stays a bucket of ours, holding our reference */
        b = apr_bucket_alloc(sizeof(*b), e->list);
        b->start = at + (apr_off_t)*len;
        b->length = rest - *len;
        b->data = a;
        b->type = &lo_bucket_type;
        b->free = apr_bucket_free;
        b->list = e->list;
        APR_BUCKET_INSERT_AFTER(e, b);
    }
    else {
        lo_bucket_destroy(a);
    }
    return APR_SUCCESS;
}

static apr_status_t lo_brigade(bulkio_spool_reader_t *rd,
                               apr_bucket_brigade *bb)
{
    apr_bucket_alloc_t *list = bb->bucket_alloc;
    lo_bucket_t *a;
    apr_bucket *b;

    if (rd->piped) {
        /* the buckets read in turn, at their places */
        rd->piped = 0;
        PQclear(rd->res);
        rd->res = NULL;
        rd->at = -1;
        if (lo_pipe_end(rd->conn) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    if (!rd->size) {
        return APR_SUCCESS;
    }
    a = apr_bucket_alloc(sizeof(*a), list);
    a->rd = rd;
    b = apr_bucket_alloc(sizeof(*b), list);
    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = list;
    b = apr_bucket_shared_make(b, a, 0, (apr_size_t)rd->size);
    b->type = &lo_bucket_type;
    APR_BRIGADE_INSERT_TAIL(bb, b);
    return APR_SUCCESS;
}

static const char *lo_etag(const bulkio_spool_reader_t *rd)
{
    /* an object is never changed once committed: its oid and size */
    return apr_psprintf(rd->pool, "\"lo%u-%" APR_UINT64_T_HEX_FMT "\"",
                        (unsigned int)rd->oid, (apr_uint64_t)rd->size);
}

static apr_status_t lo_remove(apr_pool_t *p, const char *ref,
                              const char *dir, PGconn *conn)
{
    const char *params[1];
    Oid oid;

    (void)dir;
    if (!conn || !lo_ref(ref, &oid)) {
        return APR_SUCCESS;
    }
    params[0] = apr_psprintf(p, "%u", (unsigned int)oid);
    return bulkio_pq_exec(p, conn,
        "SELECT lo_unlink(oid) FROM pg_largeobject_metadata"
        " WHERE oid = $1::oid", 1, params, NULL);
}

const bulkio_spool_be_t bulkio_spool_lo_be = {
    "database", lo_owns, lo_begin, lo_write_data, lo_close_write, lo_keep,
    lo_commit, lo_discard, lo_open_read, lo_read_data, lo_brigade, lo_etag,
    lo_remove
};
