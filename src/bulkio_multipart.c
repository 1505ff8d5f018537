/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "bulkio_multipart.h"

typedef enum {
    MP_PREAMBLE,        /* before the first delimiter */
    MP_AFTER_DELIM,     /* just after a delimiter's boundary */
    MP_CLOSE_DASH,      /* seen the first '-' of a close delimiter */
    MP_PADDING,         /* transport padding after a boundary */
    MP_DELIM_LF,        /* seen the CR ending a delimiter line */
    MP_HEADERS,         /* in a part's header block */
    MP_DATA,            /* in a part's body */
    MP_EPILOGUE         /* after the close delimiter */
} mp_state_e;

struct bulkio_mp_t {
    bulkio_mp_cb_t cb;
    void *baton;
    const char *delim;          /* CRLF "--" boundary */
    apr_size_t delim_len;
    apr_size_t matched;         /* bytes of delim matched so far... */
    apr_size_t held;            /* ...of which this many in earlier chunks */
    mp_state_e state;
    apr_status_t status;        /* sticky result of bulkio_mp_feed() */
    int want_data;
    int parts;
    /* the current part's header block */
    apr_size_t hdr_bytes;
    int hdr_lines;
    int seen_disposition;
    const char *name;
    const char *filename;
    const char *ctype;
    apr_size_t line_len;
    char line[BULKIO_MP_MAX_HEADER + 1];
    apr_size_t vals_len;
    char vals[BULKIO_MP_MAX_HEADER + 1];    /* name, filename, ctype */
};

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}

/* RFC 7230 tchar. */
static int is_tchar(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 2046 bchars. */
static int is_bchar(unsigned char c)
{
    return is_alnum(c) || (c && strchr("'()+_,-./:=? ", c));
}

/* Control characters other than HT. */
static int is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        ++s;
    }
    return s;
}

static apr_size_t token_len(const char *s)
{
    apr_size_t n = 0;

    while (is_tchar((unsigned char)s[n])) {
        ++n;
    }
    return n;
}

/* Non-zero when the len bytes at s are word, ignoring ASCII case. */
static int token_is(const char *s, apr_size_t len, const char *word)
{
    return len == strlen(word) && apr_cstr_casecmpn(s, word, len) == 0;
}

/*
 * A boundary is 1 to 70 bchars not ending in a space.  Since it then holds
 * no CR, the only CR in a delimiter is its first byte, which is what lets
 * scan_data() restart a failed match without backtracking.
 */
static int valid_boundary(const char *b)
{
    apr_size_t n;

    for (n = 0; b[n]; ++n) {
        if (n == BULKIO_MP_MAX_BOUNDARY || !is_bchar((unsigned char)b[n])) {
            return 0;
        }
    }
    return n > 0 && b[n - 1] != ' ';
}

/*
 * Parse the next header-value parameter at *ps:
 * OWS ";" OWS name OWS "=" OWS ( token / quoted-string ).
 * The value is unquoted and written NUL-terminated at *pout, which must stay
 * below out_end and is advanced past it.  Returns APR_SUCCESS, APR_EOF at
 * the end of the value (a trailing ";" is allowed) or APR_EINVAL.
 */
static apr_status_t next_param(const char **ps, char **pout,
                               const char *out_end, const char **pname,
                               apr_size_t *pname_len, char **pval)
{
    const char *s = skip_ows(*ps);
    char *o = *pout;
    apr_size_t n;

    if (!*s) {
        return APR_EOF;
    }
    if (*s != ';') {
        return APR_EINVAL;
    }
    s = skip_ows(s + 1);
    if (!*s) {
        return APR_EOF;
    }
    if (!(n = token_len(s))) {
        return APR_EINVAL;
    }
    *pname = s;
    *pname_len = n;
    s = skip_ows(s + n);
    if (*s != '=') {
        return APR_EINVAL;
    }
    s = skip_ows(s + 1);
    *pval = o;
    if (*s == '"') {
        for (++s; *s != '"'; ++s) {
            if (*s == '\\') {
                ++s;
            }
            if (!*s || is_ctl((unsigned char)*s) || o >= out_end) {
                return APR_EINVAL;
            }
            *o++ = *s;
        }
        ++s;
    }
    else {
        if (!(n = token_len(s)) || n >= (apr_size_t)(out_end - o)) {
            return APR_EINVAL;
        }
        memcpy(o, s, n);
        o += n;
        s += n;
    }
    if (o >= out_end) {
        return APR_EINVAL;
    }
    *o++ = '\0';
    *ps = s;
    *pout = o;
    return APR_SUCCESS;
}

apr_status_t bulkio_mp_boundary(apr_pool_t *p, const char *content_type,
                                const char **pboundary)
{
    const char *s, *pname;
    char *out, *o, *val, *boundary = NULL;
    apr_size_t n, len;
    apr_status_t rv;

    if (!content_type) {
        return APR_EINVAL;
    }
    s = skip_ows(content_type);
    n = token_len(s);
    if (s[n] != '/') {
        return APR_EINVAL;
    }
    n += 1 + token_len(s + n + 1);
    if (!token_is(s, n, "multipart/form-data")) {
        return APR_EINVAL;
    }
    s += n;
    len = strlen(s) + 1;
    o = out = apr_palloc(p, len);
    while ((rv = next_param(&s, &o, out + len, &pname, &n, &val))
           == APR_SUCCESS) {
        if (token_is(pname, n, "boundary")) {
            if (boundary) {
                return APR_EINVAL;
            }
            boundary = val;
        }
    }
    if (rv != APR_EOF || !boundary || !valid_boundary(boundary)) {
        return APR_EINVAL;
    }
    *pboundary = boundary;
    return APR_SUCCESS;
}

bulkio_mp_t *bulkio_mp_create(apr_pool_t *p, const char *boundary,
                              const bulkio_mp_cb_t *cb, void *baton)
{
    bulkio_mp_t *mp;

    if (!boundary || !valid_boundary(boundary)) {
        return NULL;
    }
    mp = apr_pcalloc(p, sizeof(*mp));
    if (cb) {
        mp->cb = *cb;
    }
    mp->baton = baton;
    mp->delim = apr_pstrcat(p, "\r\n--", boundary, NULL);
    mp->delim_len = strlen(mp->delim);
    mp->state = MP_PREAMBLE;
    /* act as if a CRLF came first, so "--boundary" may open the body */
    mp->matched = mp->held = 2;
    return mp;
}

/* The last path component of a file name, "" for "." and "..". */
static char *base_name(char *name)
{
    char *s;

    for (s = name; *s; ++s) {
        if (*s == '/' || *s == '\\') {
            name = s + 1;
        }
    }
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        *name = '\0';
    }
    return name;
}

/* Content-Disposition: form-data *( ";" parameter ) */
static apr_status_t parse_disposition(bulkio_mp_t *mp, const char *v)
{
    char *o = mp->vals + mp->vals_len, *val;
    const char *pname;
    apr_size_t n = token_len(v);
    apr_status_t rv;

    if (mp->seen_disposition++ || !token_is(v, n, "form-data")) {
        return APR_EINVAL;
    }
    v += n;
    while ((rv = next_param(&v, &o, mp->vals + sizeof(mp->vals), &pname, &n,
                            &val)) == APR_SUCCESS) {
        if (token_is(pname, n, "name")) {
            if (mp->name) {
                return APR_EINVAL;
            }
            mp->name = val;
        }
        else if (token_is(pname, n, "filename")) {
            if (mp->filename) {
                return APR_EINVAL;
            }
            mp->filename = base_name(val);
        }
        else {
            /* not kept (this includes filename*) */
            o = val;
        }
    }
    mp->vals_len = (apr_size_t)(o - mp->vals);
    return rv == APR_EOF ? APR_SUCCESS : APR_EINVAL;
}

/* Content-Type: type "/" subtype [ ";" parameters ], keeping the type. */
static apr_status_t parse_type(bulkio_mp_t *mp, const char *v)
{
    char *o = mp->vals + mp->vals_len;
    apr_size_t i, n = token_len(v);

    if (mp->ctype || !n || v[n] != '/' || !token_len(v + n + 1)) {
        return APR_EINVAL;
    }
    n += 1 + token_len(v + n + 1);
    if (*skip_ows(v + n) && *skip_ows(v + n) != ';') {
        return APR_EINVAL;
    }
    if (n >= sizeof(mp->vals) - mp->vals_len) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; ++i) {
        o[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] - 'A' + 'a') : v[i];
    }
    o[n] = '\0';
    mp->ctype = o;
    mp->vals_len += n + 1;
    return APR_SUCCESS;
}

/* A delimiter line ended: a new part's headers follow. */
static apr_status_t begin_headers(bulkio_mp_t *mp)
{
    if (++mp->parts > BULKIO_MP_MAX_PARTS) {
        return APR_EINVAL;
    }
    mp->state = MP_HEADERS;
    mp->hdr_bytes = 0;
    mp->hdr_lines = 0;
    mp->seen_disposition = 0;
    mp->name = mp->filename = mp->ctype = NULL;
    mp->line_len = 0;
    mp->vals_len = 0;
    return APR_SUCCESS;
}

/* The header block ended: announce the part, its data follows. */
static apr_status_t begin_data(bulkio_mp_t *mp)
{
    mp->state = MP_DATA;
    mp->matched = mp->held = 0;
    mp->want_data = 1;
    if (!mp->cb.part_begin) {
        return APR_SUCCESS;
    }
    return mp->cb.part_begin(mp->baton, mp->name, mp->filename, mp->ctype,
                             &mp->want_data);
}

/* Handle the header line in mp->line (its LF already dropped). */
static apr_status_t header_line(bulkio_mp_t *mp)
{
    char *line = mp->line, *end;
    const char *value;
    apr_size_t i, n, len = mp->line_len;

    mp->line_len = 0;
    if (len && line[len - 1] == '\r') {
        --len;
    }
    line[len] = '\0';
    if (!len) {
        return begin_data(mp);
    }
    if (++mp->hdr_lines > BULKIO_MP_MAX_HEADERS) {
        return APR_EINVAL;
    }
    for (i = 0; i < len; ++i) {
        if (is_ctl((unsigned char)line[i])) {
            return APR_EINVAL;
        }
    }
    /* field-name ":" OWS field-value OWS; folded lines are refused */
    n = token_len(line);
    if (!n || line[n] != ':') {
        return APR_EINVAL;
    }
    value = skip_ows(line + n + 1);
    end = line + len;
    while (end > value && (end[-1] == ' ' || end[-1] == '\t')) {
        *--end = '\0';
    }
    if (token_is(line, n, "Content-Disposition")) {
        return parse_disposition(mp, value);
    }
    if (token_is(line, n, "Content-Type")) {
        return parse_type(mp, value);
    }
    return APR_SUCCESS;
}

static apr_status_t scan_headers(bulkio_mp_t *mp, const char *data,
                                 apr_size_t len, apr_size_t *pi)
{
    apr_status_t rv = APR_SUCCESS;
    char c;

    while (*pi < len && mp->state == MP_HEADERS && rv == APR_SUCCESS) {
        c = data[(*pi)++];
        if (++mp->hdr_bytes > BULKIO_MP_MAX_HEADER) {
            return APR_EINVAL;
        }
        if (c == '\n') {
            rv = header_line(mp);
        }
        else {
            mp->line[mp->line_len++] = c;
        }
    }
    return rv;
}

/* Hand part data to the caller, or drop it (preamble, unwanted part). */
static apr_status_t emit(bulkio_mp_t *mp, const char *data, apr_size_t len)
{
    if (!len || mp->state != MP_DATA || !mp->want_data || !mp->cb.part_data) {
        return APR_SUCCESS;
    }
    return mp->cb.part_data(mp->baton, data, len);
}

/*
 * Pass on preamble or part data up to the next delimiter.  A partial match
 * at the end of the chunk is held back; being a prefix of the delimiter it
 * need not be stored, and is emitted from mp->delim if the match fails.
 */
static apr_status_t scan_data(bulkio_mp_t *mp, const char *data,
                              apr_size_t len, apr_size_t *pi)
{
    apr_size_t i = *pi, run = i;
    const char *cr;
    apr_status_t rv;
    int in_part;

    while (i < len) {
        if (mp->matched == 0) {
            if (!(cr = memchr(data + i, '\r', len - i))) {
                i = len;
                break;
            }
            i = (apr_size_t)(cr - data) + 1;
            mp->matched = 1;
        }
        else if (data[i] == mp->delim[mp->matched]) {
            ++i;
            if (++mp->matched == mp->delim_len) {
                in_part = (mp->state == MP_DATA);
                rv = emit(mp, data + run,
                          i - (mp->delim_len - mp->held) - run);
                mp->matched = mp->held = 0;
                mp->state = MP_AFTER_DELIM;
                *pi = i;
                if (rv == APR_SUCCESS && in_part && mp->cb.part_end) {
                    rv = mp->cb.part_end(mp->baton);
                }
                return rv;
            }
        }
        else {
            /* mismatch: data[i] is looked at again as a possible start */
            if (mp->held && (rv = emit(mp, mp->delim, mp->held))
                            != APR_SUCCESS) {
                return rv;
            }
            mp->matched = mp->held = 0;
        }
    }
    rv = emit(mp, data + run, len - (mp->matched - mp->held) - run);
    mp->held = mp->matched;
    *pi = len;
    return rv;
}

/* The rest of a delimiter line: "--" (close), or padding then a line end. */
static apr_status_t scan_delimiter(bulkio_mp_t *mp, char c)
{
    switch (mp->state) {
    case MP_AFTER_DELIM:
        if (c == '-') {
            mp->state = MP_CLOSE_DASH;
            return APR_SUCCESS;
        }
        /* fall through */
    case MP_PADDING:
        if (c == ' ' || c == '\t') {
            mp->state = MP_PADDING;
            return APR_SUCCESS;
        }
        if (c == '\r') {
            mp->state = MP_DELIM_LF;
            return APR_SUCCESS;
        }
        return c == '\n' ? begin_headers(mp) : APR_EINVAL;
    case MP_DELIM_LF:
        return c == '\n' ? begin_headers(mp) : APR_EINVAL;
    case MP_CLOSE_DASH:
        if (c == '-') {
            mp->state = MP_EPILOGUE;
            return APR_SUCCESS;
        }
        return APR_EINVAL;
    default:
        return APR_EINVAL;
    }
}

apr_status_t bulkio_mp_feed(bulkio_mp_t *mp, const char *data, apr_size_t len)
{
    apr_status_t rv = APR_SUCCESS;
    apr_size_t i = 0;

    if (mp->status != APR_SUCCESS) {
        return mp->status;
    }
    if (!data && len) {
        rv = APR_EINVAL;
    }
    while (rv == APR_SUCCESS && i < len) {
        switch (mp->state) {
        case MP_PREAMBLE:
        case MP_DATA:
            rv = scan_data(mp, data, len, &i);
            break;
        case MP_HEADERS:
            rv = scan_headers(mp, data, len, &i);
            break;
        case MP_EPILOGUE:
            i = len;
            break;
        default:
            rv = scan_delimiter(mp, data[i++]);
            break;
        }
    }
    mp->status = rv;
    return rv;
}

apr_status_t bulkio_mp_finish(bulkio_mp_t *mp)
{
    if (mp->status != APR_SUCCESS) {
        return mp->status;
    }
    return mp->state == MP_EPILOGUE ? APR_SUCCESS : APR_INCOMPLETE;
}
