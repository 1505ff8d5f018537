/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_SPOOL_BE_H
#define BULKIO_SPOOL_BE_H

/* What a spool backend implements (bulkio_spool.c dispatches to it); only
 * the spool's files include this. */

#include <apr_file_io.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "bulkio_spool.h"

#define BULKIO_SPOOL_HEAD 4096

typedef struct bulkio_spool_be_t bulkio_spool_be_t;

struct bulkio_spool_t {
    apr_pool_t *pool;
    const bulkio_spool_be_t *be;
    const char *dir;
    PGconn *conn;              /* the job row's connection */
    PGconn *own;               /* the backend's own, or NULL */
    char *path;                /* the reference */
    EVP_MD_CTX *md;
    apr_off_t size;
    unsigned char head[BULKIO_SPOOL_HEAD];
    apr_size_t head_len;
    int kept;
    int committed;
    int pack;                  /* PACK_NO, PACK_UNDECIDED or PACK_YES */
    ZSTD_CCtx *zc;             /* packing: the compressor */
    unsigned char *zbuf;       /* its output */
    /* file */
    apr_file_t *file;
    apr_off_t fwritten;        /* bytes written */
    apr_off_t fflushed;        /* of them, those handed to the disk */
    /* large object */
    Oid oid;
    int fd;
    char *wbuf;                /* writes gathered into bigger ones */
    apr_size_t wlen;
    int piped;                 /* the writes go in libpq's pipeline mode */
    int inflight;              /* writes sent, their answers not read */
    apr_off_t sent;            /* bytes sent */
    apr_off_t written;         /* bytes the server said it wrote */
};

struct bulkio_spool_reader_t {
    apr_pool_t *pool;
    const bulkio_spool_be_t *be;
    const char *ref;
    PGconn *conn;
    apr_off_t size;
    apr_off_t pos;
    apr_time_t mtime;
    int unpack;                /* PACK_NO, PACK_UNDECIDED or PACK_YES */
    ZSTD_DCtx *zd;             /* unpacking: the decompressor */
    unsigned char *zbuf;       /* its input (or the first bytes, unpacked) */
    apr_size_t zpos, zlen;     /* the part of zbuf not yet used */
    int zend;                  /* the packed frame ended */
    /* file */
    apr_file_t *file;
    /* large object */
    Oid oid;
    int fd;
    int piped;                 /* on its own connection: reads ahead */
    int pending;               /* a read ahead is sent */
    PGresult *res;             /* the bytes last read */
    apr_size_t rpos;           /* where the reading of res is */
    apr_off_t at;              /* where the object's descriptor stands */
};

struct bulkio_spool_be_t {
    const char *name;
    /** whether ref is one of this backend's references */
    int (*owns)(const char *ref);
    /** writing: s->pool, dir, conn set; make the object */
    apr_status_t (*begin)(bulkio_spool_t *s, int flags);
    apr_status_t (*write)(bulkio_spool_t *s, const void *data,
                          apr_size_t len);
    /** flush, make durable */
    apr_status_t (*close)(bulkio_spool_t *s);
    /** set s->path to the kept object's reference, durable on return */
    apr_status_t (*keep)(bulkio_spool_t *s, const char *name);
    apr_status_t (*commit)(bulkio_spool_t *s);
    /** the object (kept or not, uncommitted) goes */
    void (*discard)(bulkio_spool_t *s);
    /** reading: rd->pool, ref, conn set; size and mtime too */
    apr_status_t (*open)(bulkio_spool_reader_t *rd, int flags);
    apr_status_t (*read)(bulkio_spool_reader_t *rd, void *buf,
                         apr_size_t *plen);
    apr_status_t (*brigade)(bulkio_spool_reader_t *rd,
                            apr_bucket_brigade *bb);
    const char *(*etag)(const bulkio_spool_reader_t *rd);
    apr_status_t (*remove)(apr_pool_t *p, const char *ref, const char *dir,
                           PGconn *conn);
    /** whether it stores objects packed when asked (BULKIO_SPOOL_PACK):
     * those its reads find with the packed head are unpacked */
    int packs;
};

/** The backends. */
extern const bulkio_spool_be_t bulkio_spool_file_be;
extern const bulkio_spool_be_t bulkio_spool_lo_be;

#endif /* BULKIO_SPOOL_BE_H */
