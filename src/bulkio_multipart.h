/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_MULTIPART_H
#define BULKIO_MULTIPART_H

#include <apr_pools.h>

/** Longest header block (all lines and line ends) of one part, in bytes. */
#define BULKIO_MP_MAX_HEADER 8192

/** Most header lines in one part. */
#define BULKIO_MP_MAX_HEADERS 64

/** Most parts in one body. */
#define BULKIO_MP_MAX_PARTS 1000

/** Longest boundary allowed by RFC 2046. */
#define BULKIO_MP_MAX_BOUNDARY 70

typedef struct bulkio_mp_t bulkio_mp_t;

typedef struct {
    /*
     * Called at each part's start.  name, filename and content_type may be
     * NULL; they stay valid until part_end returns.  filename is reduced
     * to its last path component (it is "" rather than "." or ".."); the
     * content type is the media type alone, lower-cased.  Set *want_data
     * to 0 to have the part's data skipped.
     */
    apr_status_t (*part_begin)(void *baton, const char *name,
                               const char *filename, const char *content_type,
                               int *want_data);
    /* Some of the part's data, in order; never called with len 0. */
    apr_status_t (*part_data)(void *baton, const char *data, apr_size_t len);
    /* The part is complete (called even when its data was skipped). */
    apr_status_t (*part_end)(void *baton);
} bulkio_mp_cb_t;

/**
 * Extract the boundary from a Content-Type header value, which must be
 * multipart/form-data (any case) with a token or quoted-string boundary
 * parameter of 1 to 70 RFC 2046 characters.
 * @param p pool for *pboundary
 * @param content_type the header value
 * @param pboundary set to the boundary on success
 * @return APR_SUCCESS, or APR_EINVAL when the value is not
 *         multipart/form-data, is malformed, or the boundary is missing,
 *         repeated or invalid
 */
apr_status_t bulkio_mp_boundary(apr_pool_t *p, const char *content_type,
                                const char **pboundary);

/**
 * Create a streaming multipart/form-data parser.  Its memory is allocated
 * once from p and does not grow with the input.
 * @param p pool for the parser
 * @param boundary the boundary, as from bulkio_mp_boundary()
 * @param cb the callbacks (copied; NULL or NULL members are allowed)
 * @param baton passed to every callback
 * @return the parser, or NULL when the boundary is invalid
 */
bulkio_mp_t *bulkio_mp_create(apr_pool_t *p, const char *boundary,
                              const bulkio_mp_cb_t *cb, void *baton);

/**
 * Feed the next chunk of the body; chunks may be split anywhere.  Once an
 * error is returned, every later call returns it again.
 * @param mp the parser
 * @param data the chunk
 * @param len its length
 * @return APR_SUCCESS, APR_EINVAL on malformed input, or the first
 *         non-success status returned by a callback (parsing stops)
 */
apr_status_t bulkio_mp_feed(bulkio_mp_t *mp, const char *data, apr_size_t len);

/**
 * Signal the end of the body.
 * @param mp the parser
 * @return APR_SUCCESS when the close delimiter was seen, the earlier error
 *         if feeding failed, else APR_INCOMPLETE
 */
apr_status_t bulkio_mp_finish(bulkio_mp_t *mp);

#endif /* BULKIO_MULTIPART_H */
