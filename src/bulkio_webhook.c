/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include <curl/curl.h>

#include "bulkio_url.h"
#include "bulkio_webhook.h"

#define BACKOFF_MAX    apr_time_from_sec(3600)
#define ANSWER_MAX     65536   /* bytes of a receiver's answer read */

apr_status_t bulkio_hook_check_url(apr_pool_t *p, const char *url,
                                   const apr_array_header_t *allow,
                                   const apr_array_header_t *ports,
                                   const char **perror)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    const char *why = NULL;
    apr_uri_t uri;
    int port;

    if (strlen(url) > BULKIO_HOOK_URL_MAX) {
        *perror = "callback_url is longer than 2048 characters";
        return APR_EINVAL;
    }
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme
        || !uri.hostname || !*uri.hostname
        || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))
        || uri.user || uri.password) {
        *perror = "callback_url must be an absolute http or https URL "
                  "without user information";
        return APR_EINVAL;
    }
    port = uri.port ? uri.port : apr_uri_port_of_scheme(uri.scheme);
    if (!bulkio_port_allowed(ports, port)) {
        *perror = apr_psprintf(p, "callback_url names port %d, which this "
                               "server may not reach (BulkIOURLPorts)", port);
        return APR_EINVAL;
    }
    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, uri.hostname, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        why = bulkio_addr_refused((struct sockaddr *)&a4, allow);
    }
    else if (inet_pton(AF_INET6, uri.hostname, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        why = bulkio_addr_refused((struct sockaddr *)&a6, allow);
    }
    if (why) {
        *perror = apr_psprintf(p, "callback_url names a %s address, which "
                               "this server may not reach (BulkIOURLAllow)",
                               why);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* One delivery. */
typedef struct {
    apr_pool_t *pool;
    const bulkio_hook_opts_t *opts;
    CURL *h;
    struct curl_slist *headers;
    apr_size_t answered;        /* bytes of the answer read */
    const char *refused;
} post_t;

static curl_socket_t open_socket(void *baton, curlsocktype purpose,
                                 struct curl_sockaddr *a)
{
    post_t *d = baton;
    const char *log;

    (void)purpose;
    d->refused = bulkio_connect_refused(d->pool, &a->addr, d->opts->allow,
                                        d->opts->ports, &log);
    return d->refused ? CURL_SOCKET_BAD
                      : socket(a->family, a->socktype, a->protocol);
}

/* The receiver's answer is read and dropped (a bounded amount). */
static size_t discard(char *data, size_t size, size_t n, void *baton)
{
    post_t *d = baton;

    (void)data;
    d->answered += size * n;
    return d->answered > ANSWER_MAX ? 0 : size * n;
}

/* The handle and the headers of a delivery go with its pool. */
static apr_status_t post_cleanup(void *baton)
{
    post_t *d = baton;

    curl_slist_free_all(d->headers);
    curl_easy_cleanup(d->h);
    return APR_SUCCESS;
}

apr_status_t bulkio_hook_post(apr_pool_t *p, const char *url,
                              const char *event_id, const char *signature,
                              const char *body, apr_size_t len,
                              const bulkio_hook_opts_t *opts,
                              bulkio_hook_result_t *res)
{
    const char *lines[] = {
        "Content-Type: application/json",
        apr_pstrcat(p, "BulkIO-Event-Id: ", event_id, NULL),
        apr_pstrcat(p, "BulkIO-Signature: ", signature, NULL),
        "Expect:"
    };
    char errbuf[CURL_ERROR_SIZE] = "";
    long status = 0, ms = (long)apr_time_as_msec(opts->timeout);
    post_t *d = apr_pcalloc(p, sizeof(*d));
    apr_size_t i;
    CURLcode cc;
    CURL *h;

    memset(res, 0, sizeof(*res));
    if (!(h = d->h = curl_easy_init())) {
        res->error = "cannot start a transfer";
        return APR_EGENERAL;
    }
    d->pool = p;
    d->opts = opts;
    apr_pool_cleanup_register(p, d, post_cleanup, apr_pool_cleanup_null);
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); ++i) {
        d->headers = curl_slist_append(d->headers, lines[i]);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_bulkio");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, d);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    res->http_status = (int)status;
    if (d->refused) {
        res->error = d->refused;
    }
    else if (cc != CURLE_OK && cc != CURLE_WRITE_ERROR) {
        res->error = apr_psprintf(p, "transfer failed: %s",
                                  *errbuf ? errbuf : curl_easy_strerror(cc));
    }
    else if (status < 200 || status > 299) {
        res->error = apr_psprintf(p, "HTTP %ld from the receiver", status);
    }
    else {
        res->delivered = 1;
        return APR_SUCCESS;
    }
    return APR_EGENERAL;
}

apr_interval_time_t bulkio_hook_backoff(apr_interval_time_t base,
                                        int attempts)
{
    apr_interval_time_t d = base > 0 ? base : apr_time_from_sec(1);
    int i;

    for (i = 1; i < attempts && d < BACKOFF_MAX; ++i) {
        d *= 2;
    }
    return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}
