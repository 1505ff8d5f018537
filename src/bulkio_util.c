/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <zlib.h>

#include "bulkio_util.h"

/* Parse leading decimal digits of s into *pv; *pend points past them. */
static apr_status_t parse_digits(const char *s, apr_int64_t *pv, const char **pend)
{
    apr_int64_t v = 0;

    if (!s || !apr_isdigit(*s)) {
        return APR_EINVAL;
    }
    for (; apr_isdigit(*s); ++s) {
        if (v > (APR_INT64_MAX - 9) / 10) {
            return APR_EINVAL;
        }
        v = v * 10 + (*s - '0');
    }
    *pv = v;
    *pend = s;
    return APR_SUCCESS;
}

/* *pv *= mult, refusing overflow. */
static apr_status_t scale(apr_int64_t *pv, apr_int64_t mult)
{
    if (*pv > APR_INT64_MAX / mult) {
        return APR_EINVAL;
    }
    *pv *= mult;
    return APR_SUCCESS;
}

apr_status_t bulkio_parse_size(const char *s, apr_off_t *psize)
{
    apr_int64_t v, mult = 1;
    const char *end;

    if (parse_digits(s, &v, &end) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    switch (apr_toupper(*end)) {
    case 'T': mult <<= 10; /* fall through */
    case 'G': mult <<= 10; /* fall through */
    case 'M': mult <<= 10; /* fall through */
    case 'K': mult <<= 10; ++end; break;
    default: break;
    }
    if (apr_toupper(*end) == 'B') {
        ++end;
    }
    if (*end || scale(&v, mult) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *psize = (apr_off_t)v;
    return APR_SUCCESS;
}

apr_status_t bulkio_parse_interval(const char *s, apr_interval_time_t *pt)
{
    apr_int64_t v, mult;
    const char *end;

    if (parse_digits(s, &v, &end) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (!*end || !strcasecmp(end, "s")) {
        mult = APR_USEC_PER_SEC;
    }
    else if (!strcasecmp(end, "ms")) {
        mult = 1000;
    }
    else if (!strcasecmp(end, "m")) {
        mult = APR_USEC_PER_SEC * 60;
    }
    else if (!strcasecmp(end, "h")) {
        mult = APR_USEC_PER_SEC * 3600;
    }
    else if (!strcasecmp(end, "d")) {
        mult = APR_USEC_PER_SEC * 86400;
    }
    else {
        return APR_EINVAL;
    }
    if (scale(&v, mult) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pt = v;
    return APR_SUCCESS;
}

int bulkio_is_uuid(const char *s)
{
    int i;

    if (!s) {
        return 0;
    }
    for (i = 0; i < 36; ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        }
        else if (!apr_isxdigit(s[i])) {
            return 0;
        }
    }
    return s[36] == '\0';
}

const char *bulkio_hex(apr_pool_t *p, const unsigned char *buf, apr_size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, len * 2 + 1);
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        out[2 * i] = digits[buf[i] >> 4];
        out[2 * i + 1] = digits[buf[i] & 0x0f];
    }
    out[len * 2] = '\0';
    return out;
}

const char *bulkio_sha256_hex(apr_pool_t *p, const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
    return bulkio_hex(p, md, len);
}

const char *bulkio_args_unknown(apr_pool_t *p, const apr_table_t *args,
                                const char *const *allowed)
{
    const apr_array_header_t *arr = apr_table_elts(args);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *list = NULL;
    int i, k;

    for (i = 0; i < arr->nelts; ++i) {
        for (k = 0; allowed[k] && strcmp(e[i].key, allowed[k]); ++k) {
        }
        if (!allowed[k]) {
            break;
        }
    }
    if (i == arr->nelts) {
        return NULL;
    }
    for (k = 0; allowed[k]; ++k) {
        list = list ? apr_pstrcat(p, list, ", ", allowed[k], NULL)
                    : allowed[k];
    }
    return apr_psprintf(p, "unknown parameter '%s'; allowed: %s", e[i].key,
                        list ? list : "none");
}

/* The length of the UTF-8 character at s (1 to 4 bytes), or 0 when s does
 * not start a valid one (overlong forms and surrogates included). */
static apr_size_t utf8_len(const unsigned char *s)
{
    apr_size_t n, i;
    unsigned long cp;

    if (s[0] < 0x80) {
        return 1;
    }
    n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (!n || s[0] > 0xf4) {
        return 0;
    }
    cp = s[0] & (0x7f >> n);
    for (i = 1; i < n; ++i) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
        || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

const char *bulkio_text_clean(apr_pool_t *p, const char *s, apr_size_t max)
{
    const unsigned char *in = (const unsigned char *)s;
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;
    apr_size_t n;

    while (*in) {
        n = utf8_len(in);
        if ((apr_size_t)(o - out) + (n ? n : 1) > max) {
            break;
        }
        if (!n || *in < 0x20 || *in == 0x7f) {
            *o++ = '?';
            ++in;
            continue;
        }
        memcpy(o, in, n);
        o += n;
        in += n;
    }
    *o = '\0';
    return out;
}

const char *bulkio_uuid_new(apr_pool_t *p)
{
    unsigned char b[16];
    const char *h;

    if (RAND_bytes(b, sizeof(b)) != 1) {
        /* the CSPRNG failing is not something to carry on from */
        abort();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    h = bulkio_hex(p, b, sizeof(b));
    return apr_psprintf(p, "%.8s-%.4s-%.4s-%.4s-%.12s",
                        h, h + 8, h + 12, h + 16, h + 20);
}

void bulkio_buf_init(bulkio_buf_t *b, apr_pool_t *p, apr_size_t cap)
{
    b->pool = p;
    b->cap = cap ? cap : 64;
    b->data = apr_palloc(p, b->cap);
    b->len = 0;
}

static void buf_grow(bulkio_buf_t *b, apr_size_t need)
{
    char *data;

    while (b->cap < b->len + need) {
        b->cap *= 2;
    }
    data = apr_palloc(b->pool, b->cap);
    memcpy(data, b->data, b->len);
    b->data = data;
}

void bulkio_buf_add(bulkio_buf_t *b, const char *s, apr_size_t n)
{
    if (b->len + n > b->cap) {
        buf_grow(b, n);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void bulkio_buf_addc(bulkio_buf_t *b, char c)
{
    if (b->len == b->cap) {
        buf_grow(b, 1);
    }
    b->data[b->len++] = c;
}

char *bulkio_buf_reserve(bulkio_buf_t *b, apr_size_t n)
{
    if (b->len + n > b->cap) {
        buf_grow(b, n);
    }
    return b->data + b->len;
}

void bulkio_csv_field(bulkio_buf_t *b, const char *s)
{
    bulkio_csv_field_delim(b, s, ',');
}

void bulkio_csv_field_delim(bulkio_buf_t *b, const char *s, char delim)
{
    apr_size_t n;
    const char *q;

    if (!s) {
        return;
    }
    n = strlen(s);
    if (!n || (!strpbrk(s, "\"\r\n") && !strchr(s, delim) && s[0] != ' '
               && s[n - 1] != ' ')) {
        bulkio_buf_add(b, s, n);
        return;
    }
    bulkio_buf_addc(b, '"');
    while ((q = strchr(s, '"'))) {
        bulkio_buf_add(b, s, (apr_size_t)(q - s) + 1);
        bulkio_buf_addc(b, '"');
        s = q + 1;
    }
    bulkio_buf_add(b, s, strlen(s));
    bulkio_buf_addc(b, '"');
}

static int digits(const char *s, int n)
{
    while (n--) {
        if (!apr_isdigit(*s++)) {
            return 0;
        }
    }
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0;

    while (n--) {
        v = v * 10 + (*s++ - '0');
    }
    return v;
}

int bulkio_is_rfc3339(const char *s)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };
    int y, m, d;

    if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2)
        || s[7] != '-' || !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't')
        || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2)
        || s[16] != ':' || !digits(s + 17, 2)) {
        return 0;
    }
    y = num(s, 4);
    m = num(s + 5, 2);
    d = num(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]
        || (m == 2 && d == 29 && (y % 4 || (!(y % 100) && y % 400)))
        || num(s + 11, 2) > 23 || num(s + 14, 2) > 59
        || num(s + 17, 2) > 59) {
        return 0;
    }
    s += 19;
    if (*s == '.') {
        if (!apr_isdigit(*++s)) {
            return 0;
        }
        while (apr_isdigit(*s)) {
            ++s;
        }
    }
    if ((*s == 'Z' || *s == 'z') && !s[1]) {
        return 1;
    }
    return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':'
           && digits(s + 4, 2) && !s[6] && num(s + 1, 2) < 24
           && num(s + 4, 2) < 60;
}

void bulkio_csv_field_safe(bulkio_buf_t *b, const char *s)
{
    bulkio_csv_field_safe_delim(b, s, ',');
}

void bulkio_csv_field_safe_delim(bulkio_buf_t *b, const char *s, char delim)
{
    if (s && *s && strchr("=+-@\t\r", *s)) {
        s = apr_pstrcat(b->pool, "'", s, NULL);
    }
    bulkio_csv_field_delim(b, s, delim);
}

#define GZIP_OUT 65536

struct bulkio_gzip_t {
    z_stream z;
    bulkio_gzip_out_fn *out;
    void *baton;
    unsigned char buf[GZIP_OUT];
};

static apr_status_t gzip_cleanup(void *gz)
{
    deflateEnd(&((bulkio_gzip_t *)gz)->z);
    return APR_SUCCESS;
}

apr_status_t bulkio_gzip_open(apr_pool_t *p, bulkio_gzip_out_fn *out,
                              void *baton, bulkio_gzip_t **pgz)
{
    bulkio_gzip_t *gz = apr_pcalloc(p, sizeof(*gz));

    /* window bits 15 + 16: a gzip header and trailer around the data */
    if (deflateInit2(&gz->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, gz, gzip_cleanup, apr_pool_cleanup_null);
    gz->out = out;
    gz->baton = baton;
    *pgz = gz;
    return APR_SUCCESS;
}

apr_status_t bulkio_gzip_write(bulkio_gzip_t *gz, const char *data,
                               apr_size_t len, int at_end)
{
    int flush = at_end ? Z_FINISH : Z_NO_FLUSH, zrv;
    apr_size_t n;
    apr_status_t rv;

    gz->z.next_in = (Bytef *)data;
    gz->z.avail_in = (uInt)len;
    do {
        gz->z.next_out = gz->buf;
        gz->z.avail_out = GZIP_OUT;
        if ((zrv = deflate(&gz->z, flush)) == Z_STREAM_ERROR) {
            return APR_EGENERAL;
        }
        n = GZIP_OUT - gz->z.avail_out;
        if (n && (rv = gz->out(gz->baton, (const char *)gz->buf, n))
                 != APR_SUCCESS) {
            return rv;
        }
    } while (gz->z.avail_out == 0 || (at_end && zrv != Z_STREAM_END));
    return APR_SUCCESS;
}
