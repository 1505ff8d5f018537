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

static void test_kind_and_prefix(void **state)
{
    apr_pool_t *p = *state;
    bulkio_job_query_t q;
    bulkio_job_t j;
    apr_table_t *args = apr_table_make(p, 2);
    const char *err;

    /* kind: only on the list across kinds */
    assert_int_equal(parse(p, &q, &err, "kind", "export", NULL), APR_EINVAL);
    assert_string_equal(err, "unknown parameter 'kind'; allowed: status, "
                        "resource, created_after, created_before, limit, "
                        "cursor, id_prefix");
    memset(&q, 0, sizeof(q));
    q.all_kinds = 1;
    apr_table_set(args, "kind", "export");
    apr_table_set(args, "id_prefix", "097F-");
    assert_int_equal(bulkio_joblist_parse(p, args, &q, &err), APR_SUCCESS);
    assert_string_equal(q.kind, "export");
    assert_string_equal(q.id_prefix, "097f-");
    memset(&j, 0, sizeof(j));
    j.created_us = 5;
    j.id = 7;
    assert_string_equal(bulkio_joblist_next_query(p, &q, 0, &j),
                        apr_pstrcat(p, "id_prefix=097f-&kind=export&cursor=",
                                    bulkio_joblist_cursor(p, &j), NULL));
    apr_table_set(args, "kind", "imports");
    assert_int_equal(bulkio_joblist_parse(p, args, &q, &err), APR_EINVAL);
    assert_string_equal(err, "unknown kind; allowed: import, export");
    apr_table_unset(args, "kind");
    assert_int_equal(bulkio_joblist_parse(p, args, &q, &err), APR_SUCCESS);
    assert_null(q.kind);
    /* a job id's start: hex digits and dashes, at most 36 */
    assert_int_equal(parse(p, &q, &err, "id_prefix", "", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "id_prefix", "09%", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "id_prefix", "0g", NULL), APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "id_prefix",
                           "097f5434-0000-4000-8000-0000000000001", NULL),
                     APR_EINVAL);
    assert_int_equal(parse(p, &q, &err, "id_prefix",
                           "097f5434-0000-4000-8000-000000000000", NULL),
                     APR_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_defaults_and_filters),
        BULKIO_TEST(test_refused),
        BULKIO_TEST(test_cursor_round_trip),
        BULKIO_TEST(test_kind_and_prefix),
    };
    return BULKIO_RUN_TESTS(tests);
}
