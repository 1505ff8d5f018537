/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_SPOOL_H
#define BULKIO_SPOOL_H

#include <apr_pools.h>
#include <apr_buckets.h>
#include <libpq-fe.h>

/**
 * The spool: where uploads, URL downloads and export files live between
 * the request and the worker. One interface, several backends: a
 * directory (BULKIO_SPOOL_FILE) or PostgreSQL large objects
 * (BULKIO_SPOOL_DATABASE). A stored object is named by a reference, the
 * text a job row keeps (a path, or "lo:<oid>"); a reference tells which
 * backend reads and removes it, whatever the spool writes to now.
 *
 * Writing: begin, write, close, keep under a name, record the reference
 * in the job row on bulkio_spool_conn(), commit. The database backend
 * writes in one transaction on that connection, so the object exists if
 * and only if the row that names it does. Unless kept and committed, the
 * object is discarded when its pool is cleaned up.
 */
typedef struct bulkio_spool_t bulkio_spool_t;

/** An object of the spool opened for reading. */
typedef struct bulkio_spool_reader_t bulkio_spool_reader_t;

#define BULKIO_SHA256_LEN 32

/** The backends. */
typedef enum {
    BULKIO_SPOOL_FILE = 0,     /**< files in a directory (the default) */
    BULKIO_SPOOL_DATABASE      /**< PostgreSQL large objects */
} bulkio_spool_kind_e;

/** Where a spool writes. */
typedef struct {
    int kind;                  /**< a bulkio_spool_kind_e */
    const char *dir;           /**< the directory (file backend) */
} bulkio_spool_conf_t;

/** bulkio_spool_begin(), bulkio_spool_open(): work on a connection of
 * the spool's own, made like the one given (which stays free for the
 * caller's statements meanwhile). */
#define BULKIO_SPOOL_OWN_CONN 1

/** bulkio_spool_begin(): store the object packed (zstd) where the backend
 * keeps packed objects (the database's), unless its first bytes are
 * gzip's already. Size, digest and head stay those of the bytes written,
 * and bulkio_spool_read() gives them back; bulkio_spool_brigade() serves
 * the stored bytes, so export files are not packed. */
#define BULKIO_SPOOL_PACK 2

/** bulkio_spool_begin(): no digest of the content (the writer has no use
 * for it); bulkio_spool_close() then takes NULL for it. */
#define BULKIO_SPOOL_NO_DIGEST 4

/** The backend kind of a BulkIOSpool name ("file", "database"), or -1. */
int bulkio_spool_kind(const char *name);

/**
 * Begin a new object.
 * @param conn the connection the job row is written on (the database
 *        backend writes there, in a transaction it opens, unless flags
 *        has BULKIO_SPOOL_OWN_CONN)
 */
apr_status_t bulkio_spool_begin(bulkio_spool_t **ps, apr_pool_t *p,
                                const bulkio_spool_conf_t *conf,
                                PGconn *conn, int flags);

/** Create a new temporary file in dir (the file backend). */
apr_status_t bulkio_spool_create(bulkio_spool_t **ps, apr_pool_t *p,
                                 const char *dir);

/** Append len bytes. */
apr_status_t bulkio_spool_write(bulkio_spool_t *s, const void *data,
                                apr_size_t len);

/** Bytes written so far. */
apr_off_t bulkio_spool_size(const bulkio_spool_t *s);

/** The object's reference: a file's path (temporary until kept), or the
 * large object's "lo:<oid>". */
const char *bulkio_spool_path(const bulkio_spool_t *s);

/** The first bytes written (up to 4 KiB), for sniffing a format. */
const unsigned char *bulkio_spool_head(const bulkio_spool_t *s,
                                       apr_size_t *plen);

/** Finish writing (flushed, durable) and give the digest of the content
 * (none when begun with BULKIO_SPOOL_NO_DIGEST). */
apr_status_t bulkio_spool_close(bulkio_spool_t *s,
                                unsigned char digest[BULKIO_SHA256_LEN]);

/** Keep the closed object under name (a file in the spool directory;
 * the database backend names objects by their oid); its reference is then
 * bulkio_spool_path(). A path with a '/' is taken as it is. */
apr_status_t bulkio_spool_keep(bulkio_spool_t *s, const char *name);

/** The connection to record the kept object's reference on, in the
 * object's transaction (the database backend's; else the one given). */
PGconn *bulkio_spool_conn(const bulkio_spool_t *s);

/** Commit the object with what was recorded on bulkio_spool_conn() (a
 * transaction committed meanwhile, bulkio_pq_txn(), is fine). */
apr_status_t bulkio_spool_commit(bulkio_spool_t *s);

/** Give the object up now: a kept, uncommitted one too. */
void bulkio_spool_discard(bulkio_spool_t *s);

/**
 * Open the object ref for reading.
 * @param conn the database backend reads through it in a read-only
 *        transaction (or through one of its own: BULKIO_SPOOL_OWN_CONN)
 */
apr_status_t bulkio_spool_open(bulkio_spool_reader_t **prd, apr_pool_t *p,
                               const char *ref, PGconn *conn, int flags);

/** Read up to *plen bytes on (a packed object unpacked); APR_EOF at the
 * end. */
apr_status_t bulkio_spool_read(bulkio_spool_reader_t *rd, void *buf,
                               apr_size_t *plen);

/** The object's size as stored. */
apr_off_t bulkio_spool_reader_size(const bulkio_spool_reader_t *rd);

/** The object's strong entity tag (quoted) and its time (0: unknown). */
const char *bulkio_spool_etag(const bulkio_spool_reader_t *rd,
                              apr_time_t *pmtime);

/** Append the whole object to bb as buckets that read it when sent (a
 * file: sendfile; they split, so byte ranges are served from them); the
 * bytes as stored (an object written with BULKIO_SPOOL_PACK: packed). */
apr_status_t bulkio_spool_brigade(bulkio_spool_reader_t *rd,
                                  apr_bucket_brigade *bb);

/** Remove the object ref (a file only inside dir; a large object, on
 * conn). A missing object is no error. */
apr_status_t bulkio_spool_remove(apr_pool_t *p, const char *ref,
                                 const char *dir, PGconn *conn);

#endif /* BULKIO_SPOOL_H */
