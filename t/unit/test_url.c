/* Unit tests of the URL fetcher's guard: the address classifier without
 * any network, and refusals that reach no server. Nothing here sends a
 * packet beyond the loopback interface. */

#include <arpa/inet.h>
#include <netinet/in.h>

#include <apr_network_io.h>
#include <apr_strings.h>

#include "test_common.h"
#include "bulkio_url.h"

/* Fill ss with a textual address. */
static void sockaddr_of(const char *text, struct sockaddr_storage *pss)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr)) {
        ss.ss_family = AF_INET;
    }
    else {
        assert_int_equal(inet_pton(AF_INET6, text,
                                   &((struct sockaddr_in6 *)&ss)->sin6_addr),
                         1);
        ss.ss_family = AF_INET6;
    }
    *pss = ss;
}

/* The class of a textual address, or NULL when allowed. */
static const char *judge(const char *text, const apr_array_header_t *allow)
{
    struct sockaddr_storage ss;

    sockaddr_of(text, &ss);
    return bulkio_addr_refused((struct sockaddr *)&ss, allow);
}

/* The same with the host's addresses given. */
static const char *judge_own(const char *text,
                             const apr_array_header_t *allow,
                             const apr_array_header_t *own)
{
    struct sockaddr_storage ss;

    sockaddr_of(text, &ss);
    return bulkio_addr_refused_own((struct sockaddr *)&ss, allow, own);
}

/* The host's own addresses, whatever their class, are refused; the
 * allow-list still opens them. */
static void test_own_interfaces(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *own, *allow, *none = NULL;

    assert_int_equal(bulkio_cidr_parse(p, "11.22.33.44 2606:4700::7 "
                                       "192.168.7.1", &own), APR_SUCCESS);
    assert_string_equal(judge_own("11.22.33.44", NULL, own),
                        "own interface");
    assert_string_equal(judge_own("::ffff:11.22.33.44", NULL, own),
                        "own interface");
    assert_string_equal(judge_own("64:ff9b::b16:212c", NULL, own),
                        "own interface");
    assert_string_equal(judge_own("2002:b16:212c::1", NULL, own),
                        "own interface");
    assert_string_equal(judge_own("2606:4700::7", NULL, own),
                        "own interface");
    /* a private own address is refused by its class first */
    assert_string_equal(judge_own("192.168.7.1", NULL, own), "private");
    /* its neighbours are other hosts */
    assert_null(judge_own("11.22.33.45", NULL, own));
    assert_null(judge_own("2606:4700::8", NULL, own));
    assert_null(judge_own("11.22.33.44", NULL, none));
    /* BulkIOURLAllow opens an own address as it opens a class */
    assert_int_equal(bulkio_cidr_parse(p, "11.22.33.0/24", &allow),
                     APR_SUCCESS);
    assert_null(judge_own("11.22.33.44", allow, own));
    assert_null(judge_own("::ffff:11.22.33.44", allow, own));
    /* the host's real list: each of its addresses is refused */
    assert_int_equal(bulkio_own_addrs(p, &own), APR_SUCCESS);
    assert_true(own->nelts > 0);
    {
        int i;
        char text[INET6_ADDRSTRLEN];

        for (i = 0; i < own->nelts; ++i) {
            const bulkio_cidr_t *c = &APR_ARRAY_IDX(own, i, bulkio_cidr_t);

            assert_non_null(inet_ntop(c->family, c->addr, text,
                                      sizeof(text)));
            if (!judge(text, NULL)) {
                fail_msg("own address %s was allowed", text);
            }
        }
    }
}

static void test_ports(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *ports = apr_array_make(p, 2,
                                               sizeof(bulkio_port_range_t));

    (void)p;
    assert_true(bulkio_port_allowed(NULL, 80));
    assert_true(bulkio_port_allowed(NULL, 443));
    assert_false(bulkio_port_allowed(NULL, 8080));
    assert_false(bulkio_port_allowed(NULL, 22));
    assert_int_equal(bulkio_port_range_parse("8443",
                                             apr_array_push(ports)),
                     APR_SUCCESS);
    assert_int_equal(bulkio_port_range_parse("9000-9009",
                                             apr_array_push(ports)),
                     APR_SUCCESS);
    assert_true(bulkio_port_allowed(ports, 8443));
    assert_true(bulkio_port_allowed(ports, 9000));
    assert_true(bulkio_port_allowed(ports, 9009));
    assert_false(bulkio_port_allowed(ports, 9010));
    assert_false(bulkio_port_allowed(ports, 80));
    {
        bulkio_port_range_t r;
        static const char *const bad[] = { "", "0", "65536", "x", "80-",
                                           "-80", "90-80", "80 ", "1-70000" };
        apr_size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
            if (bulkio_port_range_parse(bad[i], &r) != APR_EINVAL) {
                fail_msg("'%s' was taken as a port", bad[i]);
            }
        }
    }
}

static void test_refused(void **state)
{
    static const char *const refused[] = {
        "169.254.169.254", "10.0.0.1", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "100.64.0.1", "127.0.0.1", "127.1.2.3", "224.0.0.1",
        "0.0.0.0", "255.255.255.255", "240.0.0.1", "192.0.2.1",
        "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12::1", "ff02::1",
        "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "64:ff9b::a00:1", "2002:a00:1::1", "2001:db8::1", "2001::1",
        "fec0::1", "100::1", "::127.0.0.1"
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); ++i) {
        if (!judge(refused[i], NULL)) {
            fail_msg("%s was allowed", refused[i]);
        }
    }
    assert_string_equal(judge("127.0.0.1", NULL), "loopback");
    assert_string_equal(judge("169.254.169.254", NULL), "link-local");
    assert_string_equal(judge("::ffff:10.0.0.1", NULL), "private");
}

static void test_public(void **state)
{
    static const char *const ok[] = {
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1",
        "11.0.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
        "2002:808:808::1", "64:ff9b::808:808"
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); ++i) {
        if (judge(ok[i], NULL)) {
            fail_msg("%s was refused", ok[i]);
        }
    }
}

static void test_allow_list(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *allow;

    assert_int_equal(bulkio_cidr_parse(p, "127.0.0.0/8, ::1", &allow),
                     APR_SUCCESS);
    assert_null(judge("127.0.0.1", allow));
    assert_null(judge("127.200.0.9", allow));
    assert_null(judge("::1", allow));
    assert_null(judge("::ffff:127.0.0.1", allow));
    assert_non_null(judge("10.0.0.1", allow));
    assert_non_null(judge("169.254.169.254", allow));
    assert_int_equal(bulkio_cidr_parse(p, "10.1.2.3", &allow), APR_SUCCESS);
    assert_null(judge("10.1.2.3", allow));
    assert_non_null(judge("10.1.2.4", allow));
    assert_int_equal(bulkio_cidr_parse(p, "10.0.0.0/33", &allow), APR_EINVAL);
    assert_int_equal(bulkio_cidr_parse(p, "example", &allow), APR_EINVAL);
    assert_int_equal(bulkio_cidr_parse(p, "10.0.0.0/", &allow), APR_EINVAL);
    assert_int_equal(bulkio_cidr_parse(p, "::1/129", &allow), APR_EINVAL);
}

/* A listening socket on 127.0.0.1 that nobody should reach. */
static apr_socket_t *listener(apr_pool_t *p, apr_port_t *pport)
{
    apr_sockaddr_t *sa;
    apr_socket_t *s;

    assert_int_equal(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0,
                                           p), APR_SUCCESS);
    assert_int_equal(apr_socket_create(&s, APR_INET, SOCK_STREAM,
                                       APR_PROTO_TCP, p), APR_SUCCESS);
    assert_int_equal(apr_socket_bind(s, sa), APR_SUCCESS);
    assert_int_equal(apr_socket_listen(s, 8), APR_SUCCESS);
    assert_int_equal(apr_socket_addr_get(&sa, APR_LOCAL, s), APR_SUCCESS);
    *pport = sa->port;
    apr_socket_opt_set(s, APR_SO_NONBLOCK, 1);
    return s;
}

static void test_loopback_refused(void **state)
{
    apr_pool_t *p = *state;
    const char *hosts[] = { "127.0.0.1", "localhost", "[::ffff:127.0.0.1]",
                            "[::1]" };
    bulkio_fetch_opts_t opts;
    bulkio_fetch_result_t res;
    apr_array_header_t *allow;
    apr_socket_t *s, *c;
    const char *dir;
    apr_port_t port;
    apr_size_t i;

    assert_int_equal(apr_temp_dir_get(&dir, p), APR_SUCCESS);
    memset(&opts, 0, sizeof(opts));
    opts.max_size = 1 << 20;
    opts.connect_timeout = apr_time_from_sec(2);
    opts.timeout = apr_time_from_sec(5);
    opts.stall_timeout = apr_time_from_sec(2);
    opts.max_redirects = 5;
    s = listener(p, &port);
    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); ++i) {
        const char *url = apr_psprintf(p, "http://%s:%u/x.csv", hosts[i],
                                       port);

        assert_int_equal(bulkio_fetch(p, url, apr_pstrcat(p, dir,
                                      "/bulkio-test-fetch", NULL), &opts,
                                      &res), APR_EGENERAL);
        /* the reason names the directive, not the address or class */
        assert_string_equal(res.error, "the host is not allowed "
                            "(BulkIOURLAllow would allow it)");
        assert_non_null(res.refused);
        assert_false(res.transient);
    }
    /* allowed by BulkIOURLAllow, but not on 80 or 443 */
    assert_int_equal(bulkio_cidr_parse(p, "127.0.0.0/8", &allow),
                     APR_SUCCESS);
    opts.allow = allow;
    assert_int_equal(bulkio_fetch(p, apr_psprintf(p, "http://127.0.0.1:%u/"
                                                  "x.csv", port),
                                  apr_pstrcat(p, dir, "/bulkio-test-fetch",
                                              NULL), &opts, &res),
                     APR_EGENERAL);
    assert_string_equal(res.error, apr_psprintf(p, "port %u is not allowed "
                                                "(BulkIOURLPorts would allow "
                                                "it)", port));
    opts.allow = NULL;
    /* no connection ever reached the listener */
    assert_true(APR_STATUS_IS_EAGAIN(apr_socket_accept(&c, s, p)));
    assert_int_equal(bulkio_fetch(p, "ftp://127.0.0.1/x", apr_pstrcat(
                                  p, dir, "/bulkio-test-fetch", NULL),
                                  &opts, &res), APR_EGENERAL);
    assert_string_equal(res.error, "only http and https URLs can be fetched");
    apr_file_remove(apr_pstrcat(p, dir, "/bulkio-test-fetch", NULL), p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_refused),
        BULKIO_TEST(test_public),
        BULKIO_TEST(test_allow_list),
        BULKIO_TEST(test_own_interfaces),
        BULKIO_TEST(test_ports),
        BULKIO_TEST(test_loopback_refused),
    };
    bulkio_fetch_global_init();
    return BULKIO_RUN_TESTS(tests);
}
