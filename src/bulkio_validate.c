/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <json-c/json.h>

#include "bulkio_validate.h"

/*
 * Every check below works on (pointer, length) pairs taken from json-c, so
 * no string is measured twice, and allocates only from the caller's pool
 * (the one exception: a CSV tags cell in JSON-array form is parsed with a
 * json-c tokener, released before returning).
 */

#define BULKIO_USERS_NCOLS    7
#define BULKIO_ARTICLES_NCOLS 8
#define BULKIO_COMMENTS_NCOLS 5

#define BULKIO_EMAIL_MAX      254
#define BULKIO_NAME_MAX       255
#define BULKIO_SLUG_MAX       255
#define BULKIO_BODY_MAX_WORDS 500
#define BULKIO_BODY_MAX_CHARS 10000

/* "YYYY-MM-DD HH:MM:SS.ffffff+00" */
#define BULKIO_TS_OUT_LEN     29
#define BULKIO_UUID_LEN       36
#define BULKIO_CM_PREFIX      "cm_"
#define BULKIO_CM_PREFIX_LEN  3

static const char *const bulkio_users_cols[] = {
    "external_id", "email", "name", "role", "active", "created_at",
    "updated_at"
};

static const char *const bulkio_articles_cols[] = {
    "external_id", "slug", "title", "body", "author_id", "tags",
    "published_at", "status"
};

static const char *const bulkio_comments_cols[] = {
    "external_id", "article_id", "user_id", "body", "created_at"
};

/* ASCII whitespace: space, \t, \n, \v, \f, \r. */
static const unsigned char bulkio_ws[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1
};

#define BULKIO_IS_WS(c)    (bulkio_ws[(unsigned char)(c)])
#define BULKIO_IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define BULKIO_IS_LOWER(c) ((c) >= 'a' && (c) <= 'z')
#define BULKIO_IS_ALPHA(c) (BULKIO_IS_LOWER(c) || ((c) >= 'A' && (c) <= 'Z'))

/* What a field lookup found. */
#define BULKIO_FAIL    (-1)
#define BULKIO_ABSENT  0
#define BULKIO_PRESENT 1
#define BULKIO_NULLED  2   /* an explicit null (JSON null, CSV \N) */

/* The CSV cell that stands for null (docs/records.md). */
#define BULKIO_CSV_NULL     "\\N"
#define BULKIO_CSV_NULL_LEN 2

/* The state of one validation. */
typedef struct {
    apr_pool_t *p;
    json_object *obj;
    int csv;
    int partial;         /* the record carries only the fields it changes */
    bulkio_verdict_t *v;
} bulkio_vctx_t;

/* Record a validation failure; message is static or from the pool. */
static int bulkio_fail(bulkio_vctx_t *c, const char *field,
                       const char *message)
{
    c->v->type = BULKIO_ERR_VALIDATION;
    c->v->field = field;
    c->v->message = message;
    return BULKIO_FAIL;
}

/* Record a failure whose message is the field name followed by what. */
static int bulkio_failf(bulkio_vctx_t *c, const char *field, const char *what)
{
    return bulkio_fail(c, field, apr_pstrcat(c->p, field, what, NULL));
}

/* Unicode characters in s[0..len): bytes that are not UTF-8 continuation
 * bytes (so malformed input is counted, never overrun). */
static apr_size_t bulkio_nchars(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    const unsigned char *end = u + len;
    apr_size_t n = 0;

    for (; u < end; ++u) {
        n += (*u & 0xC0) != 0x80;
    }
    return n;
}

/* Non-zero when s[0..len) holds more than max characters. */
static int bulkio_too_long(const char *s, apr_size_t len, apr_size_t max)
{
    if (len <= max) {
        return 0;
    }
    if (len / 4 > max) {
        return 1;
    }
    return bulkio_nchars(s, len) > max;
}

/* What the record says of field name: BULKIO_PRESENT with *pval,
 * BULKIO_ABSENT (missing, or an empty string) or BULKIO_NULLED (JSON null,
 * or from CSV a cell of exactly \N). */
static int bulkio_field_state(const bulkio_vctx_t *c, const char *name,
                              json_object **pval)
{
    json_object *val;
    int len;

    *pval = NULL;
    if (!json_object_object_get_ex(c->obj, name, &val)) {
        return BULKIO_ABSENT;
    }
    if (!val) {
        return BULKIO_NULLED;
    }
    if (json_object_is_type(val, json_type_string)) {
        len = json_object_get_string_len(val);
        if (len == 0) {
            return BULKIO_ABSENT;
        }
        if (c->csv && len == BULKIO_CSV_NULL_LEN
            && !memcmp(json_object_get_string(val), BULKIO_CSV_NULL,
                       BULKIO_CSV_NULL_LEN)) {
            return BULKIO_NULLED;
        }
    }
    *pval = val;
    return BULKIO_PRESENT;
}

/* The value of field name, or NULL when it is absent or null. */
static json_object *bulkio_field(const bulkio_vctx_t *c, const char *name)
{
    json_object *val;

    bulkio_field_state(c, name, &val);
    return val;
}

/* The text of a string value, refusing embedded NULs (nothing downstream
 * can hold them). */
static int bulkio_string_of(bulkio_vctx_t *c, const char *name,
                            json_object *val, const char **ps,
                            apr_size_t *plen)
{
    int len;

    if (!json_object_is_type(val, json_type_string)) {
        return bulkio_failf(c, name, " must be a string");
    }
    len = json_object_get_string_len(val);
    *ps = json_object_get_string(val);
    *plen = len > 0 ? (apr_size_t)len : 0;
    if (memchr(*ps, '\0', *plen)) {
        return bulkio_failf(c, name, " must not contain NUL characters");
    }
    return BULKIO_PRESENT;
}

/* A string field: BULKIO_PRESENT with *ps and *plen set, BULKIO_ABSENT, or
 * BULKIO_FAIL. */
static int bulkio_string(bulkio_vctx_t *c, const char *name,
                         const char **ps, apr_size_t *plen)
{
    json_object *val = bulkio_field(c, name);

    if (!val) {
        return BULKIO_ABSENT;
    }
    return bulkio_string_of(c, name, val, ps, plen);
}

/* A string field the record must carry: BULKIO_PRESENT with *ps and *plen
 * set, or BULKIO_FAIL ("<name> is required" when absent). A partial
 * record may leave it out (BULKIO_ABSENT: the database decides, it is
 * required of a record that inserts), but not null it. */
static int bulkio_required_string(bulkio_vctx_t *c, const char *name,
                                  const char **ps, apr_size_t *plen)
{
    json_object *val;
    int rc = bulkio_string(c, name, ps, plen);

    if (rc == BULKIO_ABSENT && (!c->partial
                                || bulkio_field_state(c, name, &val)
                                   == BULKIO_NULLED)) {
        return bulkio_failf(c, name, " is required");
    }
    return rc;
}

/* A free-text string field, copied as given; at most max characters when
 * max is non-zero. */
static int bulkio_check_text(bulkio_vctx_t *c, const char *name,
                             int required, apr_size_t max, const char **out)
{
    const char *s;
    apr_size_t len;
    int rc = required ? bulkio_required_string(c, name, &s, &len)
                      : bulkio_string(c, name, &s, &len);

    if (rc == BULKIO_FAIL) {
        return rc;
    }
    if (rc == BULKIO_ABSENT) {
        *out = NULL;
        return rc;
    }
    if (max && bulkio_too_long(s, len, max)) {
        return bulkio_fail(c, name, apr_psprintf(c->p,
                           "%s must be at most %" APR_SIZE_T_FMT
                           " characters", name, max));
    }
    *out = apr_pstrmemdup(c->p, s, len);
    return rc;
}

/* A value of a fixed set (exact match); dflt when absent. */
static int bulkio_check_enum(bulkio_vctx_t *c, const char *name,
                             const char *const *values, const char *dflt,
                             const char *message, const char **out)
{
    const char *s;
    apr_size_t len;
    int rc = bulkio_string(c, name, &s, &len);

    if (rc == BULKIO_FAIL) {
        return rc;
    }
    if (rc == BULKIO_ABSENT) {
        *out = dflt;
        return rc;
    }
    for (; *values; ++values) {
        if (strlen(*values) == len && !memcmp(s, *values, len)) {
            *out = *values;
            return rc;
        }
    }
    return bulkio_fail(c, name, message);
}

/* A boolean: JSON true/false, or from CSV "true"/"false" in any case;
 * output "t" or "f", dflt when absent. */
static int bulkio_check_bool(bulkio_vctx_t *c, const char *name,
                             const char *dflt, const char **out)
{
    json_object *val = bulkio_field(c, name);
    const char *s;
    apr_size_t len;

    if (!val) {
        *out = dflt;
        return BULKIO_ABSENT;
    }
    if (json_object_is_type(val, json_type_boolean)) {
        *out = json_object_get_boolean(val) ? "t" : "f";
        return BULKIO_PRESENT;
    }
    if (!c->csv) {
        return bulkio_failf(c, name, " must be a boolean (true or false)");
    }
    if (bulkio_string_of(c, name, val, &s, &len) == BULKIO_FAIL) {
        return BULKIO_FAIL;
    }
    if (len == 4 && !strncasecmp(s, "true", 4)) {
        *out = "t";
    }
    else if (len == 5 && !strncasecmp(s, "false", 5)) {
        *out = "f";
    }
    else {
        return bulkio_failf(c, name, " must be true or false");
    }
    return BULKIO_PRESENT;
}

/* The value of a hex digit, or -1. */
static int bulkio_hexval(char ch)
{
    if (BULKIO_IS_DIGIT(ch)) {
        return ch - '0';
    }
    ch = (char)(ch | 0x20);
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    return -1;
}

/* Copy the UUID s[0..len) to out lower-cased (BULKIO_UUID_LEN bytes, not
 * terminated); zero when s is not a canonical 8-4-4-4-12 hex UUID. */
static int bulkio_uuid_lower(const char *s, apr_size_t len, char *out)
{
    apr_size_t i;

    if (len != BULKIO_UUID_LEN) {
        return 0;
    }
    for (i = 0; i < BULKIO_UUID_LEN; ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
            out[i] = '-';
        }
        else if (bulkio_hexval(s[i]) < 0) {
            return 0;
        }
        else {
            out[i] = BULKIO_IS_DIGIT(s[i]) ? s[i] : (char)(s[i] | 0x20);
        }
    }
    return 1;
}

/* The record's id: a UUID, or for comments (cm) also "cm_" + UUID; output
 * lower-cased, NULL when absent. */
static int bulkio_check_id(bulkio_vctx_t *c, int cm, const char **out)
{
    const char *s;
    apr_size_t len, pre = 0;
    char *buf;
    int rc = bulkio_string(c, "id", &s, &len);

    if (rc != BULKIO_PRESENT) {
        *out = NULL;
        return rc;
    }
    if (cm && len == BULKIO_CM_PREFIX_LEN + BULKIO_UUID_LEN
        && !memcmp(s, BULKIO_CM_PREFIX, BULKIO_CM_PREFIX_LEN)) {
        pre = BULKIO_CM_PREFIX_LEN;
    }
    buf = apr_palloc(c->p, BULKIO_CM_PREFIX_LEN + BULKIO_UUID_LEN + 1);
    if (!bulkio_uuid_lower(s + pre, len - pre, buf + pre)) {
        return bulkio_fail(c, "id", cm ? "id must be a UUID or cm_<UUID>"
                                       : "id must be a UUID");
    }
    memcpy(buf, BULKIO_CM_PREFIX, pre);
    buf[pre + BULKIO_UUID_LEN] = '\0';
    *out = buf;
    return rc;
}

/* Non-zero when s[0..len) has the shape local@domain.tld. */
static int bulkio_email_ok(const char *s, apr_size_t len)
{
    const char *end = s + len, *at = NULL, *q, *label;
    int dots = 0;

    for (q = s; q < end; ++q) {
        if (BULKIO_IS_WS(*q)) {
            return 0;
        }
        if (*q == '@') {
            if (at) {
                return 0;
            }
            at = q;
        }
    }
    if (!at || at == s) {
        return 0;
    }
    for (label = q = at + 1; q < end; ++q) {
        if (*q == '.') {
            if (q == label) {
                return 0;
            }
            ++dots;
            label = q + 1;
        }
    }
    if (!dots || end - label < 2) {
        return 0;
    }
    for (q = label; q < end; ++q) {
        if (!BULKIO_IS_ALPHA(*q)) {
            return 0;
        }
    }
    return 1;
}

static int bulkio_check_email(bulkio_vctx_t *c, const char **out)
{
    const char *s;
    apr_size_t len;
    int rc = bulkio_required_string(c, "email", &s, &len);

    if (rc != BULKIO_PRESENT) {
        *out = NULL;
        return rc;
    }
    if (bulkio_too_long(s, len, BULKIO_EMAIL_MAX)) {
        return bulkio_fail(c, "email", "email must be at most 254 characters");
    }
    if (!bulkio_email_ok(s, len)) {
        return bulkio_fail(c, "email", "email is not a valid address");
    }
    *out = apr_pstrmemdup(c->p, s, len);
    return rc;
}

/* Non-zero when s[0..len) is kebab-case: ^[a-z0-9]+(-[a-z0-9]+)*$. */
static int bulkio_slug_ok(const char *s, apr_size_t len)
{
    const char *end = s + len;
    int after_dash = 1;

    for (; s < end; ++s) {
        if (BULKIO_IS_LOWER(*s) || BULKIO_IS_DIGIT(*s)) {
            after_dash = 0;
        }
        else if (*s == '-' && !after_dash) {
            after_dash = 1;
        }
        else {
            return 0;
        }
    }
    return !after_dash;
}

static int bulkio_check_slug(bulkio_vctx_t *c, const char **out)
{
    const char *s;
    apr_size_t len;
    int rc = bulkio_required_string(c, "slug", &s, &len);

    if (rc != BULKIO_PRESENT) {
        *out = NULL;
        return rc;
    }
    if (!bulkio_slug_ok(s, len)) {
        return bulkio_fail(c, "slug", "slug must be kebab-case (lower-case "
                           "letters and digits in groups joined by single "
                           "hyphens)");
    }
    if (len > BULKIO_SLUG_MAX) {
        return bulkio_fail(c, "slug", "slug must be at most 255 characters");
    }
    *out = apr_pstrmemdup(c->p, s, len);
    return rc;
}

/* The number n of digits at s as an int; -1 unless all n are digits. */
static int bulkio_digits(const char *s, int n)
{
    int v = 0;

    for (; n > 0; --n, ++s) {
        if (!BULKIO_IS_DIGIT(*s)) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int bulkio_days_in_month(int y, int m)
{
    static const unsigned char days[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
        return 29;
    }
    return days[m - 1];
}

/* Write v (not negative) as n decimal digits, zero-padded; returns the
 * end. Unsigned, so that the divisions by 10 compile to multiplications. */
static char *bulkio_put_digits(char *d, int v, int n)
{
    unsigned int u = (unsigned int)v;
    int i;

    for (i = n - 1; i >= 0; --i) {
        d[i] = (char)('0' + u % 10);
        u /= 10;
    }
    return d + n;
}

/* Parse the RFC 3339 timestamp s[0..len) (offset mandatory) and write it
 * in UTC as "YYYY-MM-DD HH:MM:SS.ffffff+00" to out (BULKIO_TS_OUT_LEN + 1
 * bytes, terminated).
 * @return 0 on success, 1 on a malformed text, 2 on a value out of range */
static int bulkio_parse_ts(const char *s, apr_size_t len, char *out)
{
    int y, mo, d, h, mi, sec, usec = 0, ndig = 0, off = 0, oh, om, t;
    apr_size_t i;
    char *o;

    /* YYYY-MM-DDTHH:MM:SS, then at least 'Z' */
    if (len < 20 || s[4] != '-' || s[7] != '-'
        || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') {
        return 1;
    }
    y = bulkio_digits(s, 4);
    mo = bulkio_digits(s + 5, 2);
    d = bulkio_digits(s + 8, 2);
    h = bulkio_digits(s + 11, 2);
    mi = bulkio_digits(s + 14, 2);
    sec = bulkio_digits(s + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) {
        return 1;
    }
    i = 19;
    if (s[i] == '.') {
        for (++i; i < len && BULKIO_IS_DIGIT(s[i]); ++i, ++ndig) {
            if (ndig < 6) {
                usec = usec * 10 + (s[i] - '0');
            }
        }
        if (ndig < 1 || ndig > 9) {
            return 1;
        }
        for (; ndig < 6; ++ndig) {
            usec *= 10;
        }
    }
    if (i >= len) {
        return 1;
    }
    if (s[i] == 'Z' || s[i] == 'z') {
        ++i;
    }
    else if (s[i] == '+' || s[i] == '-') {
        if (len - i < 6 || s[i + 3] != ':'
            || (oh = bulkio_digits(s + i + 1, 2)) < 0
            || (om = bulkio_digits(s + i + 4, 2)) < 0) {
            return 1;
        }
        if (oh > 23 || om > 59) {
            return 2;
        }
        off = oh * 60 + om;
        if (s[i] == '-') {
            off = -off;
        }
        i += 6;
    }
    else {
        return 1;
    }
    if (i != len) {
        return 1;
    }
    if (y < 1 || mo < 1 || mo > 12 || d < 1
        || d > bulkio_days_in_month(y, mo) || h > 23 || mi > 59
        || sec > 59) {
        return 2;
    }

    /* To UTC: the offset is under a day, so the date moves by one at most */
    t = h * 60 + mi - off;
    if (t < 0) {
        t += 24 * 60;
        if (--d < 1) {
            if (--mo < 1) {
                mo = 12;
                --y;
            }
            d = bulkio_days_in_month(y, mo);
        }
    }
    else if (t >= 24 * 60) {
        t -= 24 * 60;
        if (++d > bulkio_days_in_month(y, mo)) {
            d = 1;
            if (++mo > 12) {
                mo = 1;
                ++y;
            }
        }
    }
    if (y < 1 || y > 9999) {
        return 2;
    }
    h = t / 60;
    mi = t % 60;

    o = bulkio_put_digits(out, y, 4);
    *o++ = '-';
    o = bulkio_put_digits(o, mo, 2);
    *o++ = '-';
    o = bulkio_put_digits(o, d, 2);
    *o++ = ' ';
    o = bulkio_put_digits(o, h, 2);
    *o++ = ':';
    o = bulkio_put_digits(o, mi, 2);
    *o++ = ':';
    o = bulkio_put_digits(o, sec, 2);
    *o++ = '.';
    o = bulkio_put_digits(o, usec, 6);
    memcpy(o, "+00", 4);
    return 0;
}

/* An optional timestamp, normalized to UTC; NULL when absent. */
static int bulkio_check_ts(bulkio_vctx_t *c, const char *name,
                           const char **out)
{
    const char *s;
    apr_size_t len;
    char *buf;
    int rc = bulkio_string(c, name, &s, &len);

    if (rc != BULKIO_PRESENT) {
        *out = NULL;
        return rc;
    }
    buf = apr_palloc(c->p, BULKIO_TS_OUT_LEN + 1);
    switch (bulkio_parse_ts(s, len, buf)) {
    case 0:
        *out = buf;
        return rc;
    case 1:
        return bulkio_failf(c, name, " must be an RFC 3339 timestamp with "
                            "an offset, e.g. 2024-01-01T00:00:00Z");
    default:
        return bulkio_failf(c, name, " is not a valid date and time");
    }
}

/* Room one tag takes in an array literal: quotes, escapes and a comma. */
static apr_size_t bulkio_tag_size(const char *s, apr_size_t len)
{
    const char *end = s + len;
    apr_size_t n = len + 3;

    for (; s < end; ++s) {
        n += (*s == '"' || *s == '\\');
    }
    return n;
}

/* Append one tag, double-quoted with '"' and '\' escaped; returns the end. */
static char *bulkio_tag_put(char *d, const char *s, apr_size_t len,
                            int first)
{
    const char *end = s + len;

    if (!first) {
        *d++ = ',';
    }
    *d++ = '"';
    for (; s < end; ++s) {
        if (*s == '"' || *s == '\\') {
            *d++ = '\\';
        }
        *d++ = *s;
    }
    *d++ = '"';
    return d;
}

/* The tags of a JSON array as a PostgreSQL array literal. */
static int bulkio_tags_array(bulkio_vctx_t *c, json_object *arr,
                             const char **out)
{
    size_t i, n = json_object_array_length(arr);
    apr_size_t size = 3, len;
    const char *s;
    char *buf, *d;

    for (i = 0; i < n; ++i) {
        json_object *el = json_object_array_get_idx(arr, i);

        if (!el || !json_object_is_type(el, json_type_string)) {
            return bulkio_fail(c, "tags", "tags must be an array of strings");
        }
        if (bulkio_string_of(c, "tags", el, &s, &len) == BULKIO_FAIL) {
            return BULKIO_FAIL;
        }
        size += bulkio_tag_size(s, len);
    }
    d = buf = apr_palloc(c->p, size);
    *d++ = '{';
    for (i = 0; i < n; ++i) {
        json_object *el = json_object_array_get_idx(arr, i);

        d = bulkio_tag_put(d, json_object_get_string(el),
                           (apr_size_t)json_object_get_string_len(el), !i);
    }
    *d++ = '}';
    *d = '\0';
    *out = buf;
    return BULKIO_PRESENT;
}

/* The next non-empty item of a ';'-separated list at *ps (before end),
 * trimmed of ASCII whitespace; zero when there is none. */
static int bulkio_next_item(const char **ps, const char *end,
                            const char **pitem, apr_size_t *plen)
{
    const char *s = *ps, *semi, *b, *e;

    while (s < end) {
        semi = memchr(s, ';', (apr_size_t)(end - s));
        if (!semi) {
            semi = end;
        }
        for (b = s; b < semi && BULKIO_IS_WS(*b); ++b) {
        }
        for (e = semi; e > b && BULKIO_IS_WS(e[-1]); --e) {
        }
        s = semi < end ? semi + 1 : end;
        if (e > b) {
            *ps = s;
            *pitem = b;
            *plen = (apr_size_t)(e - b);
            return 1;
        }
    }
    *ps = end;
    return 0;
}

/* The tags of a CSV ';'-separated list as a PostgreSQL array literal. */
static int bulkio_tags_list(bulkio_vctx_t *c, const char *s, apr_size_t len,
                            const char **out)
{
    const char *end = s + len, *p, *item;
    apr_size_t size = 3, ilen;
    char *buf, *d;
    int first = 1;

    for (p = s; bulkio_next_item(&p, end, &item, &ilen); ) {
        size += bulkio_tag_size(item, ilen);
    }
    d = buf = apr_palloc(c->p, size);
    *d++ = '{';
    for (p = s; bulkio_next_item(&p, end, &item, &ilen); first = 0) {
        d = bulkio_tag_put(d, item, ilen, first);
    }
    *d++ = '}';
    *d = '\0';
    *out = buf;
    return BULKIO_PRESENT;
}

/* The tags of a CSV cell holding a JSON array (text from its first '['). */
static int bulkio_tags_json_text(bulkio_vctx_t *c, const char *s,
                                 apr_size_t len, const char **out)
{
    static const char *const bad =
        "tags must be a JSON array of strings or a ;-separated list";
    json_tokener *tok;
    json_object *arr;
    apr_size_t end;
    int rc = BULKIO_FAIL;

    if (len > INT_MAX || !(tok = json_tokener_new())) {
        return bulkio_fail(c, "tags", bad);
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    arr = json_tokener_parse_ex(tok, s, (int)len);
    if (arr && json_tokener_get_error(tok) == json_tokener_success
        && json_object_is_type(arr, json_type_array)) {
        for (end = json_tokener_get_parse_end(tok);
             end < len && BULKIO_IS_WS(s[end]); ++end) {
        }
        if (end == len) {
            rc = bulkio_tags_array(c, arr, out);
        }
    }
    if (arr) {
        json_object_put(arr);
    }
    json_tokener_free(tok);
    if (rc == BULKIO_FAIL && c->v->type == BULKIO_ERR_NONE) {
        return bulkio_fail(c, "tags", bad);
    }
    return rc;
}

/* Optional tags, as a PostgreSQL array literal ("{}" when absent). */
static int bulkio_check_tags(bulkio_vctx_t *c, const char **out)
{
    json_object *val = bulkio_field(c, "tags");
    const char *s;
    apr_size_t len, i;

    if (!val) {
        *out = "{}";
        return BULKIO_ABSENT;
    }
    if (json_object_is_type(val, json_type_array)) {
        return bulkio_tags_array(c, val, out);
    }
    if (!c->csv || !json_object_is_type(val, json_type_string)) {
        return bulkio_fail(c, "tags", "tags must be an array of strings");
    }
    if (bulkio_string_of(c, "tags", val, &s, &len) == BULKIO_FAIL) {
        return BULKIO_FAIL;
    }
    for (i = 0; i < len && BULKIO_IS_WS(s[i]); ++i) {
    }
    if (i < len && s[i] == '[') {
        return bulkio_tags_json_text(c, s + i, len - i, out);
    }
    return bulkio_tags_list(c, s, len, out);
}

/* A comment body: required, not blank, at most 500 words and 10,000
 * characters; copied as given. */
static int bulkio_check_body(bulkio_vctx_t *c, const char **out)
{
    const unsigned char *u, *end;
    const char *s;
    apr_size_t len, words = 0, chars = 0;
    int in_word = 0;
    int rc = bulkio_required_string(c, "body", &s, &len);

    if (rc != BULKIO_PRESENT) {
        *out = NULL;
        return rc;
    }
    u = (const unsigned char *)s;
    end = u + len;
    for (; u < end; ++u) {
        if (bulkio_ws[*u]) {
            in_word = 0;
        }
        else if (!in_word) {
            in_word = 1;
            ++words;
        }
        chars += (*u & 0xC0) != 0x80;
    }
    if (!words) {
        return bulkio_fail(c, "body", "body must not be blank");
    }
    if (words > BULKIO_BODY_MAX_WORDS) {
        return bulkio_fail(c, "body", "body must be at most 500 words");
    }
    if (chars > BULKIO_BODY_MAX_CHARS) {
        return bulkio_fail(c, "body",
                           "body must be at most 10000 characters");
    }
    *out = apr_pstrmemdup(c->p, s, len);
    return rc;
}

static const char *const bulkio_roles[] = {
    "admin", "author", "reader", NULL
};

static const char *const bulkio_statuses[] = {
    "draft", "published", NULL
};

static int bulkio_validate_users(bulkio_vctx_t *c, const char **cols)
{
    if (bulkio_check_id(c, 0, &cols[0]) == BULKIO_FAIL
        || bulkio_check_email(c, &cols[1]) == BULKIO_FAIL
        || bulkio_check_text(c, "name", 0, BULKIO_NAME_MAX,
                             &cols[2]) == BULKIO_FAIL
        || bulkio_check_enum(c, "role", bulkio_roles, "reader",
                             "role must be one of admin, author, reader",
                             &cols[3]) == BULKIO_FAIL
        || bulkio_check_bool(c, "active", "t", &cols[4]) == BULKIO_FAIL
        || bulkio_check_ts(c, "created_at", &cols[5]) == BULKIO_FAIL
        || bulkio_check_ts(c, "updated_at", &cols[6]) == BULKIO_FAIL) {
        return BULKIO_FAIL;
    }
    return BULKIO_PRESENT;
}

static int bulkio_validate_articles(bulkio_vctx_t *c, const char **cols)
{
    json_object *val;

    if (bulkio_check_id(c, 0, &cols[0]) == BULKIO_FAIL
        || bulkio_check_slug(c, &cols[1]) == BULKIO_FAIL
        || bulkio_check_text(c, "title", 1, 0, &cols[2]) == BULKIO_FAIL
        || bulkio_check_text(c, "body", 1, 0, &cols[3]) == BULKIO_FAIL
        || bulkio_check_text(c, "author_id", 1, 0, &cols[4]) == BULKIO_FAIL
        || bulkio_check_tags(c, &cols[5]) == BULKIO_FAIL
        || bulkio_check_ts(c, "published_at", &cols[6]) == BULKIO_FAIL
        || bulkio_check_enum(c, "status", bulkio_statuses, "draft",
                             "status must be one of draft, published",
                             &cols[7]) == BULKIO_FAIL) {
        return BULKIO_FAIL;
    }
    /* a partial record that does not carry status is checked against
     * the stored one by no rule here */
    if (cols[6] && !strcmp(cols[7], "draft")
        && (!c->partial || bulkio_field_state(c, "status", &val)
                           != BULKIO_ABSENT)) {
        return bulkio_fail(c, "published_at",
                           "published_at is not allowed on a draft");
    }
    return BULKIO_PRESENT;
}

static int bulkio_validate_comments(bulkio_vctx_t *c, const char **cols)
{
    if (bulkio_check_id(c, 1, &cols[0]) == BULKIO_FAIL
        || bulkio_check_text(c, "article_id", 1, 0, &cols[1]) == BULKIO_FAIL
        || bulkio_check_text(c, "user_id", 1, 0, &cols[2]) == BULKIO_FAIL
        || bulkio_check_body(c, &cols[3]) == BULKIO_FAIL
        || bulkio_check_ts(c, "created_at", &cols[4]) == BULKIO_FAIL) {
        return BULKIO_FAIL;
    }
    return BULKIO_PRESENT;
}

int bulkio_validate_ncols(bulkio_resource_e res)
{
    switch (res) {
    case BULKIO_RES_USERS:
        return BULKIO_USERS_NCOLS;
    case BULKIO_RES_ARTICLES:
        return BULKIO_ARTICLES_NCOLS;
    case BULKIO_RES_COMMENTS:
        return BULKIO_COMMENTS_NCOLS;
    }
    return 0;
}

const char *const *bulkio_validate_colnames(bulkio_resource_e res)
{
    switch (res) {
    case BULKIO_RES_USERS:
        return bulkio_users_cols;
    case BULKIO_RES_ARTICLES:
        return bulkio_articles_cols;
    case BULKIO_RES_COMMENTS:
        return bulkio_comments_cols;
    }
    return NULL;
}

/* The record's field of column name. */
static const char *bulkio_field_name(const char *col)
{
    return strcmp(col, "external_id") ? col : "id";
}

/* Presence bits of the n columns: bit i when the record carries column i
 * (a value or an explicit null). */
static unsigned int bulkio_presence(const bulkio_vctx_t *c,
                                    const char *const *names, int n)
{
    json_object *val;
    unsigned int pres = 0;
    int i;

    for (i = 0; i < n; ++i) {
        if (bulkio_field_state(c, bulkio_field_name(names[i]), &val)
            != BULKIO_ABSENT) {
            pres |= 1u << i;
        }
    }
    return pres;
}

/* The natural key of res (users email, articles slug), or NULL; it is
 * column 1. */
static const char *bulkio_natural_key(bulkio_resource_e res)
{
    return res == BULKIO_RES_USERS ? "email"
           : res == BULKIO_RES_ARTICLES ? "slug" : NULL;
}

/* A record that names no row (delete, update). */
static int bulkio_fail_no_key(bulkio_vctx_t *c, bulkio_resource_e res)
{
    const char *nk = bulkio_natural_key(res);

    return bulkio_fail(c, "id", nk ? apr_pstrcat(c->p, "id or ", nk,
                                                 " is required", NULL)
                                   : "id is required");
}

/* A record of mode delete: its id, or else its natural key; every other
 * field is ignored. */
static int bulkio_validate_key(bulkio_vctx_t *c, bulkio_resource_e res,
                               const char **cols)
{
    const char *nk = bulkio_natural_key(res);
    int rc = bulkio_check_id(c, res == BULKIO_RES_COMMENTS, &cols[0]);

    if (rc != BULKIO_ABSENT) {
        return rc;
    }
    if (!nk || !bulkio_field(c, nk)) {
        return bulkio_fail_no_key(c, res);
    }
    return res == BULKIO_RES_USERS ? bulkio_check_email(c, &cols[1])
                                   : bulkio_check_slug(c, &cols[1]);
}

/* A record of mode update names its row: by id, or by its natural key. */
static int bulkio_check_names_row(bulkio_vctx_t *c, bulkio_resource_e res,
                                  const char **cols)
{
    if (cols[0] || (bulkio_natural_key(res) && cols[1])) {
        return BULKIO_PRESENT;
    }
    return bulkio_fail_no_key(c, res);
}

void bulkio_validate(apr_pool_t *p, bulkio_resource_e res,
                     const bulkio_record_t *rec, const char **cols,
                     bulkio_verdict_t *v)
{
    unsigned int pres;

    bulkio_validate_mode(p, res, BULKIO_MODE_REPLACE, rec, cols, &pres, v);
}

void bulkio_validate_mode(apr_pool_t *p, bulkio_resource_e res,
                          bulkio_mode_e mode, const bulkio_record_t *rec,
                          const char **cols, unsigned int *ppres,
                          bulkio_verdict_t *v)
{
    const char *out[BULKIO_ARTICLES_NCOLS];
    bulkio_vctx_t c;
    int rc, n = bulkio_validate_ncols(res);

    v->type = BULKIO_ERR_NONE;
    v->field = NULL;
    v->message = NULL;
    if (!n) {
        v->type = BULKIO_ERR_VALIDATION;
        v->message = "unknown resource";
        return;
    }
    if (!rec || !rec->obj
        || !json_object_is_type(rec->obj, json_type_object)) {
        v->type = BULKIO_ERR_VALIDATION;
        v->message = "the record is not a JSON object";
        return;
    }
    c.p = p;
    c.obj = rec->obj;
    c.csv = rec->strings_only;
    c.partial = BULKIO_MODE_PARTIAL(mode);
    c.v = v;
    *ppres = c.partial ? bulkio_presence(&c, bulkio_validate_colnames(res), n)
                       : (1u << n) - 1;
    if (mode == BULKIO_MODE_DELETE) {
        memset(out, 0, sizeof(out));
        c.partial = 0;
        rc = bulkio_validate_key(&c, res, out);
    }
    else switch (res) {
    case BULKIO_RES_USERS:
        rc = bulkio_validate_users(&c, out);
        break;
    case BULKIO_RES_ARTICLES:
        rc = bulkio_validate_articles(&c, out);
        break;
    default:
        rc = bulkio_validate_comments(&c, out);
        break;
    }
    if (rc != BULKIO_FAIL && mode == BULKIO_MODE_UPDATE) {
        rc = bulkio_check_names_row(&c, res, out);
    }
    if (rc != BULKIO_FAIL) {
        memcpy(cols, out, sizeof(*out) * (apr_size_t)n);
    }
}
