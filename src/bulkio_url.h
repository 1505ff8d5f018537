/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_URL_H
#define BULKIO_URL_H

#include <sys/socket.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "bulkio_job.h"

/*
 * Fetching a URL import's file with libcurl, safe against server-side
 * request forgery: every address the fetcher is about to connect to (each
 * redirect hop, each address a name resolves to) is checked first, at
 * connect time, so DNS rebinding cannot slip past the check.
 */

/** A network in an allow-list. */
typedef struct {
    int family;                 /**< AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
} bulkio_cidr_t;

/** Parse a list of networks ("127.0.0.0/8 ::1 10.1.2.3"; a bare address
 * is a host) into *pallow, an array of bulkio_cidr_t.
 * @return APR_SUCCESS, or APR_EINVAL on a malformed entry */
apr_status_t bulkio_cidr_parse(apr_pool_t *p, const char *list,
                               apr_array_header_t **pallow);

/** Why the fetcher may not connect to addr ("loopback", "private", "own
 * interface", ...), or NULL when it may: a public address that is none of
 * this host's own, or one allow lists. IPv4-mapped, IPv4-compatible, NAT64
 * and 6to4 addresses are judged by the IPv4 address they carry. The host's
 * addresses are read afresh (getifaddrs()) on each call. */
const char *bulkio_addr_refused(const struct sockaddr *addr,
                                const apr_array_header_t *allow);

/** bulkio_addr_refused() with the host's addresses given: own, an array
 * of bulkio_cidr_t (NULL: none), as bulkio_own_addrs() makes it. */
const char *bulkio_addr_refused_own(const struct sockaddr *addr,
                                    const apr_array_header_t *allow,
                                    const apr_array_header_t *own);

/** The addresses of this host's interfaces (getifaddrs()), each a
 * bulkio_cidr_t of one host, into *pown.
 * @return APR_SUCCESS, or the error getifaddrs() gave */
apr_status_t bulkio_own_addrs(apr_pool_t *p, apr_array_header_t **pown);

/** A range of ports in BulkIOURLPorts. */
typedef struct {
    int lo, hi;
} bulkio_port_range_t;

/** Parse one entry of a port list, "443" or "8000-8099".
 * @return APR_SUCCESS, or APR_EINVAL when it is not a port or range of
 *         ports (1-65535) */
apr_status_t bulkio_port_range_parse(const char *arg,
                                     bulkio_port_range_t *range);

/** Whether port is in ports (an array of bulkio_port_range_t; NULL: the
 * default, 80 and 443). */
int bulkio_port_allowed(const apr_array_header_t *ports, int port);

/**
 * Whether a connection to address a (as libcurl's open-socket callback
 * has it) is refused: an address of a refused class or of the host's own
 * interfaces, unless allow lists it, or a port not in ports.
 * @return NULL, or the reason to give, which names the directive that
 *         would allow it but not the address; *plog then names the
 *         address and why, for the server's log only
 */
const char *bulkio_connect_refused(apr_pool_t *p, const struct sockaddr *a,
                                   const apr_array_header_t *allow,
                                   const apr_array_header_t *ports,
                                   const char **plog);

/** Limits of a fetch. */
typedef struct bulkio_fetch_opts_t {
    const apr_array_header_t *allow;     /**< BulkIOURLAllow, or NULL */
    /** BulkIOURLPorts (of bulkio_port_range_t), or NULL for 80 and 443 */
    const apr_array_header_t *ports;
    apr_off_t max_size;                  /**< bytes */
    apr_interval_time_t connect_timeout;
    apr_interval_time_t timeout;         /**< in all */
    apr_interval_time_t stall_timeout;   /**< without a byte */
    int max_redirects;
    /** Called now and then while the fetch runs (may be NULL); a non-zero
     * return aborts it. */
    int (*tick)(void *baton);
    void *tick_baton;
} bulkio_fetch_opts_t;

/** How a fetch went. */
typedef struct {
    int http_status;             /**< of the last response, 0 if none */
    const char *content_type;    /**< of the last response, or NULL */
    apr_off_t size;              /**< bytes written */
    int transient;               /**< trying again may succeed */
    const char *error;           /**< the cause, when it failed; a
                                  * refused host or port is named by the
                                  * directive that would allow it, never
                                  * by its address or class */
    const char *refused;         /**< for the server's log only: the
                                  * address refused and why, or NULL */
} bulkio_fetch_result_t;

/** Download url (http or https, also on every redirect) into the file at
 * path, streaming. Content-Encoding is kept as sent.
 * @return APR_SUCCESS, or APR_EGENERAL with res->error set */
apr_status_t bulkio_fetch(apr_pool_t *p, const char *url, const char *path,
                          const bulkio_fetch_opts_t *opts,
                          bulkio_fetch_result_t *res);

/** bulkio_fetch() into an object of the spool (begun, not closed). */
apr_status_t bulkio_fetch_spool(apr_pool_t *p, const char *url,
                                bulkio_spool_t *spool,
                                const bulkio_fetch_opts_t *opts,
                                bulkio_fetch_result_t *res);

/** Download the file of URL import job into the spool (transient failures
 * are tried again, with backoff), decide its format and record both on
 * the job.
 * @param tick called now and then while the fetch runs or waits to try
 *        again, with baton (to keep the job's lease); non-zero ends it
 * @param ppath the file's reference in the spool
 * @param pformat its format's name
 * @param preason why, unless it returns BULKIO_RUN_COMPLETED
 * @return BULKIO_RUN_COMPLETED, or how the run ends */
bulkio_run_e bulkio_fetch_import(apr_pool_t *p, bulkio_job_ctx_t *job,
                                 int (*tick)(void *baton), void *baton,
                                 const char **ppath, const char **pformat,
                                 const char **preason);

/** libcurl's global initialisation: once, in the parent, before any
 * thread. */
apr_status_t bulkio_fetch_global_init(void);

#endif /* BULKIO_URL_H */
