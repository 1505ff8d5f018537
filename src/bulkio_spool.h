/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_SPOOL_H
#define BULKIO_SPOOL_H

#include <apr_pools.h>

/** A file being written into the spool directory under a temporary name,
 * with the SHA-256 of what was written. Unless kept, the file is removed
 * when its pool is cleaned up. */
typedef struct bulkio_spool_t bulkio_spool_t;

#define BULKIO_SHA256_LEN 32

/** Create a new temporary file in dir. */
apr_status_t bulkio_spool_create(bulkio_spool_t **ps, apr_pool_t *p,
                                 const char *dir);

/** Append len bytes. */
apr_status_t bulkio_spool_write(bulkio_spool_t *s, const void *data,
                                apr_size_t len);

/** Bytes written so far. */
apr_off_t bulkio_spool_size(const bulkio_spool_t *s);

/** The temporary file's path. */
const char *bulkio_spool_path(const bulkio_spool_t *s);

/** Close the file (flushed to disk) and give the digest of its content. */
apr_status_t bulkio_spool_close(bulkio_spool_t *s,
                                unsigned char digest[BULKIO_SHA256_LEN]);

/** Rename the closed file to path and keep it. */
apr_status_t bulkio_spool_keep(bulkio_spool_t *s, const char *path);

#endif /* BULKIO_SPOOL_H */
