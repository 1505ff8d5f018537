/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_file_io.h>
#include <apr_strings.h>

#include <openssl/evp.h>

#include "bulkio_spool.h"

struct bulkio_spool_t {
    apr_pool_t *pool;
    apr_file_t *file;
    char *path;
    EVP_MD_CTX *md;
    apr_off_t size;
    int kept;
};

static apr_status_t spool_cleanup(void *data)
{
    bulkio_spool_t *s = data;

    if (s->file) {
        apr_file_close(s->file);
        s->file = NULL;
    }
    if (!s->kept) {
        apr_file_remove(s->path, s->pool);
    }
    EVP_MD_CTX_free(s->md);
    return APR_SUCCESS;
}

apr_status_t bulkio_spool_create(bulkio_spool_t **ps, apr_pool_t *p,
                                 const char *dir)
{
    bulkio_spool_t *s = apr_pcalloc(p, sizeof(*s));
    apr_status_t rv;

    s->pool = p;
    s->path = apr_pstrcat(p, dir, "/upload-XXXXXX", NULL);
    rv = apr_file_mktemp(&s->file, s->path, APR_FOPEN_CREATE
                         | APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_EXCL
                         | APR_FOPEN_NOCLEANUP, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->md = EVP_MD_CTX_new();
    apr_pool_cleanup_register(p, s, spool_cleanup, apr_pool_cleanup_null);
    if (!s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
        return APR_ENOMEM;
    }
    *ps = s;
    return APR_SUCCESS;
}

apr_status_t bulkio_spool_write(bulkio_spool_t *s, const void *data,
                                apr_size_t len)
{
    apr_status_t rv;

    if (!len) {
        return APR_SUCCESS;
    }
    if ((rv = apr_file_write_full(s->file, data, len, NULL)) != APR_SUCCESS) {
        return rv;
    }
    EVP_DigestUpdate(s->md, data, len);
    s->size += (apr_off_t)len;
    return APR_SUCCESS;
}

apr_off_t bulkio_spool_size(const bulkio_spool_t *s)
{
    return s->size;
}

const char *bulkio_spool_path(const bulkio_spool_t *s)
{
    return s->path;
}

apr_status_t bulkio_spool_close(bulkio_spool_t *s,
                                unsigned char digest[BULKIO_SHA256_LEN])
{
    unsigned int len = BULKIO_SHA256_LEN;
    apr_status_t rv;

    rv = apr_file_sync(s->file);
    if (rv == APR_SUCCESS) {
        rv = apr_file_close(s->file);
    }
    else {
        apr_file_close(s->file);
    }
    s->file = NULL;
    if (EVP_DigestFinal_ex(s->md, digest, &len) != 1 && rv == APR_SUCCESS) {
        rv = APR_EGENERAL;
    }
    return rv;
}

apr_status_t bulkio_spool_keep(bulkio_spool_t *s, const char *path)
{
    apr_status_t rv = apr_file_rename(s->path, path, s->pool);

    if (rv == APR_SUCCESS) {
        s->path = apr_pstrdup(s->pool, path);
        s->kept = 1;
    }
    return rv;
}
