/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_SIGN_H
#define BULKIO_SIGN_H

#include <apr_pools.h>

/*
 * HMAC-SHA256 signatures the server hands out: the BulkIO-Signature of a
 * completion webhook's body, and the signature of a download link that
 * works without a token until it expires.
 */

/** The hex HMAC-SHA256 (64 lower-case digits) of len bytes of data with
 * the key secret, or NULL when secret is empty. */
const char *bulkio_hmac_hex(apr_pool_t *p, const char *secret,
                            const char *data, apr_size_t len);

/** The BulkIO-Signature header of a webhook body sent at t (seconds since
 * 1970): "t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">". */
const char *bulkio_hook_signature(apr_pool_t *p, const char *secret,
                                  apr_int64_t t, const char *body,
                                  apr_size_t len);

/** The signature of a download link of job_id (a UUID, any case) that
 * expires at expires (seconds since 1970): the hex HMAC-SHA256 of
 * "<job_id in lower case>.<expires>". */
const char *bulkio_link_signature(apr_pool_t *p, const char *secret,
                                  const char *job_id, apr_int64_t expires);

/** Check a download link's expires and signature parameters at now
 * (seconds since 1970); the signature is compared in constant time.
 * @return APR_SUCCESS; APR_EACCES when either is missing, malformed or
 *         not the server's (a changed byte); APR_TIMEUP when the link is
 *         genuine but expired */
apr_status_t bulkio_link_verify(apr_pool_t *p, const char *secret,
                                const char *job_id, const char *expires,
                                const char *signature, apr_int64_t now);

#endif /* BULKIO_SIGN_H */
