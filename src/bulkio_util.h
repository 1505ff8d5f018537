/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_UTIL_H
#define BULKIO_UTIL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/**
 * Parse a byte size: digits with an optional K, M, G or T suffix (powers of
 * 1024, any case, an optional trailing "B").
 * @return APR_SUCCESS, or APR_EINVAL on a malformed or overflowing value
 */
apr_status_t bulkio_parse_size(const char *s, apr_off_t *psize);

/**
 * Parse a duration: digits with a unit ms, s, m, h or d ("s" when absent).
 * @return APR_SUCCESS, or APR_EINVAL on a malformed or overflowing value
 */
apr_status_t bulkio_parse_interval(const char *s, apr_interval_time_t *pt);

/** Non-zero when s is a UUID in canonical 8-4-4-4-12 hex form (any case). */
int bulkio_is_uuid(const char *s);

/** Whether s is an RFC 3339 timestamp with an offset (Z or +hh:mm),
 * checked on the calendar. */
int bulkio_is_rfc3339(const char *s);

/** Lower-case hex of len bytes, allocated from p. */
const char *bulkio_hex(apr_pool_t *p, const unsigned char *buf, apr_size_t len);

/** Lower-case hex SHA-256 of the string s. */
const char *bulkio_sha256_hex(apr_pool_t *p, const char *s);

/** The query parameters of an endpoint: whether each one in args is
 * named in allowed (NULL-terminated; may be empty).
 * @return NULL when all are, else the message for the client, naming the
 *         first unknown one and the allowed ones ("unknown parameter 'x';
 *         allowed: a, b", or "allowed: none") */
const char *bulkio_args_unknown(apr_pool_t *p, const apr_table_t *args,
                                const char *const *allowed);

/** s as text that is safe to keep and show: valid UTF-8 without control
 * characters (each invalid byte or control character becomes '?'), at
 * most max bytes (cut between characters). */
const char *bulkio_text_clean(apr_pool_t *p, const char *s, apr_size_t max);

/** A new random (version 4) UUID in lower-case canonical form. */
const char *bulkio_uuid_new(apr_pool_t *p);


/** A growable byte buffer in a pool (memory returns with the pool). */
typedef struct {
    apr_pool_t *pool;
    char *data;
    apr_size_t len;
    apr_size_t cap;
} bulkio_buf_t;

/** An empty buffer with room for cap bytes. */
void bulkio_buf_init(bulkio_buf_t *b, apr_pool_t *p, apr_size_t cap);

/** Append n bytes. */
void bulkio_buf_add(bulkio_buf_t *b, const char *s, apr_size_t n);

/** Append one byte. */
void bulkio_buf_addc(bulkio_buf_t *b, char c);

/** Room for n more bytes: where they go. The caller writes at most n
 * there and adds what it wrote to len. */
char *bulkio_buf_reserve(bulkio_buf_t *b, apr_size_t n);

/** Append s as a CSV field (RFC 4180: quoted when it holds a comma, quote,
 * CR or LF, or starts or ends with a space); NULL as an empty field. */
void bulkio_csv_field(bulkio_buf_t *b, const char *s);

/** Append s as a CSV field between delimiters delim (as bulkio_csv_field()
 * does for ','; quoted when it holds delim too). */
void bulkio_csv_field_delim(bulkio_buf_t *b, const char *s, char delim);

/** Append s as a CSV field for a spreadsheet reader: a cell that begins
 * with '=', '+', '-', '@', a tab or a carriage return gets a leading "'"
 * (OWASP's advice against CSV injection), then as bulkio_csv_field(). For
 * reports people open, not for data exports (those stay lossless). */
void bulkio_csv_field_safe(bulkio_buf_t *b, const char *s);

/** bulkio_csv_field_safe() between delimiters delim. */
void bulkio_csv_field_safe_delim(bulkio_buf_t *b, const char *s, char delim);

/** A gzip stream being written: bytes in, compressed bytes out. */
typedef struct bulkio_gzip_t bulkio_gzip_t;

/** Where a gzip stream's compressed bytes go. */
typedef apr_status_t bulkio_gzip_out_fn(void *baton, const char *data,
                                        apr_size_t len);

/** Start a gzip stream in p (its memory and zlib's end with p) that
 * hands its output to out with baton, at most 64 KiB at a time. */
apr_status_t bulkio_gzip_open(apr_pool_t *p, bulkio_gzip_out_fn *out,
                              void *baton, bulkio_gzip_t **pgz);

/** Compress len bytes of data; at_end finishes the stream (the rest and
 * the gzip trailer go out).
 * @return APR_SUCCESS, or what out returned, or APR_EGENERAL */
apr_status_t bulkio_gzip_write(bulkio_gzip_t *gz, const char *data,
                               apr_size_t len, int at_end);

#endif /* BULKIO_UTIL_H */
