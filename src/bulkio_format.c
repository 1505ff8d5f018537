/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <json-c/json.h>
#include <zlib.h>

#include "bulkio_format.h"

#define SNIFF_LEN 4096

static const char *const names[] = { NULL, "ndjson", "json", "csv" };

const char *bulkio_format_name(bulkio_format_e fmt)
{
    return names[fmt];
}

bulkio_format_e bulkio_format_from_name(const char *name)
{
    int i;

    for (i = BULKIO_FMT_NDJSON; name && i <= BULKIO_FMT_CSV; ++i) {
        if (!strcasecmp(name, names[i])) {
            return (bulkio_format_e)i;
        }
    }
    return BULKIO_FMT_UNKNOWN;
}

static const struct {
    const char *type;
    bulkio_format_e fmt;
} media_types[] = {
    { "application/x-ndjson", BULKIO_FMT_NDJSON },
    { "application/ndjson", BULKIO_FMT_NDJSON },
    { "application/jsonl", BULKIO_FMT_NDJSON },
    { "application/json", BULKIO_FMT_JSON },
    { "text/csv", BULKIO_FMT_CSV },
    { "application/csv", BULKIO_FMT_CSV },
    { "text/tab-separated-values", BULKIO_FMT_CSV },
    { "application/octet-stream", BULKIO_FMT_UNKNOWN },
    { "text/plain", BULKIO_FMT_UNKNOWN },
    { "application/gzip", BULKIO_FMT_UNKNOWN },
    { "application/x-gzip", BULKIO_FMT_UNKNOWN },
};

bulkio_ctype_e bulkio_format_from_type(const char *ctype, bulkio_format_e *pfmt)
{
    apr_size_t n, i;

    *pfmt = BULKIO_FMT_UNKNOWN;
    if (!ctype) {
        return BULKIO_CT_GENERIC;
    }
    while (*ctype == ' ' || *ctype == '\t') {
        ++ctype;
    }
    n = strcspn(ctype, "; \t");
    for (i = 0; i < sizeof(media_types) / sizeof(media_types[0]); ++i) {
        if (strlen(media_types[i].type) == n
            && !strncasecmp(ctype, media_types[i].type, n)) {
            *pfmt = media_types[i].fmt;
            return *pfmt ? BULKIO_CT_FORMAT : BULKIO_CT_GENERIC;
        }
    }
    return BULKIO_CT_UNSUPPORTED;
}

bulkio_format_e bulkio_format_from_filename(const char *fname)
{
    static const struct {
        const char *ext;
        bulkio_format_e fmt;
    } exts[] = {
        { ".ndjson", BULKIO_FMT_NDJSON }, { ".jsonl", BULKIO_FMT_NDJSON },
        { ".json", BULKIO_FMT_JSON }, { ".csv", BULKIO_FMT_CSV },
        { ".tsv", BULKIO_FMT_CSV },
    };
    apr_size_t len, i, el;

    if (!fname) {
        return BULKIO_FMT_UNKNOWN;
    }
    len = strlen(fname);
    if (len > 3 && !strcasecmp(fname + len - 3, ".gz")) {
        len -= 3;
    }
    for (i = 0; i < sizeof(exts) / sizeof(exts[0]); ++i) {
        el = strlen(exts[i].ext);
        if (len > el && !strncasecmp(fname + len - el, exts[i].ext, el)) {
            return exts[i].fmt;
        }
    }
    return BULKIO_FMT_UNKNOWN;
}

bulkio_format_e bulkio_format_sniff(const unsigned char *buf, apr_size_t len)
{
    apr_size_t i = 0;

    if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
        i = 3;
    }
    while (i < len && apr_isspace(buf[i])) {
        ++i;
    }
    if (i == len) {
        return BULKIO_FMT_UNKNOWN;
    }
    if (buf[i] == '[') {
        return BULKIO_FMT_JSON;
    }
    if (buf[i] == '{') {
        return BULKIO_FMT_NDJSON;
    }
    /* CSV: a header line of printable text */
    for (; i < len && buf[i] != '\n' && buf[i] != '\r'; ++i) {
        if (buf[i] < 0x20 && buf[i] != '\t') {
            return BULKIO_FMT_UNKNOWN;
        }
    }
    return BULKIO_FMT_CSV;
}

bulkio_format_e bulkio_format_sniff_file(apr_pool_t *p, const char *path)
{
    unsigned char raw[SNIFF_LEN];
    apr_size_t len = sizeof(raw);
    apr_file_t *f;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
        return BULKIO_FMT_UNKNOWN;
    }
    if (apr_file_read_full(f, raw, len, &len) != APR_SUCCESS && len == 0) {
        apr_file_close(f);
        return BULKIO_FMT_UNKNOWN;
    }
    apr_file_close(f);
    return bulkio_format_sniff_head(raw, len);
}

bulkio_format_e bulkio_format_sniff_head(const unsigned char *raw,
                                         apr_size_t len)
{
    unsigned char plain[SNIFF_LEN];
    z_stream z;
    bulkio_format_e fmt;

    if (len < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        return bulkio_format_sniff(raw, len);
    }
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        return BULKIO_FMT_UNKNOWN;
    }
    z.next_in = (unsigned char *)raw;
    z.avail_in = (uInt)(len < SNIFF_LEN ? len : SNIFF_LEN);
    z.next_out = plain;
    z.avail_out = sizeof(plain);
    inflate(&z, Z_SYNC_FLUSH);
    fmt = bulkio_format_sniff(plain, sizeof(plain) - z.avail_out);
    inflateEnd(&z);
    return fmt;
}

int bulkio_is_resource(const char *name)
{
    return name && (!strcmp(name, "users") || !strcmp(name, "articles")
                    || !strcmp(name, "comments"));
}

int bulkio_format_is_tsv(const char *ctype, const char *fname)
{
    static const char tsv[] = "text/tab-separated-values";
    apr_size_t len;

    if (ctype) {
        while (*ctype == ' ' || *ctype == '\t') {
            ++ctype;
        }
        if (!strncasecmp(ctype, tsv, sizeof(tsv) - 1)
            && strchr("; \t", ctype[sizeof(tsv) - 1])) {
            return 1;
        }
    }
    if (!fname) {
        return 0;
    }
    len = strlen(fname);
    if (len > 3 && !strcasecmp(fname + len - 3, ".gz")) {
        len -= 3;
    }
    return len > 4 && !strncasecmp(fname + len - 4, ".tsv", 4);
}

/* ---- CSV dialects and charsets ---------------------------------------- */

static const struct {
    const char *name;
    char c;
} delimiters[] = {
    { ",", ',' }, { ";", ';' }, { "|", '|' }, { "\t", '\t' },
    { "comma", ',' }, { "semicolon", ';' }, { "pipe", '|' }, { "tab", '\t' },
};

static const struct {
    const char *name;
    bulkio_charset_e cs;
} charsets[] = {
    { "utf-8", BULKIO_CHARSET_UTF8 }, { "utf8", BULKIO_CHARSET_UTF8 },
    { "windows-1252", BULKIO_CHARSET_WINDOWS_1252 },
    { "cp1252", BULKIO_CHARSET_WINDOWS_1252 },
    { "iso-8859-1", BULKIO_CHARSET_LATIN1 },
    { "latin1", BULKIO_CHARSET_LATIN1 }, { "latin-1", BULKIO_CHARSET_LATIN1 },
};

const char *bulkio_charset_name(bulkio_charset_e cs)
{
    switch (cs) {
    case BULKIO_CHARSET_WINDOWS_1252: return "windows-1252";
    case BULKIO_CHARSET_LATIN1: return "iso-8859-1";
    default: return "utf-8";
    }
}

/* s without its surrounding ASCII blanks, lower-cased. */
static char *trim_lower(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *t;

    while (len && apr_isspace(*s)) {
        ++s;
        --len;
    }
    while (len && apr_isspace(s[len - 1])) {
        --len;
    }
    t = apr_pstrmemdup(p, s, len);
    for (s = t; *t; ++t) {
        *t = (char)apr_tolower(*t);
    }
    return (char *)s;
}

/* Add the mapping of header from to field to. NULL, or what is wrong. */
static const char *add_column(apr_pool_t *p, bulkio_dialect_t *d,
                              const char *from, apr_size_t flen,
                              const char *to, apr_size_t tlen)
{
    const char *f = trim_lower(p, from, flen), *t = trim_lower(p, to, tlen);
    int i;

    if (!*f || !*t) {
        return "columns: each entry must be Header:field, both non-empty";
    }
    for (i = 0; i < d->ncolumns; ++i) {
        if (!strcmp(d->from[i], f)) {
            return apr_psprintf(p, "columns: the header '%s' is mapped twice",
                                f);
        }
        if (!strcmp(d->to[i], t)) {
            return apr_psprintf(p, "columns: the field '%s' is mapped twice",
                                t);
        }
    }
    if (d->ncolumns == BULKIO_DIALECT_MAX_COLUMNS) {
        return "columns: at most 64 entries";
    }
    d->from[d->ncolumns] = f;
    d->to[d->ncolumns++] = t;
    return NULL;
}

/* The columns option as a JSON object. */
static const char *columns_json(apr_pool_t *p, bulkio_dialect_t *d,
                                json_object *o)
{
    const char *err = NULL;

    if (!json_object_is_type(o, json_type_object)) {
        return "columns must be a JSON object {\"Header\": \"field\"} or "
               "a list Header:field,...";
    }
    json_object_object_foreach(o, key, val) {
        if (err) {
            break;
        }
        if (!val || !json_object_is_type(val, json_type_string)) {
            return "columns: each field name must be a string";
        }
        err = add_column(p, d, key, strlen(key), json_object_get_string(val),
                         (apr_size_t)json_object_get_string_len(val));
    }
    return err;
}

/* The columns option as "Header:field,...". */
static const char *columns_list(apr_pool_t *p, bulkio_dialect_t *d,
                                const char *s)
{
    const char *end, *colon, *err;

    for (;;) {
        end = s + strcspn(s, ",");
        colon = memchr(s, ':', (apr_size_t)(end - s));
        if (!colon) {
            return "columns: each entry must be Header:field (a list "
                   "separated by ',', or a JSON object)";
        }
        err = add_column(p, d, s, (apr_size_t)(colon - s), colon + 1,
                         (apr_size_t)(end - colon - 1));
        if (err || !*end) {
            return err;
        }
        s = end + 1;
    }
}

const char *bulkio_dialect_parse(apr_pool_t *p, bulkio_dialect_t *d,
                                 const char *delimiter, const char *columns,
                                 const char *charset)
{
    json_object *o;
    const char *err;
    apr_size_t i;

    memset(d, 0, sizeof(*d));
    d->from = apr_pcalloc(p, BULKIO_DIALECT_MAX_COLUMNS * sizeof(*d->from));
    d->to = apr_pcalloc(p, BULKIO_DIALECT_MAX_COLUMNS * sizeof(*d->to));
    if (delimiter) {
        for (i = 0; i < sizeof(delimiters) / sizeof(delimiters[0]); ++i) {
            if (!strcasecmp(delimiter, delimiters[i].name)) {
                d->delimiter = delimiters[i].c;
                break;
            }
        }
        if (!d->delimiter) {
            return "unknown delimiter; allowed: " BULKIO_DELIMITER_NAMES;
        }
    }
    if (charset) {
        for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); ++i) {
            if (!strcasecmp(charset, charsets[i].name)) {
                break;
            }
        }
        if (i == sizeof(charsets) / sizeof(charsets[0])) {
            return "unknown charset; allowed: " BULKIO_CHARSET_NAMES;
        }
        d->charset = charsets[i].cs;
    }
    if (!columns) {
        return NULL;
    }
    while (apr_isspace(*columns)) {
        ++columns;
    }
    if (*columns != '{') {
        return columns_list(p, d, columns);
    }
    o = json_tokener_parse(columns);
    if (!o) {
        return "columns: invalid JSON object";
    }
    err = columns_json(p, d, o);
    json_object_put(o);
    return err;
}

const char *bulkio_dialect_json(apr_pool_t *p, const bulkio_dialect_t *d)
{
    json_object *doc, *cols;
    const char *text;
    char delim[2];
    int i;

    if (!d->delimiter && !d->ncolumns && !d->charset) {
        return NULL;
    }
    /* members in sorted order, columns as given: the same options give
     * the same text */
    doc = json_object_new_object();
    if (d->charset) {
        json_object_object_add(doc, "charset", json_object_new_string(
                                   bulkio_charset_name(d->charset)));
    }
    if (d->ncolumns) {
        cols = json_object_new_object();
        for (i = 0; i < d->ncolumns; ++i) {
            json_object_object_add(cols, d->from[i],
                                   json_object_new_string(d->to[i]));
        }
        json_object_object_add(doc, "columns", cols);
    }
    if (d->delimiter) {
        delim[0] = d->delimiter;
        delim[1] = '\0';
        json_object_object_add(doc, "delimiter", json_object_new_string(delim));
    }
    text = apr_pstrdup(p, json_object_to_json_string_ext(
                              doc, JSON_C_TO_STRING_PLAIN));
    json_object_put(doc);
    return text;
}

void bulkio_dialect_from_json(apr_pool_t *p, bulkio_dialect_t *d,
                              const char *json)
{
    json_object *doc = json ? json_tokener_parse(json) : NULL, *v;
    const char *delimiter = NULL, *charset = NULL, *columns = NULL;

    if (doc && json_object_is_type(doc, json_type_object)) {
        if (json_object_object_get_ex(doc, "delimiter", &v) && v) {
            delimiter = json_object_get_string(v);
        }
        if (json_object_object_get_ex(doc, "charset", &v) && v) {
            charset = json_object_get_string(v);
        }
        if (json_object_object_get_ex(doc, "columns", &v) && v) {
            columns = json_object_get_string(v);
        }
    }
    if (bulkio_dialect_parse(p, d, delimiter, columns, charset)) {
        /* stored by bulkio_dialect_json(): never; keep the defaults */
        bulkio_dialect_parse(p, d, NULL, NULL, NULL);
    }
    if (doc) {
        json_object_put(doc);
    }
}
