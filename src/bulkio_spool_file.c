/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* The spool's file backend: an object is a file in the spool directory,
 * written under a temporary name and renamed when kept. */

#include <fcntl.h>

#include <apr_portable.h>
#include <apr_strings.h>

#include "bulkio_spool_be.h"

/* A file's write buffer: APR's own is 4 KiB, one write(2) per 4 KiB of an
 * export's 128 KiB chunks or an upload's brigades. */
#define FILE_BUFFER (256 * 1024)

/* Written bytes are handed to the disk as the file grows, as PostgreSQL's
 * backend_flush_after does, so that the fsync at its close waits for the
 * last of them rather than for the whole file. */
#define FILE_FLUSH_AFTER (8 * 1024 * 1024)

static int file_owns(const char *ref)
{
    return ref && *ref == '/';
}

static apr_status_t file_begin(bulkio_spool_t *s, int flags)
{
    apr_status_t rv;

    (void)flags;
    s->path = apr_pstrcat(s->pool, s->dir, "/upload-XXXXXX", NULL);
    rv = apr_file_mktemp(&s->file, s->path, APR_FOPEN_CREATE
                         | APR_FOPEN_READ | APR_FOPEN_WRITE
                         | APR_FOPEN_EXCL | APR_FOPEN_BUFFERED
                         | APR_FOPEN_NOCLEANUP, s->pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_buffer_set(s->file, apr_palloc(s->pool, FILE_BUFFER),
                                 FILE_BUFFER);
    }
    return rv;
}

static apr_status_t file_write(bulkio_spool_t *s, const void *data,
                               apr_size_t len)
{
    apr_status_t rv = apr_file_write_full(s->file, data, len, NULL);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->fwritten += (apr_off_t)len;
#ifdef SYNC_FILE_RANGE_WRITE
    if (s->fwritten - s->fflushed >= FILE_FLUSH_AFTER
        && (rv = apr_file_flush(s->file)) == APR_SUCCESS) {
        apr_os_file_t fd;

        /* a hint: an error shows at the fsync */
        if (apr_os_file_get(&fd, s->file) == APR_SUCCESS) {
            sync_file_range(fd, s->fflushed, s->fwritten - s->fflushed,
                            SYNC_FILE_RANGE_WRITE);
        }
        s->fflushed = s->fwritten;
    }
#endif
    return rv;
}

static apr_status_t file_close(bulkio_spool_t *s)
{
    apr_status_t rv;

    rv = apr_file_flush(s->file);
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(s->file);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_close(s->file);
    }
    else {
        apr_file_close(s->file);
    }
    s->file = NULL;
    return rv;
}

/* A rename is durable once the directory that holds the new name is
 * synced, as in PostgreSQL's durable_rename(). */
static apr_status_t dir_sync(const char *path, apr_pool_t *p)
{
    const char *slash = strrchr(path, '/');
    apr_file_t *dir;
    apr_status_t rv;

    rv = apr_file_open(&dir, slash == path ? "/"
                       : apr_pstrmemdup(p, path, slash - path),
                       APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(dir);
        apr_file_close(dir);
    }
    return rv;
}

static apr_status_t file_keep(bulkio_spool_t *s, const char *name)
{
    const char *path = strchr(name, '/') ? name
                       : apr_pstrcat(s->pool, s->dir, "/", name, NULL);
    apr_status_t rv = apr_file_rename(s->path, path, s->pool);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->path = apr_pstrdup(s->pool, path);
    return dir_sync(s->path, s->pool);
}

static apr_status_t file_commit(bulkio_spool_t *s)
{
    (void)s;
    return APR_SUCCESS;
}

static void file_discard(bulkio_spool_t *s)
{
    if (s->file) {
        apr_file_close(s->file);
        s->file = NULL;
    }
    apr_file_remove(s->path, s->pool);
}

static apr_status_t file_open(bulkio_spool_reader_t *rd, int flags)
{
    apr_finfo_t fi;
    apr_status_t rv;

    (void)flags;
    rv = apr_file_open(&rd->file, rd->ref, APR_FOPEN_READ
                       | APR_FOPEN_SENDFILE_ENABLED, APR_OS_DEFAULT,
                       rd->pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_MTIME,
                               rd->file);
    }
    if (rv == APR_SUCCESS) {
        rd->size = fi.size;
        rd->mtime = fi.mtime;
    }
    return rv;
}

static apr_status_t file_read(bulkio_spool_reader_t *rd, void *buf,
                              apr_size_t *plen)
{
    apr_status_t rv = apr_file_read(rd->file, buf, plen);

    if (rv == APR_EOF) {
        *plen = 0;
        return APR_SUCCESS;
    }
    return rv;
}

static apr_status_t file_brigade(bulkio_spool_reader_t *rd,
                                 apr_bucket_brigade *bb)
{
    apr_brigade_insert_file(bb, rd->file, 0, rd->size, rd->pool);
    return APR_SUCCESS;
}

static const char *file_etag(const bulkio_spool_reader_t *rd)
{
    /* as httpd's FileETag MTime Size */
    return apr_psprintf(rd->pool, "\"%" APR_UINT64_T_HEX_FMT "-%"
                        APR_UINT64_T_HEX_FMT "\"", (apr_uint64_t)rd->size,
                        (apr_uint64_t)rd->mtime);
}

static apr_status_t file_remove(apr_pool_t *p, const char *ref,
                                const char *dir, PGconn *conn)
{
    apr_size_t n = dir ? strlen(dir) : 0;
    apr_status_t rv;

    (void)conn;
    /* only a file of the spool's, never anything else */
    if (!n || strncmp(ref, dir, n) || ref[n] != '/' || strchr(ref + n + 1, '/')
        || ref[n + 1] == '.') {
        return APR_SUCCESS;
    }
    rv = apr_file_remove(ref, p);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

const bulkio_spool_be_t bulkio_spool_file_be = {
    "file", file_owns, file_begin, file_write, file_close, file_keep,
    file_commit, file_discard, file_open, file_read, file_brigade, file_etag,
    file_remove, 0
};
