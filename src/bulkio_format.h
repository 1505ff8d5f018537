/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_FORMAT_H
#define BULKIO_FORMAT_H

#include <apr_pools.h>

/** Input and output file formats. */
typedef enum {
    BULKIO_FMT_UNKNOWN = 0,
    BULKIO_FMT_NDJSON,
    BULKIO_FMT_JSON,
    BULKIO_FMT_CSV
} bulkio_format_e;

/** What a Content-Type says about a file. */
typedef enum {
    BULKIO_CT_FORMAT,      /**< names a format */
    BULKIO_CT_GENERIC,     /**< octet-stream, text/plain, gzip: says nothing */
    BULKIO_CT_UNSUPPORTED  /**< anything else: 415 */
} bulkio_ctype_e;

/** "ndjson", "json", "csv", or NULL for BULKIO_FMT_UNKNOWN. */
const char *bulkio_format_name(bulkio_format_e fmt);

/** The format named name (case-insensitive), or BULKIO_FMT_UNKNOWN. */
bulkio_format_e bulkio_format_from_name(const char *name);

/** Classify a media type (parameters ignored); *pfmt gets the format it
 * names, BULKIO_FMT_UNKNOWN when it names none. A NULL type is generic. */
bulkio_ctype_e bulkio_format_from_type(const char *ctype, bulkio_format_e *pfmt);

/** The format a file name's extension names (".csv", ".ndjson", ".jsonl",
 * ".json", each optionally followed by ".gz"), or BULKIO_FMT_UNKNOWN. */
bulkio_format_e bulkio_format_from_filename(const char *fname);

/** Guess the format of a file from its first bytes, decompressing gzip.
 * @return the format, BULKIO_FMT_UNKNOWN when empty or unreadable */
bulkio_format_e bulkio_format_sniff_file(apr_pool_t *p, const char *path);

/** The format of a file whose first bytes (gzip-compressed or not) are
 * raw, or BULKIO_FMT_UNKNOWN. */
bulkio_format_e bulkio_format_sniff_head(const unsigned char *raw,
                                         apr_size_t len);

/** Guess the format from the first len bytes of (uncompressed) data. */
bulkio_format_e bulkio_format_sniff(const unsigned char *buf, apr_size_t len);

/** Non-zero when name is one of users, articles, comments. */
int bulkio_is_resource(const char *name);

#endif /* BULKIO_FORMAT_H */
