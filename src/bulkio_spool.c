/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* The spool's interface: the digest and the head of what is written, and
 * the dispatch to the backend that writes or holds an object.
 *
 * Packing (BULKIO_SPOOL_PACK, a backend that packs: the database's): the
 * bytes go to the backend as one zstd frame (level 1: a quarter of
 * zlib's time for a smaller result) behind an 8-byte head of ours,
 * unless the first two are gzip's (the file is compressed already and
 * goes as it is). A read that finds the head unpacks; no file that comes
 * as it is can start with it, since those start with gzip's. Size,
 * digest and head are those of the bytes written. */

#include <apr_strings.h>

#include "bulkio_spool_be.h"

#define PACK_NO        0
#define PACK_UNDECIDED 1
#define PACK_YES       2
#define PACK_HEAD      "\x89" "BULKIOS"   /* a packed object's first bytes */
#define PACK_HEAD_LEN  8
#define PACK_SNIFF     2               /* the bytes that tell gzip */
#define PACK_LEVEL     1
#define PACK_BUF       (64 * 1024)

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
    ZSTD_freeCCtx(s->zc);
    s->zc = NULL;
    return APR_SUCCESS;
}

/* Pack len bytes of data (with ZSTD_e_end, the rest of the frame too)
 * and store the output. */
static apr_status_t pack(bulkio_spool_t *s, const void *data, apr_size_t len,
                         ZSTD_EndDirective end)
{
    ZSTD_inBuffer in = { data, len, 0 };
    ZSTD_outBuffer out;
    apr_status_t rv;
    size_t left;

    do {
        out.dst = s->zbuf;
        out.size = PACK_BUF;
        out.pos = 0;
        left = ZSTD_compressStream2(s->zc, &out, &in, end);
        if (ZSTD_isError(left)) {
            return APR_EGENERAL;
        }
        if (out.pos
            && (rv = s->be->write(s, s->zbuf, out.pos)) != APR_SUCCESS) {
            return rv;
        }
    } while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
    return APR_SUCCESS;
}

/* The object's bytes to the backend, packed or not. */
static apr_status_t emit(bulkio_spool_t *s, const unsigned char *data,
                         apr_size_t len)
{
    if (s->pack != PACK_YES) {
        return s->be->write(s, data, len);
    }
    return pack(s, data, len, ZSTD_e_continue);
}

/* Pack, now that the first bytes are known, unless they are gzip's. */
static apr_status_t pack_decide(bulkio_spool_t *s)
{
    s->pack = PACK_NO;
    if (s->head_len < PACK_SNIFF
        || (s->head[0] == 0x1f && s->head[1] == 0x8b)) {
        return APR_SUCCESS;
    }
    s->zc = ZSTD_createCCtx();
    if (!s->zc
        || ZSTD_isError(ZSTD_CCtx_setParameter(s->zc,
                                               ZSTD_c_compressionLevel,
                                               PACK_LEVEL))) {
        return APR_ENOMEM;
    }
    s->zbuf = apr_palloc(s->pool, PACK_BUF);
    s->pack = PACK_YES;
    return s->be->write(s, PACK_HEAD, PACK_HEAD_LEN);
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
    s->pack = (flags & BULKIO_SPOOL_PACK) && s->be->packs ? PACK_UNDECIDED
                                                          : PACK_NO;
    if ((rv = s->be->begin(s, flags)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, s, spool_cleanup, apr_pool_cleanup_null);
    if (!(flags & BULKIO_SPOOL_NO_DIGEST)
        && (!(s->md = EVP_MD_CTX_new())
            || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)) {
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
    /* undecided, the bytes so far are held back in the head */
    apr_size_t n, held = s->pack == PACK_UNDECIDED ? s->head_len : 0;
    apr_status_t rv;

    if (!len) {
        return APR_SUCCESS;
    }
    if (s->head_len < BULKIO_SPOOL_HEAD) {
        n = BULKIO_SPOOL_HEAD - s->head_len;
        n = n < len ? n : len;
        memcpy(s->head + s->head_len, data, n);
        s->head_len += n;
    }
    if (s->md) {
        EVP_DigestUpdate(s->md, data, len);
    }
    s->size += (apr_off_t)len;
    if (s->pack == PACK_UNDECIDED) {
        if (s->head_len < PACK_SNIFF) {
            return APR_SUCCESS;
        }
        if ((rv = pack_decide(s)) != APR_SUCCESS
            || (rv = emit(s, s->head, held)) != APR_SUCCESS) {
            return rv;
        }
    }
    return emit(s, data, len);
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
    apr_status_t rv = APR_SUCCESS;

    if (s->pack == PACK_UNDECIDED) {
        /* too short to tell: as it is */
        s->pack = PACK_NO;
        rv = emit(s, s->head, s->head_len);
    }
    else if (s->pack == PACK_YES) {
        rv = pack(s, NULL, 0, ZSTD_e_end);
    }
    if (rv == APR_SUCCESS) {
        rv = s->be->close(s);
    }

    if (s->md && EVP_DigestFinal_ex(s->md, digest, &len) != 1
        && rv == APR_SUCCESS) {
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

static apr_status_t reader_cleanup(void *data)
{
    bulkio_spool_reader_t *rd = data;

    ZSTD_freeDCtx(rd->zd);
    return APR_SUCCESS;
}

/* Read from the backend until len bytes or the end. */
static apr_status_t read_full(bulkio_spool_reader_t *rd, unsigned char *buf,
                              apr_size_t len, apr_size_t *pn)
{
    apr_size_t n;
    apr_status_t rv;

    for (*pn = 0; *pn < len; *pn += n) {
        n = len - *pn;
        if ((rv = rd->be->read(rd, buf + *pn, &n)) != APR_SUCCESS) {
            return rv;
        }
        if (!n) {
            break;
        }
    }
    return APR_SUCCESS;
}

/* The first read of an object of a backend that packs: whether it is
 * packed (its first bytes, if not, are handed out first). */
static apr_status_t unpack_decide(bulkio_spool_reader_t *rd)
{
    apr_status_t rv;

    rd->zbuf = apr_palloc(rd->pool, PACK_BUF);
    if ((rv = read_full(rd, rd->zbuf, PACK_HEAD_LEN, &rd->zlen))
        != APR_SUCCESS) {
        return rv;
    }
    rd->unpack = PACK_NO;
    if (rd->zlen < PACK_HEAD_LEN
        || memcmp(rd->zbuf, PACK_HEAD, PACK_HEAD_LEN)) {
        return APR_SUCCESS;
    }
    if (!(rd->zd = ZSTD_createDCtx())) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(rd->pool, rd, reader_cleanup,
                              apr_pool_cleanup_null);
    rd->zlen = 0;
    rd->unpack = PACK_YES;
    return APR_SUCCESS;
}

/* Unpack up to *plen bytes into buf; none at the end. */
static apr_status_t unpack_read(bulkio_spool_reader_t *rd, void *buf,
                                apr_size_t *plen)
{
    ZSTD_outBuffer out = { buf, *plen, 0 };
    ZSTD_inBuffer in;
    apr_size_t n;
    apr_status_t rv;
    size_t left;

    *plen = 0;    /* nothing on an error */
    /* the decoder first: it may hold output for input it took before */
    while (out.size && !out.pos && !rd->zend) {
        in.src = rd->zbuf;
        in.size = rd->zlen;
        in.pos = rd->zpos;
        left = ZSTD_decompressStream(rd->zd, &out, &in);
        rd->zpos = in.pos;
        if (ZSTD_isError(left)) {
            return APR_EGENERAL;
        }
        /* 0: the frame is whole and flushed */
        rd->zend = left == 0;
        if (out.pos || rd->zend || rd->zpos < rd->zlen) {
            continue;
        }
        n = PACK_BUF;
        if ((rv = rd->be->read(rd, rd->zbuf, &n)) != APR_SUCCESS) {
            return rv;
        }
        if (!n) {
            /* the stored frame is cut short */
            return APR_EINCOMPLETE;
        }
        rd->zpos = 0;
        rd->zlen = n;
    }
    *plen = out.pos;
    return APR_SUCCESS;
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
    rd->unpack = rd->be->packs ? PACK_UNDECIDED : PACK_NO;
    if ((rv = rd->be->open(rd, flags)) == APR_SUCCESS) {
        *prd = rd;
    }
    return rv;
}

apr_status_t bulkio_spool_read(bulkio_spool_reader_t *rd, void *buf,
                               apr_size_t *plen)
{
    apr_status_t rv;

    if (rd->unpack == PACK_UNDECIDED
        && (rv = unpack_decide(rd)) != APR_SUCCESS) {
        *plen = 0;
        return rv;
    }
    if (rd->unpack == PACK_YES) {
        rv = unpack_read(rd, buf, plen);
    }
    else if (rd->zpos < rd->zlen) {
        /* the first bytes, read to tell */
        *plen = *plen < rd->zlen - rd->zpos ? *plen : rd->zlen - rd->zpos;
        memcpy(buf, rd->zbuf + rd->zpos, *plen);
        rd->zpos += *plen;
        rv = APR_SUCCESS;
    }
    else {
        rv = rd->be->read(rd, buf, plen);
    }
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
