/* libFuzzer target: the streaming multipart/form-data parser.
 *
 * The input is a Content-Type header value, a line feed, then the body.
 * The body is fed once whole and once in chunks cut at points derived
 * from the input; the two runs must report the same parts and data.  A
 * callback may fail (chosen from the input) to exercise the error path. */

#include <stdio.h>

#include <apr_strings.h>

#include "bulkio_multipart.h"
#include "fuzz_common.h"

typedef struct {
    uint64_t h;
    int parts;
    int in_part;
    int fail_at;                /* fail in this callback call, 0: never */
    int calls;
    size_t data_bytes;
} fuzz_mp_t;

static apr_status_t fuzz_call(fuzz_mp_t *st, char what)
{
    st->h = fuzz_hash(st->h, &what, 1);
    return ++st->calls == st->fail_at ? APR_EGENERAL : APR_SUCCESS;
}

static apr_status_t fuzz_begin(void *baton, const char *name,
                               const char *filename, const char *ctype,
                               int *want_data)
{
    fuzz_mp_t *st = baton;
    const char *c;

    FUZZ_CHECK(!st->in_part);
    FUZZ_CHECK(++st->parts <= BULKIO_MP_MAX_PARTS);
    st->in_part = 1;
    if (filename) {
        FUZZ_CHECK(strchr(filename, '/') == NULL);
        FUZZ_CHECK(strcmp(filename, ".") && strcmp(filename, ".."));
    }
    if (ctype) {
        for (c = ctype; *c; c++) {
            FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
        }
    }
    st->h = fuzz_hash_str(st->h, name);
    st->h = fuzz_hash_str(st->h, filename);
    st->h = fuzz_hash_str(st->h, ctype);
    *want_data = (st->parts % 3) != 2;      /* skip some parts */
    return fuzz_call(st, 'B');
}

static apr_status_t fuzz_data(void *baton, const char *data, apr_size_t len)
{
    fuzz_mp_t *st = baton;

    FUZZ_CHECK(st->in_part && len > 0);
    FUZZ_CHECK((st->parts % 3) != 2);
    st->data_bytes += len;
    /* the data, not how it was cut, goes into the digest */
    st->h = fuzz_hash(st->h, data, len);
    return APR_SUCCESS;
}

static apr_status_t fuzz_end(void *baton)
{
    fuzz_mp_t *st = baton;

    FUZZ_CHECK(st->in_part);
    st->in_part = 0;
    return fuzz_call(st, 'E');
}

static uint64_t fuzz_mp_run(apr_pool_t *p, const char *boundary,
                            const uint8_t *body, size_t len,
                            fuzz_split_t *split, int fail_at)
{
    static const bulkio_mp_cb_t cb = { fuzz_begin, fuzz_data, fuzz_end };
    fuzz_mp_t st = { FUZZ_HASH_INIT, 0, 0, fail_at, 0, 0 };
    bulkio_mp_t *mp = bulkio_mp_create(p, boundary, &cb, &st);
    apr_status_t rv = APR_SUCCESS, first = APR_SUCCESS, fin;
    size_t off = 0, n;

    FUZZ_CHECK(mp != NULL);
    while (off < len) {
        n = fuzz_split_next(split);
        if (n > len - off) {
            n = len - off;
        }
        rv = bulkio_mp_feed(mp, (const char *)body + off, n);
        if (first == APR_SUCCESS) {
            first = rv;
        }
        FUZZ_CHECK(rv == first);            /* errors are sticky */
        off += n;
    }
    FUZZ_CHECK(bulkio_mp_feed(mp, "", 0) == first);
    fin = bulkio_mp_finish(mp);
    FUZZ_CHECK(first == APR_SUCCESS ? (fin == APR_SUCCESS
                                       || fin == APR_INCOMPLETE)
                                    : fin == first);
    FUZZ_CHECK(st.data_bytes <= len);
    if (fin == APR_SUCCESS) {
        FUZZ_CHECK(!st.in_part);
    }
    st.h = fuzz_hash(st.h, &fin, sizeof(fin));
    return st.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const uint8_t *nl = memchr(data, '\n', len);
    fuzz_split_t whole, cut;
    const char *ctype, *boundary;
    apr_pool_t *p;
    uint64_t ref, got;
    size_t off;
    int fail_at;

    fuzz_init();
    if (!nl) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    ctype = apr_pstrmemdup(p, (const char *)data, (apr_size_t)(nl - data));
    if (bulkio_mp_boundary(p, ctype, &boundary) != APR_SUCCESS) {
        apr_pool_destroy(p);
        return 0;
    }
    FUZZ_CHECK(boundary && *boundary
               && strlen(boundary) <= BULKIO_MP_MAX_BOUNDARY);
    off = (size_t)(nl - data) + 1;
    /* one input in eight has a callback fail, at one of its first calls */
    fail_at = (int)(fuzz_hash(FUZZ_HASH_INIT ^ 0x77, data, len) % 64);
    fail_at = fail_at < 8 ? fail_at + 1 : 0;
    fuzz_split_init(&whole, data, len, 0);
    fuzz_split_init(&cut, data, len, fuzz_split_mode(data, len));
    ref = fuzz_mp_run(p, boundary, data + off, len - off, &whole, fail_at);
    got = fuzz_mp_run(p, boundary, data + off, len - off, &cut, fail_at);
    apr_pool_destroy(p);
    if (ref != got) {
        fprintf(stderr, "parts differ when the body is fed in chunks "
                "(mode %d)\n", cut.mode);
        abort();
    }
    return 0;
}
