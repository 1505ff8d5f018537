/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* The spool's interface: the digest and the head of what is written, and
 * the dispatch to the backend that writes or holds an object. */

#include <apr_strings.h>

#include "bulkio_spool_be.h"

static const bulkio_spool_be_t *const backends[] = {
    &bulkio_spool_file_be, &bulkio_spool_lo_be
};

int bulkio_spool_kind(const char *name)
{
    int i;

    for (i = 0; name && i < (int)(sizeof(backends) / sizeof(*backends));
         ++i) {
        if (!strcasecmp(name, backends[i]->name)) {
            return i;
        }
    }
    return -1;
}

/* The backend of a reference: the first that owns it, else the file's. */
static const bulkio_spool_be_t *backend_of(const char *ref)
{
    apr_size_t i;

    for (i = 1; i < sizeof(backends) / sizeof(*backends); ++i) {
        if (backends[i]->owns(ref)) {
            return backends[i];
        }
    }
    return &bulkio_spool_file_be;
}

static apr_status_t spool_cleanup(void *data)
{
    bulkio_spool_t *s = data;

    if (!s->committed) {
        s->be->discard(s);
    }
    EVP_MD_CTX_free(s->md);
    return APR_SUCCESS;
}

apr_status_t bulkio_spool_begin(bulkio_spool_t **ps, apr_pool_t *p,
                                const bulkio_spool_conf_t *conf,
                                PGconn *conn, int flags)
{
    bulkio_spool_t *s = apr_pcalloc(p, sizeof(*s));
    apr_status_t rv;

    s->pool = p;
    s->be = backends[conf->kind == BULKIO_SPOOL_DATABASE];
    s->dir = conf->dir;
    s->conn = conn;
    s->fd = -1;
    if ((rv = s->be->begin(s, flags)) != APR_SUCCESS) {
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

apr_status_t bulkio_spool_create(bulkio_spool_t **ps, apr_pool_t *p,
                                 const char *dir)
{
    bulkio_spool_conf_t conf = { BULKIO_SPOOL_FILE, dir };

    return bulkio_spool_begin(ps, p, &conf, NULL, 0);
}

apr_status_t bulkio_spool_write(bulkio_spool_t *s, const void *data,
                                apr_size_t len)
{
    apr_size_t n;
    apr_status_t rv;

    if (!len) {
        return APR_SUCCESS;
    }
    if ((rv = s->be->write(s, data, len)) != APR_SUCCESS) {
        return rv;
    }
    if (s->head_len < BULKIO_SPOOL_HEAD) {
        n = BULKIO_SPOOL_HEAD - s->head_len;
        n = n < len ? n : len;
        memcpy(s->head + s->head_len, data, n);
        s->head_len += n;
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

const unsigned char *bulkio_spool_head(const bulkio_spool_t *s,
                                       apr_size_t *plen)
{
    *plen = s->head_len;
    return s->head;
}

apr_status_t bulkio_spool_close(bulkio_spool_t *s,
                                unsigned char digest[BULKIO_SHA256_LEN])
{
    unsigned int len = BULKIO_SHA256_LEN;
    apr_status_t rv = s->be->close(s);

    if (EVP_DigestFinal_ex(s->md, digest, &len) != 1 && rv == APR_SUCCESS) {
        rv = APR_EGENERAL;
    }
    return rv;
}

apr_status_t bulkio_spool_keep(bulkio_spool_t *s, const char *name)
{
    apr_status_t rv = s->be->keep(s, name);

    if (rv == APR_SUCCESS) {
        s->kept = 1;
        /* a file is there for good once renamed */
        s->committed = s->be == &bulkio_spool_file_be;
    }
    return rv;
}

PGconn *bulkio_spool_conn(const bulkio_spool_t *s)
{
    return s->own ? s->own : s->conn;
}

apr_status_t bulkio_spool_commit(bulkio_spool_t *s)
{
    apr_status_t rv = s->be->commit(s);

    if (rv == APR_SUCCESS) {
        s->committed = 1;
    }
    return rv;
}

void bulkio_spool_discard(bulkio_spool_t *s)
{
    if (s->committed && s->kept && s->be == &bulkio_spool_file_be) {
        /* a kept file whose job was not created */
        s->committed = 0;
    }
    if (!s->committed) {
        s->be->discard(s);
        s->committed = 1;
    }
}

apr_status_t bulkio_spool_open(bulkio_spool_reader_t **prd, apr_pool_t *p,
                               const char *ref, PGconn *conn, int flags)
{
    bulkio_spool_reader_t *rd = apr_pcalloc(p, sizeof(*rd));
    apr_status_t rv;

    rd->pool = p;
    rd->be = backend_of(ref);
    rd->ref = ref;
    rd->conn = conn;
    rd->fd = -1;
    if ((rv = rd->be->open(rd, flags)) == APR_SUCCESS) {
        *prd = rd;
    }
    return rv;
}

apr_status_t bulkio_spool_read(bulkio_spool_reader_t *rd, void *buf,
                               apr_size_t *plen)
{
    apr_status_t rv = rd->be->read(rd, buf, plen);

    if (rv == APR_SUCCESS && *plen == 0) {
        return APR_EOF;
    }
    rd->pos += (apr_off_t)*plen;
    return rv;
}

apr_off_t bulkio_spool_reader_size(const bulkio_spool_reader_t *rd)
{
    return rd->size;
}

const char *bulkio_spool_etag(const bulkio_spool_reader_t *rd,
                              apr_time_t *pmtime)
{
    *pmtime = rd->mtime;
    return rd->be->etag(rd);
}

apr_status_t bulkio_spool_brigade(bulkio_spool_reader_t *rd,
                                  apr_bucket_brigade *bb)
{
    return rd->be->brigade(rd, bb);
}

apr_status_t bulkio_spool_remove(apr_pool_t *p, const char *ref,
                                 const char *dir, PGconn *conn)
{
    return ref ? backend_of(ref)->remove(p, ref, dir, conn) : APR_SUCCESS;
}
