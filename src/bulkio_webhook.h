/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_WEBHOOK_H
#define BULKIO_WEBHOOK_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/*
 * Completion webhooks on the wire: checking a callback URL, one signed
 * POST of a job's status document (libcurl, with the SSRF checks of URL
 * imports at connect time: bulkio_addr_refused()), and the backoff
 * between tries.
 */

/** The longest callback URL taken. */
#define BULKIO_HOOK_URL_MAX 2048

/** Check a callback URL when a job is created: an absolute http or https
 * URL without user information, at most BULKIO_HOOK_URL_MAX bytes, and,
 * when its host is an IP address, one bulkio_addr_refused() lets through
 * with allow (a name is checked on every connect).
 * @return APR_SUCCESS, or APR_EINVAL with *perror saying why */
apr_status_t bulkio_hook_check_url(apr_pool_t *p, const char *url,
                                   const apr_array_header_t *allow,
                                   const apr_array_header_t *ports,
                                   const char **perror);

/** Limits of one delivery. */
typedef struct {
    const apr_array_header_t *allow;     /**< BulkIOURLAllow, or NULL */
    const apr_array_header_t *ports;     /**< BulkIOURLPorts, or NULL */
    apr_interval_time_t timeout;         /**< connect and in all */
} bulkio_hook_opts_t;

/** How a delivery went. */
typedef struct {
    int http_status;             /**< the receiver's status, 0 if none */
    int delivered;               /**< a 2xx answer */
    const char *error;           /**< why not, when not delivered */
} bulkio_hook_result_t;

/** POST body (JSON) to url with the headers BulkIO-Event-Id: event_id
 * and BulkIO-Signature: signature; redirects are not followed.
 * @return APR_SUCCESS when delivered, else APR_EGENERAL (res says why) */
apr_status_t bulkio_hook_post(apr_pool_t *p, const char *url,
                              const char *event_id, const char *signature,
                              const char *body, apr_size_t len,
                              const bulkio_hook_opts_t *opts,
                              bulkio_hook_result_t *res);

/** The pause after the try number attempts (1 for the first) failed:
 * base doubled with each try, at most an hour. */
apr_interval_time_t bulkio_hook_backoff(apr_interval_time_t base,
                                        int attempts);

#endif /* BULKIO_WEBHOOK_H */
