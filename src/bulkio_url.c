/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <curl/curl.h>

#include "bulkio_store_jobs.h"
#include "bulkio_url.h"

/* Tries of a URL import's download that fails transiently. */
#define FETCH_TRIES 3

/* A refused IPv4 network: address (host order), prefix length, class. */
static const struct {
    apr_uint32_t net;
    int bits;
    const char *what;
} refused4[] = {
    { 0x00000000, 8, "unspecified" },
    { 0x0a000000, 8, "private" },
    { 0x64400000, 10, "shared (carrier-grade NAT)" },
    { 0x7f000000, 8, "loopback" },
    { 0xa9fe0000, 16, "link-local" },
    { 0xac100000, 12, "private" },
    { 0xc0000000, 24, "reserved" },
    { 0xc0000200, 24, "documentation" },
    { 0xc0586300, 24, "reserved (6to4 relay)" },
    { 0xc0a80000, 16, "private" },
    { 0xc6120000, 15, "reserved (benchmarking)" },
    { 0xc6336400, 24, "documentation" },
    { 0xcb007100, 24, "documentation" },
    { 0xe0000000, 4, "multicast" },
    { 0xf0000000, 4, "reserved" },
};

/* A refused IPv6 network. */
static const struct {
    unsigned char net[16];
    int bits;
    const char *what;
} refused6[] = {
    { { 0 }, 128, "unspecified" },
    { { [15] = 1 }, 128, "loopback" },
    { { 0x00, 0x64, 0xff, 0x9b, 0, 1 }, 48, "NAT64 (local)" },
    { { 0x01, 0x00 }, 64, "discard" },
    { { 0x20, 0x01, 0x00, 0x00 }, 32, "Teredo" },
    { { 0x20, 0x01, 0x00, 0x10 }, 28, "reserved (ORCHID)" },
    { { 0x20, 0x01, 0x00, 0x20 }, 28, "reserved (ORCHID)" },
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
    { { 0xfc }, 7, "unique local (private)" },
    { { 0xfe, 0x80 }, 10, "link-local" },
    { { 0xfe, 0xc0 }, 10, "site-local" },
    { { 0xff }, 8, "multicast" },
};

/* Do the first bits bits of a and b agree? */
static int prefix_match(const unsigned char *a, const unsigned char *b,
                        int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (apr_size_t)full)) {
        return 0;
    }
    return !rest || !((a[full] ^ b[full]) & (0xff << (8 - rest)));
}

/* Whether addr is in one of list's networks. */
static int listed(int family, const unsigned char *addr,
                  const apr_array_header_t *list)
{
    int i;

    for (i = 0; list && i < list->nelts; ++i) {
        const bulkio_cidr_t *c = &APR_ARRAY_IDX(list, i, bulkio_cidr_t);

        if (c->family == family && prefix_match(addr, c->addr, c->bits)) {
            return 1;
        }
    }
    return 0;
}

static const char *refused_v4(const unsigned char *b,
                              const apr_array_header_t *allow,
                              const apr_array_header_t *own)
{
    apr_uint32_t a = ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16)
                     | ((apr_uint32_t)b[2] << 8) | b[3];
    apr_size_t i;

    if (listed(AF_INET, b, allow)) {
        return NULL;
    }
    for (i = 0; i < sizeof(refused4) / sizeof(refused4[0]); ++i) {
        if (((a ^ refused4[i].net) >> (32 - refused4[i].bits)) == 0) {
            return refused4[i].what;
        }
    }
    return listed(AF_INET, b, own) ? "own interface" : NULL;
}

const char *bulkio_addr_refused_own(const struct sockaddr *sa,
                                    const apr_array_header_t *allow,
                                    const apr_array_header_t *own)
{
    static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
    static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
    static const unsigned char zero[12] = { 0 };
    const unsigned char *b;
    apr_size_t i;

    if (sa->sa_family == AF_INET) {
        b = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        return refused_v4(b, allow, own);
    }
    if (sa->sa_family != AF_INET6) {
        return "not an IP address";
    }
    b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (listed(AF_INET6, b, allow)) {
        return NULL;
    }
    for (i = 0; i < sizeof(refused6) / sizeof(refused6[0]); ++i) {
        if (prefix_match(b, refused6[i].net, refused6[i].bits)) {
            return refused6[i].what;
        }
    }
    if (listed(AF_INET6, b, own)) {
        return "own interface";
    }
    /* an IPv4 address in IPv6 clothing is judged as itself */
    if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)
        || !memcmp(b, zero, 12)) {
        return refused_v4(b + 12, allow, own);
    }
    if (b[0] == 0x20 && b[1] == 0x02) {
        return refused_v4(b + 2, allow, own);
    }
    return NULL;
}

apr_status_t bulkio_own_addrs(apr_pool_t *p, apr_array_header_t **pown)
{
    apr_array_header_t *own = apr_array_make(p, 8, sizeof(bulkio_cidr_t));
    struct ifaddrs *ifs, *i;
    bulkio_cidr_t *c;

    if (getifaddrs(&ifs)) {
        return APR_FROM_OS_ERROR(errno);
    }
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET
                             && i->ifa_addr->sa_family != AF_INET6)) {
            continue;
        }
        c = apr_array_push(own);
        memset(c, 0, sizeof(*c));
        c->family = i->ifa_addr->sa_family;
        if (c->family == AF_INET) {
            memcpy(c->addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
                   4);
            c->bits = 32;
        }
        else {
            memcpy(c->addr,
                   ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr,
                   16);
            c->bits = 128;
        }
    }
    freeifaddrs(ifs);
    *pown = own;
    return APR_SUCCESS;
}

const char *bulkio_addr_refused(const struct sockaddr *sa,
                                const apr_array_header_t *allow)
{
    apr_array_header_t *own;
    const char *why;
    apr_pool_t *tp;

    if (apr_pool_create_unmanaged_ex(&tp, NULL, NULL) != APR_SUCCESS) {
        return "the host's own addresses are unknown";
    }
    why = bulkio_own_addrs(tp, &own) == APR_SUCCESS
          ? bulkio_addr_refused_own(sa, allow, own)
          : "the host's own addresses are unknown";
    apr_pool_destroy(tp);
    return why;
}

apr_status_t bulkio_port_range_parse(const char *arg,
                                     bulkio_port_range_t *range)
{
    char *end;
    long lo, hi;

    lo = strtol(arg, &end, 10);
    hi = lo;
    if (end != arg && *end == '-') {
        arg = end + 1;
        hi = strtol(arg, &end, 10);
    }
    if (end == arg || *end || lo < 1 || hi > 65535 || lo > hi) {
        return APR_EINVAL;
    }
    range->lo = (int)lo;
    range->hi = (int)hi;
    return APR_SUCCESS;
}

int bulkio_port_allowed(const apr_array_header_t *ports, int port)
{
    int i;

    if (!ports) {
        return port == 80 || port == 443;
    }
    for (i = 0; i < ports->nelts; ++i) {
        const bulkio_port_range_t *r = &APR_ARRAY_IDX(ports, i,
                                                      bulkio_port_range_t);

        if (port >= r->lo && port <= r->hi) {
            return 1;
        }
    }
    return 0;
}

apr_status_t bulkio_cidr_parse(apr_pool_t *p, const char *list,
                               apr_array_header_t **pallow)
{
    apr_array_header_t *allow = apr_array_make(p, 4, sizeof(bulkio_cidr_t));
    char *copy = apr_pstrdup(p, list), *tok, *state, *slash, *end;
    bulkio_cidr_t *c;
    long bits;

    for (tok = apr_strtok(copy, ", \t", &state); tok;
         tok = apr_strtok(NULL, ", \t", &state)) {
        c = apr_array_push(allow);
        memset(c, 0, sizeof(*c));
        if ((slash = strchr(tok, '/'))) {
            *slash++ = '\0';
        }
        if (inet_pton(AF_INET, tok, c->addr) == 1) {
            c->family = AF_INET;
            c->bits = 32;
        }
        else if (inet_pton(AF_INET6, tok, c->addr) == 1) {
            c->family = AF_INET6;
            c->bits = 128;
        }
        else {
            return APR_EINVAL;
        }
        if (slash) {
            bits = strtol(slash, &end, 10);
            if (!*slash || *end || bits < 0 || bits > c->bits) {
                return APR_EINVAL;
            }
            c->bits = (int)bits;
        }
    }
    *pallow = allow;
    return APR_SUCCESS;
}

/* One transfer. */
typedef struct {
    apr_pool_t *pool;
    const bulkio_fetch_opts_t *opts;
    apr_file_t *file;           /* where it goes: a file, */
    bulkio_spool_t *spool;      /* or an object of the spool */
    apr_off_t size;
    int oversize;
    int write_failed;
    int aborted;                /* by the tick callback */
    const char *refused;        /* the reason a connect was refused */
    const char *refused_log;    /* the address and its class, for the log */
} fetch_t;

const char *bulkio_connect_refused(apr_pool_t *p, const struct sockaddr *a,
                                   const apr_array_header_t *allow,
                                   const apr_array_header_t *ports,
                                   const char **plog)
{
    apr_array_header_t *own = NULL;
    const char *why;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (a->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr,
                  host, sizeof(host));
        port = ntohs(((const struct sockaddr_in *)a)->sin_port);
    }
    else if (a->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr,
                  host, sizeof(host));
        port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    }
    why = bulkio_own_addrs(p, &own) == APR_SUCCESS
          ? bulkio_addr_refused_own(a, allow, own)
          : "the host's own addresses are unknown";
    if (why) {
        *plog = apr_psprintf(p, "address %s (%s)", host, why);
        return "the host is not allowed (BulkIOURLAllow would allow it)";
    }
    if (!bulkio_port_allowed(ports, port)) {
        *plog = apr_psprintf(p, "port %d of %s", port, host);
        return apr_psprintf(p, "port %d is not allowed (BulkIOURLPorts "
                            "would allow it)", port);
    }
    return NULL;
}

/* Every address libcurl is about to connect to (each one a name resolves
 * to, on each redirect) passes here first: its class, the host's own
 * addresses, read now, and its port. */
static curl_socket_t open_socket(void *baton, curlsocktype purpose,
                                 struct curl_sockaddr *a)
{
    fetch_t *f = baton;

    (void)purpose;
    f->refused = bulkio_connect_refused(f->pool, &a->addr, f->opts->allow,
                                        f->opts->ports, &f->refused_log);
    if (f->refused) {
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t write_data(char *data, size_t size, size_t n, void *baton)
{
    fetch_t *f = baton;
    apr_size_t len = size * n;

    if (f->size + (apr_off_t)len > f->opts->max_size) {
        f->oversize = 1;
        return 0;
    }
    if ((f->spool ? bulkio_spool_write(f->spool, data, len)
                  : apr_file_write_full(f->file, data, len, NULL))
        != APR_SUCCESS) {
        f->write_failed = 1;
        return 0;
    }
    f->size += (apr_off_t)len;
    return len;
}

static int xfer_info(void *baton, curl_off_t dltotal, curl_off_t dlnow,
                     curl_off_t ultotal, curl_off_t ulnow)
{
    fetch_t *f = baton;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (f->opts->tick && f->opts->tick(f->opts->tick_baton)) {
        f->aborted = 1;
        return 1;
    }
    return 0;
}

static apr_status_t curl_cleanup(void *h)
{
    curl_easy_cleanup(h);
    return APR_SUCCESS;
}

static long msecs(apr_interval_time_t t)
{
    return (long)apr_time_as_msec(t);
}

/* One transfer into f's file or spool object. */
static apr_status_t fetch_run(apr_pool_t *p, const char *url, fetch_t *f,
                              bulkio_fetch_result_t *res)
{
    const bulkio_fetch_opts_t *opts = f->opts;
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *ctype = NULL;
    long status = 0;
    CURLcode cc;
    CURL *h;

    if (!(h = curl_easy_init())) {
        if (f->file) {
            apr_file_close(f->file);
        }
        res->error = "cannot start a transfer";
        res->transient = 1;
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, h, curl_cleanup, apr_pool_cleanup_null);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)opts->max_redirects);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_bulkio");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, msecs(opts->connect_timeout));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, msecs(opts->timeout));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     (long)apr_time_sec(opts->stall_timeout));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)opts->max_size);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, f);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_info);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
    res->http_status = (int)status;
    res->content_type = ctype ? apr_pstrdup(p, ctype) : NULL;
    res->size = f->size;
    if (f->file && apr_file_close(f->file) != APR_SUCCESS && cc == CURLE_OK) {
        f->write_failed = 1;
        cc = CURLE_WRITE_ERROR;
    }
    if (f->refused) {
        res->error = f->refused;
        res->refused = f->refused_log;
    }
    else if (f->aborted) {
        res->error = "interrupted";
        res->transient = 1;
    }
    else if (f->oversize || cc == CURLE_FILESIZE_EXCEEDED) {
        res->error = apr_psprintf(p, "the file exceeds the %" APR_OFF_T_FMT
                                  "-byte limit", opts->max_size);
    }
    else if (f->write_failed) {
        res->error = "cannot write into the spool directory";
    }
    else if (cc == CURLE_TOO_MANY_REDIRECTS) {
        res->error = apr_psprintf(p, "too many redirects (more than %d)",
                                  opts->max_redirects);
    }
    else if (cc == CURLE_UNSUPPORTED_PROTOCOL) {
        res->error = "only http and https URLs can be fetched";
    }
    else if (cc == CURLE_OPERATION_TIMEDOUT) {
        res->transient = 1;
        res->error = strstr(errbuf, "too slow")
                     ? apr_psprintf(p, "no data for %d s",
                                    (int)apr_time_sec(opts->stall_timeout))
                     : apr_psprintf(p, "timed out (%s)", errbuf);
    }
    else if (cc != CURLE_OK) {
        res->transient = cc == CURLE_COULDNT_CONNECT
                         || cc == CURLE_COULDNT_RESOLVE_HOST
                         || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR
                         || cc == CURLE_GOT_NOTHING
                         || cc == CURLE_PARTIAL_FILE;
        res->error = apr_psprintf(p, "transfer failed: %s",
                                  *errbuf ? errbuf : curl_easy_strerror(cc));
    }
    else if (status >= 400) {
        res->transient = status >= 500 || status == 429;
        res->error = apr_psprintf(p, "HTTP %ld from the server", status);
    }
    else {
        return APR_SUCCESS;
    }
    return APR_EGENERAL;
}

/* A transfer not begun, into spool (or a file when NULL). */
static void fetch_init(fetch_t *f, apr_pool_t *p, bulkio_spool_t *spool,
                       const bulkio_fetch_opts_t *opts,
                       bulkio_fetch_result_t *res)
{
    memset(res, 0, sizeof(*res));
    memset(f, 0, sizeof(*f));
    f->pool = p;
    f->opts = opts;
    f->spool = spool;
}

apr_status_t bulkio_fetch(apr_pool_t *p, const char *url, const char *path,
                          const bulkio_fetch_opts_t *opts,
                          bulkio_fetch_result_t *res)
{
    fetch_t f;

    fetch_init(&f, p, NULL, opts, res);
    if (apr_file_open(&f.file, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                      | APR_FOPEN_TRUNCATE | APR_FOPEN_BUFFERED,
                      APR_FPROT_UREAD | APR_FPROT_UWRITE, p) != APR_SUCCESS) {
        res->error = "cannot write into the spool directory";
        return APR_EGENERAL;
    }
    return fetch_run(p, url, &f, res);
}

apr_status_t bulkio_fetch_spool(apr_pool_t *p, const char *url,
                                bulkio_spool_t *spool,
                                const bulkio_fetch_opts_t *opts,
                                bulkio_fetch_result_t *res)
{
    fetch_t f;

    fetch_init(&f, p, spool, opts, res);
    return fetch_run(p, url, &f, res);
}

apr_status_t bulkio_fetch_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? APR_SUCCESS
                                                             : APR_EGENERAL;
}

/* The format of the file fetched into spool: the job's, the response's
 * media type, the URL's file name, the content. */
static bulkio_format_e fetched_format(apr_pool_t *p, const char *format,
                                      const char *url,
                                      const bulkio_fetch_result_t *res,
                                      const bulkio_spool_t *spool)
{
    bulkio_format_e fmt = bulkio_format_from_name(format);
    const unsigned char *head;
    apr_size_t len;
    apr_uri_t uri;

    if (!fmt) {
        bulkio_format_from_type(res->content_type, &fmt);
    }
    if (!fmt && apr_uri_parse(p, url, &uri) == APR_SUCCESS) {
        fmt = bulkio_format_from_filename(uri.path);
    }
    if (!fmt) {
        head = bulkio_spool_head(spool, &len);
        fmt = bulkio_format_sniff_head(head, len);
    }
    return fmt;
}

/* Keep the fetched file under the job's name and record it with its
 * format on the job, in one transaction with it (the database spool). */
static bulkio_run_e keep_fetched(apr_pool_t *p, bulkio_job_ctx_t *job,
                                 bulkio_spool_t *spool, bulkio_format_e fmt,
                                 const char **preason)
{
    const bulkio_claim_t *c = job->claim;
    unsigned char digest[BULKIO_SHA256_LEN];
    apr_status_t rv;

    if (bulkio_spool_close(spool, digest) != APR_SUCCESS
        || bulkio_spool_keep(spool, apr_pstrcat(p, "import-", c->job_id,
                                                NULL)) != APR_SUCCESS) {
        bulkio_spool_discard(spool);
        *preason = "cannot store the fetched file in the spool";
        return BULKIO_RUN_FAILED;
    }
    rv = bulkio_store_import_source(p, bulkio_spool_conn(spool), c->id,
                                    job->owner, bulkio_spool_path(spool),
                                    bulkio_format_name(fmt),
                                    bulkio_spool_size(spool));
    if (rv == APR_SUCCESS) {
        rv = bulkio_spool_commit(spool);
    }
    if (rv != APR_SUCCESS) {
        bulkio_spool_discard(spool);
        *preason = "database error while recording the download";
        return APR_STATUS_IS_NOTFOUND(rv) ? BULKIO_RUN_LOST
                                          : BULKIO_RUN_RETRY;
    }
    return BULKIO_RUN_COMPLETED;
}

bulkio_run_e bulkio_fetch_import(apr_pool_t *p, bulkio_job_ctx_t *job,
                                 int (*tick)(void *baton), void *baton,
                                 const char **ppath, const char **pformat,
                                 const char **preason)
{
    const bulkio_claim_t *c = job->claim;
    bulkio_fetch_opts_t opts = *job->fetch;
    bulkio_fetch_result_t res;
    bulkio_spool_t *spool;
    bulkio_format_e fmt;
    bulkio_run_e rc;
    apr_pool_t *tp;
    apr_time_t until;
    apr_status_t rv;
    int try;

    opts.tick = tick;
    opts.tick_baton = baton;
    for (try = 1; ; ++try) {
        bulkio_job_log(job, p, BULKIO_LOG_INFO, "Job %s: fetching its URL, "
                       "try %d", c->job_id, try);
        apr_pool_create(&tp, p);
        rv = bulkio_spool_begin(&spool, tp, job->spool, job->conn,
                                BULKIO_SPOOL_OWN_CONN | BULKIO_SPOOL_PACK);
        if (rv != APR_SUCCESS) {
            apr_pool_destroy(tp);
            *preason = "cannot write into the spool";
            return BULKIO_RUN_RETRY;
        }
        rv = bulkio_fetch_spool(tp, c->source_url, spool, &opts, &res);
        if (rv == APR_SUCCESS) {
            break;
        }
        res.error = apr_pstrdup(p, res.error);
        if (res.refused) {
            bulkio_job_log(job, p, BULKIO_LOG_INFO, "Job %s: its URL was "
                           "refused: %s", c->job_id, res.refused);
        }
        apr_pool_destroy(tp);
        if (*job->stop) {
            return BULKIO_RUN_STOPPED;
        }
        if (!res.transient || try == FETCH_TRIES) {
            *preason = apr_pstrcat(p, "cannot fetch the URL: ", res.error,
                                   NULL);
            return BULKIO_RUN_FAILED;
        }
        for (until = apr_time_now() + apr_time_from_sec(1 << try);
             apr_time_now() < until; apr_sleep(apr_time_from_msec(100))) {
            if (tick(baton)) {
                *preason = "interrupted while waiting to fetch again";
                return *job->stop ? BULKIO_RUN_STOPPED : BULKIO_RUN_LOST;
            }
        }
    }
    fmt = fetched_format(tp, c->format, c->source_url, &res, spool);
    if (!fmt) {
        apr_pool_destroy(tp);
        *preason = "cannot tell the fetched file's format; give format="
                   "ndjson, json or csv";
        return BULKIO_RUN_FAILED;
    }
    rc = keep_fetched(tp, job, spool, fmt, preason);
    *ppath = apr_pstrdup(p, bulkio_spool_path(spool));
    *pformat = bulkio_format_name(fmt);
    apr_pool_destroy(tp);
    return rc;
}
