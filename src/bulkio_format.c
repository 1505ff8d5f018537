/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

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
