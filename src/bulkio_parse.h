/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_PARSE_H
#define BULKIO_PARSE_H

#include <apr_pools.h>

#include "bulkio_format.h"
#include "bulkio_record.h"
#include "bulkio_spool.h"

/*
 * Streaming readers for import files: NDJSON, one JSON array of objects,
 * or CSV with a header line; each optionally gzip-compressed (recognised
 * by its magic bytes, concatenated members allowed). The file is read in
 * 64 KiB blocks; memory is bounded by max_record, whatever the file size.
 *
 * A record that cannot be parsed comes out with obj NULL and error set
 * (a PARSE_ERROR); the next call carries on with the next record.
 */

/** An open import file. */
typedef struct bulkio_parser_t bulkio_parser_t;

/** The longest rec->raw, in bytes (valid UTF-8, cut at a character). */
#define BULKIO_RAW_MAX 4096

/** JSON nesting deeper than this is a PARSE_ERROR. */
#define BULKIO_JSON_MAX_DEPTH 64

/** bulkio_parser_open() lowers a larger max_record to this. */
#define BULKIO_MAX_RECORD_LIMIT ((apr_size_t)1 << 30)

/**
 * Open path for reading records of format fmt.
 * @param pps the new parser; everything it holds is released with p
 * @param fmt BULKIO_FMT_NDJSON, BULKIO_FMT_JSON or BULKIO_FMT_CSV
 * @param max_record the largest record in bytes (at most
 *        BULKIO_MAX_RECORD_LIMIT); a longer one is a PARSE_ERROR and is
 *        skipped without being buffered
 * @return APR_SUCCESS; APR_EINVAL for a bad fmt or a max_record of 0; an
 *         I/O or gzip error
 */
apr_status_t bulkio_parser_open(bulkio_parser_t **pps, apr_pool_t *p,
                                const char *path, bulkio_format_e fmt,
                                apr_size_t max_record);

/** bulkio_parser_open() on an object of the spool opened for reading
 * (whatever its backend). */
apr_status_t bulkio_parser_open_spool(bulkio_parser_t **pps, apr_pool_t *p,
                                      bulkio_spool_reader_t *rd,
                                      bulkio_format_e fmt,
                                      apr_size_t max_record);

/**
 * Read the next record. rec->obj, rec->raw and rec->error stay valid
 * until the next call (or until the parser's pool goes).
 * @return APR_SUCCESS with *rec filled (rec->obj NULL and rec->error set
 *         for a PARSE_ERROR); APR_EOF at the end; any other status is fatal
 *         (I/O error, corrupt or truncated gzip stream, see
 *         bulkio_parser_error()) and is returned again by later calls;
 *         every record wholly before a gzip fault comes out first
 */
apr_status_t bulkio_parser_next(bulkio_parser_t *ps, bulkio_record_t *rec);

/** Bound the bytes inflated from a gzip file to max (0: no bound). The
 * data up to the bound is parsed; then bulkio_parser_next() fails with
 * APR_ENOSPC ("the file inflates past N bytes"). Call it right after
 * bulkio_parser_open() (which inflates the first block). */
void bulkio_parser_limit_inflated(bulkio_parser_t *ps, apr_off_t max);

/** Read the file with dialect d (copied; its names must outlive the
 * parser): CSV with d->delimiter (0: detected from the header line, see
 * docs/records.md), header names renamed by d's columns (a mapped name
 * the header lacks makes the header invalid), every record's text recoded
 * from d->charset to UTF-8. Without it: ',' and UTF-8. Call it right after
 * bulkio_parser_open(). */
void bulkio_parser_set_dialect(bulkio_parser_t *ps, const bulkio_dialect_t *d);

/** Bytes of the file as stored (compressed bytes for gzip) consumed so far. */
apr_off_t bulkio_parser_offset(const bulkio_parser_t *ps);

/** Why the parser failed fatally ("corrupt gzip stream: ..."), or NULL. */
const char *bulkio_parser_error(const bulkio_parser_t *ps);

#endif /* BULKIO_PARSE_H */
