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
 * names, BULKIO_FMT_UNKNOWN when it names none (text/tab-separated-values
 * names CSV). A NULL type is generic. */
bulkio_ctype_e bulkio_format_from_type(const char *ctype, bulkio_format_e *pfmt);

/** The format a file name's extension names (".csv", ".tsv", ".ndjson",
 * ".jsonl", ".json", each optionally followed by ".gz"), or
 * BULKIO_FMT_UNKNOWN. */
bulkio_format_e bulkio_format_from_filename(const char *fname);

/** Non-zero when a media type or a file name says tab-separated values
 * (text/tab-separated-values; ".tsv", ".tsv.gz"); either may be NULL. */
int bulkio_format_is_tsv(const char *ctype, const char *fname);

/** Guess the format of a file from its first bytes, decompressing gzip.
 * @return the format, BULKIO_FMT_UNKNOWN when empty or unreadable */
bulkio_format_e bulkio_format_sniff_file(apr_pool_t *p, const char *path);

/** The format of a file whose first bytes (gzip-compressed or not) are
 * raw, or BULKIO_FMT_UNKNOWN. */
bulkio_format_e bulkio_format_sniff_head(const unsigned char *raw,
                                         apr_size_t len);

/** Guess the format from the first len bytes of (uncompressed) data. */
bulkio_format_e bulkio_format_sniff(const unsigned char *buf, apr_size_t len);

/** Character sets an import file may be in (it is read as UTF-8). */
typedef enum {
    BULKIO_CHARSET_UTF8 = 0,
    BULKIO_CHARSET_WINDOWS_1252,
    BULKIO_CHARSET_LATIN1
} bulkio_charset_e;

/** The most columns a mapping may rename. */
#define BULKIO_DIALECT_MAX_COLUMNS 64

/** How a CSV file is cut and its header named, and the file's charset. */
typedef struct {
    char delimiter;          /**< ',' ';' '\t' '|', or 0: detect it from
                                  the header line */
    bulkio_charset_e charset;
    int ncolumns;            /**< entries of from and to */
    const char **from;       /**< header names, trimmed and lower-case */
    const char **to;         /**< the field each one names */
} bulkio_dialect_t;

/** The names the delimiter option takes, for messages. */
#define BULKIO_DELIMITER_NAMES "',' ';' '|' or tab (also comma, semicolon, " \
                               "pipe, tab)"

/** The names the charset option takes, for messages. */
#define BULKIO_CHARSET_NAMES "utf-8, windows-1252, iso-8859-1"

/**
 * Fill d from the text of the options delimiter ("," ";" "|" a tab, or
 * comma, semicolon, tab, pipe), columns ("Header:field,..." or a JSON
 * object {"Header": "field"}) and charset (utf-8, windows-1252 or cp1252,
 * iso-8859-1 or latin1); each may be NULL.
 * @return NULL, or what is wrong (and what is allowed)
 */
const char *bulkio_dialect_parse(apr_pool_t *p, bulkio_dialect_t *d,
                                 const char *delimiter, const char *columns,
                                 const char *charset);

/** The canonical JSON of d's options ({"charset", "columns" (an object,
 * names as stored), "delimiter"}, only those set), or NULL when it has
 * none; bulkio_dialect_from_json() reads it back. */
const char *bulkio_dialect_json(apr_pool_t *p, const bulkio_dialect_t *d);

/** Fill d from the members delimiter, columns and charset of the JSON
 * text json (NULL or a text that holds none: the defaults). */
void bulkio_dialect_from_json(apr_pool_t *p, bulkio_dialect_t *d,
                              const char *json);

/** The name of a charset ("utf-8", "windows-1252", "iso-8859-1"). */
const char *bulkio_charset_name(bulkio_charset_e cs);

/** Non-zero when name is one of users, articles, comments. */
int bulkio_is_resource(const char *name);

#endif /* BULKIO_FORMAT_H */
