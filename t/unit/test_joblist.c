/* Unit tests of the job list query: parameters, cursor, next page. */

#include <apr_strings.h>
#include <apr_tables.h>

#include "test_common.h"
#include "bulkio_joblist.h"

static apr_status_t parse(apr_pool_t *p, bulkio_job_query_t *q,
                          const char **perror, ...)
{
    apr_table_t *args = apr_table_make(p, 4);
    const char *k, *v;
    va_list ap;

    va_start(ap, perror);
    while ((k = va_arg(ap, const char *))) {
        v = va_arg(ap, const char *);
        apr_table_add(args, k, v);
    }
    va_end(ap);
    memset(q, 0, sizeof(*q));
    *perror = NULL;
    return bulkio_joblist_parse(p, args, q, perror);
}

static void test_defaults_and_filters(void **state)
{
    apr_pool_t *p = *state;
    bulkio_job_query_t q;
    const char *err;

    assert_int_equal(parse(p, &q, &err, NULL), APR_SUCCESS);
    assert_int_equal(q.limit, 50);
    assert_null(q.statuses);
    assert_int_equal(q.after_set, 0);
    assert_int_equal(parse(p, &q, &err, "status", "failed,running",
                           "resource", "users", "limit", "1000",
                           "created_after", "2024-01-01T00:00:00+02:00",
                           NULL), APR_SUCCESS);
    assert_string_equal(q.statuses, "{failed,running}");
    assert_string_equal(q.resource, "users");
    assert_string_equal(q.created_after, "2024-01-01T00:00:00+02:00");
    assert_int_equal(q.limit, 1000);
}

static void test_refused(void **state)
{
    apr_pool_t *p = *state;
    bulkio_job_query_t q;
    const char *err;

    assert_int_equal(parse(p, &q, &err, "status", "done", NULL), APR_EINVAL);
    assert_non_null(strstr(err, "unknown status 'done'"));
    assert_int_equal(parse(p, &q, &err, "status", "failed,", NULL),
                     APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "status", "", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "resource", "users'--", NULL),
                     APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "limit", "0", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "limit", "1001", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "limit", "-5", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "created_before", "2024-02-30T00:00:00Z",
                           NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "order", "asc", NULL), APR_EINVAL);
    assert_non_null(strstr(err, "unknown parameter 'order'"));
    assert_int_equal(parse(p, &q, &err, "cursor", "MToy!", NULL), APR_EINVAL);
    /* "1:x" and a non-canonical spelling of "1:2" */
    assert_int_equal(parse(p, &q, &err, "cursor", "MTp4", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "cursor", "MToz", NULL), APR_SUCCESS);
    assert_int_equal(parse(p, &q, &err, "cursor", "MTozA", NULL), APR_EINVAL);
}

static void test_cursor_round_trip(void **state)
{
    apr_pool_t *p = *state;
    bulkio_job_query_t q;
    bulkio_job_t j;
    const char *err, *c, *next;

    memset(&j, 0, sizeof(j));
    j.created_us = APR_INT64_C(1764700000123456);
    j.id = 987654;
    c = bulkio_joblist_cursor(p, &j);
    assert_null(strpbrk(c, "+/="));
    assert_int_equal(parse(p, &q, &err, "cursor", c, NULL), APR_SUCCESS);
    assert_int_equal(q.after_set, 1);
    assert_true(q.after_us == j.created_us);
    assert_true(q.after_id == j.id);

    assert_int_equal(parse(p, &q, &err, "status", "completed",
                           "created_before", "2024-01-01T00:00:00+01:00",
                           NULL), APR_SUCCESS);
    next = bulkio_joblist_next_query(p, &q, 0, &j);
    assert_string_equal(next, apr_pstrcat(p, "status=completed&created_before="
                        "2024-01-01T00:00:00%2B01:00&cursor=", c, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_defaults_and_filters),
        BULKIO_TEST(test_refused),
        BULKIO_TEST(test_cursor_round_trip),
    };
    return BULKIO_RUN_TESTS(tests);
}
