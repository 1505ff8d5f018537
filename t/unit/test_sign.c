/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Signatures the server hands out (bulkio_sign.c), callback URLs and the
 * backoff of completion webhooks (bulkio_webhook.c), and the gzip stream
 * of compressed exports (bulkio_util.c). */

#include "test_common.h"

#include <string.h>

#include <apr_strings.h>
#include <zlib.h>

#include "bulkio_sign.h"
#include "bulkio_url.h"
#include "bulkio_util.h"
#include "bulkio_webhook.h"

#define JOB "0b6c3f7e-5a1d-4e2b-9c8f-1a2b3c4d5e6f"

/* RFC 4231, test case 2 */
static void test_hmac_vector(void **state)
{
    apr_pool_t *p = *state;
    const char *data = "what do ya want for nothing?";

    assert_string_equal(bulkio_hmac_hex(p, "Jefe", data, strlen(data)),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_null(bulkio_hmac_hex(p, "", data, strlen(data)));
}

static void test_hook_signature(void **state)
{
    apr_pool_t *p = *state;
    const char *body = "{\"job_id\":\"x\"}";
    const char *sig = bulkio_hook_signature(p, "s3cret", 1700000000, body,
                                            strlen(body));
    const char *input = apr_pstrcat(p, "1700000000.", body, NULL);

    assert_string_equal(sig, apr_pstrcat(p, "t=1700000000,v1=",
        bulkio_hmac_hex(p, "s3cret", input, strlen(input)), NULL));
}

static void test_link_round_trip(void **state)
{
    apr_pool_t *p = *state;
    const char *sig = bulkio_link_signature(p, "k", JOB, 2000);

    assert_int_equal(strlen(sig), 64);
    assert_int_equal(bulkio_link_verify(p, "k", JOB, "2000", sig, 1999),
                     APR_SUCCESS);
    /* a job id in upper case is the same job */
    assert_string_equal(bulkio_link_signature(p, "k",
                        "0B6C3F7E-5A1D-4E2B-9C8F-1A2B3C4D5E6F", 2000), sig);
}

static void test_link_tampered(void **state)
{
    apr_pool_t *p = *state;
    char *sig = apr_pstrdup(p, bulkio_link_signature(p, "k", JOB, 2000));

    assert_int_equal(bulkio_link_verify(p, "k", JOB, "2001", sig, 1),
                     APR_EACCES);
    assert_int_equal(bulkio_link_verify(p, "other", JOB, "2000", sig, 1),
                     APR_EACCES);
    assert_int_equal(bulkio_link_verify(p, "k", JOB, "02000", sig, 1),
                     APR_EACCES);
    assert_int_equal(bulkio_link_verify(p, "k", JOB, "2000x", sig, 1),
                     APR_EACCES);
    assert_int_equal(bulkio_link_verify(p, "k", JOB, NULL, sig, 1),
                     APR_EACCES);
    assert_int_equal(bulkio_link_verify(p, "k", JOB, "2000", NULL, 1),
                     APR_EACCES);
    assert_int_equal(bulkio_link_verify(p, NULL, JOB, "2000", sig, 1),
                     APR_EACCES);
    sig[10] = sig[10] == 'a' ? 'b' : 'a';
    assert_int_equal(bulkio_link_verify(p, "k", JOB, "2000", sig, 1),
                     APR_EACCES);
}

static void test_link_expired(void **state)
{
    apr_pool_t *p = *state;
    const char *sig = bulkio_link_signature(p, "k", JOB, 2000);

    assert_int_equal(bulkio_link_verify(p, "k", JOB, "2000", sig, 2000),
                     APR_SUCCESS);
    assert_int_equal(bulkio_link_verify(p, "k", JOB, "2000", sig, 2001),
                     APR_TIMEUP);
}

static void test_backoff(void **state)
{
    apr_interval_time_t s = apr_time_from_sec(2);

    (void)state;
    assert_true(bulkio_hook_backoff(s, 1) == apr_time_from_sec(2));
    assert_true(bulkio_hook_backoff(s, 2) == apr_time_from_sec(4));
    assert_true(bulkio_hook_backoff(s, 5) == apr_time_from_sec(32));
    assert_true(bulkio_hook_backoff(s, 40) == apr_time_from_sec(3600));
    assert_true(bulkio_hook_backoff(apr_time_from_sec(30), 8)
                == apr_time_from_sec(3600));
}

static void test_callback_urls(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *allow;
    apr_array_header_t *ports = apr_array_make(p, 1,
                                               sizeof(bulkio_port_range_t));
    const char *error = NULL;
    char *longurl;

    assert_int_equal(bulkio_hook_check_url(p, "https://hooks.example.com/a"
                                           "?b=1", NULL, NULL, &error),
                     APR_SUCCESS);
    assert_int_equal(bulkio_hook_check_url(p, "ftp://example.com/", NULL,
                                           NULL, &error), APR_EINVAL);
    assert_int_equal(bulkio_hook_check_url(p, "/relative", NULL, NULL,
                                           &error), APR_EINVAL);
    assert_int_equal(bulkio_hook_check_url(p, "http://u:pw@example.com/",
                                           NULL, NULL, &error), APR_EINVAL);
    assert_int_equal(bulkio_hook_check_url(p, "http://10.0.0.7/h", NULL,
                                           NULL, &error), APR_EINVAL);
    assert_non_null(strstr(error, "private"));
    assert_int_equal(bulkio_cidr_parse(p, "10.0.0.0/8 ::1", &allow),
                     APR_SUCCESS);
    assert_int_equal(bulkio_hook_check_url(p, "http://10.0.0.7/h", allow,
                                           NULL, &error), APR_SUCCESS);
    /* a port outside BulkIOURLPorts (default 80, 443), even on an
     * allowed address */
    assert_int_equal(bulkio_hook_check_url(p, "http://[::1]:8080/h", allow,
                                           NULL, &error), APR_EINVAL);
    assert_non_null(strstr(error, "BulkIOURLPorts"));
    assert_int_equal(bulkio_hook_check_url(p, "http://10.0.0.7:6379/h",
                                           allow, NULL, &error), APR_EINVAL);
    assert_int_equal(bulkio_port_range_parse("8080", apr_array_push(ports)),
                     APR_SUCCESS);
    assert_int_equal(bulkio_hook_check_url(p, "http://[::1]:8080/h", allow,
                                           ports, &error), APR_SUCCESS);
    assert_int_equal(bulkio_hook_check_url(p, "http://[::1]:8080/h", NULL,
                                           ports, &error), APR_EINVAL);
    longurl = apr_pstrcat(p, "https://example.com/", apr_psprintf(p,
                          "%0*d", BULKIO_HOOK_URL_MAX, 0), NULL);
    assert_int_equal(bulkio_hook_check_url(p, longurl, NULL, NULL, &error),
                     APR_EINVAL);
}

static apr_status_t collect(void *baton, const char *data, apr_size_t len)
{
    bulkio_buf_add(baton, data, len);
    return APR_SUCCESS;
}

/* What bulkio_gzip_* writes inflates to exactly what went in. */
static void test_gzip_round_trip(void **state)
{
    apr_pool_t *p = *state;
    bulkio_buf_t in, out;
    bulkio_gzip_t *gz;
    z_stream z;
    unsigned char *back;
    apr_size_t i;

    bulkio_buf_init(&in, p, 1024);
    bulkio_buf_init(&out, p, 1024);
    for (i = 0; i < 50000; ++i) {
        const char *line = apr_psprintf(p, "{\"n\":%lu}\n", (unsigned long)i);

        bulkio_buf_add(&in, line, strlen(line));
    }
    assert_int_equal(bulkio_gzip_open(p, collect, &out, &gz), APR_SUCCESS);
    for (i = 0; i < in.len; i += 7000) {
        assert_int_equal(bulkio_gzip_write(gz, in.data + i, in.len - i < 7000
                                           ? in.len - i : 7000, 0),
                         APR_SUCCESS);
    }
    assert_int_equal(bulkio_gzip_write(gz, "", 0, 1), APR_SUCCESS);
    assert_true(out.len < in.len / 3);
    assert_int_equal((unsigned char)out.data[0], 0x1f);
    assert_int_equal((unsigned char)out.data[1], 0x8b);
    back = apr_palloc(p, in.len + 1);
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)out.data;
    z.avail_in = (uInt)out.len;
    z.next_out = back;
    z.avail_out = (uInt)in.len + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, in.len);
    assert_memory_equal(back, in.data, in.len);
    inflateEnd(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_hmac_vector),
        BULKIO_TEST(test_hook_signature),
        BULKIO_TEST(test_link_round_trip),
        BULKIO_TEST(test_link_tampered),
        BULKIO_TEST(test_link_expired),
        BULKIO_TEST(test_backoff),
        BULKIO_TEST(test_callback_urls),
        BULKIO_TEST(test_gzip_round_trip),
    };
    return BULKIO_RUN_TESTS(tests);
}
