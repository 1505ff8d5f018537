/* Unit tests of the Prometheus text output of /v1/metrics. */

#include <math.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "test_common.h"
#include "bulkio_metrics.h"

static void test_escape(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(bulkio_prom_label(p, "plain"), "plain");
    assert_string_equal(bulkio_prom_label(p, "a\"b\\c\nd"),
                        "a\\\"b\\\\c\\nd");
    assert_string_equal(bulkio_prom_label(p, ""), "");
    assert_string_equal(bulkio_prom_label(p, NULL), "");
    /* HELP text keeps its quotes */
    assert_string_equal(bulkio_prom_help(p, "say \"x\\y\"\nz"),
                        "say \"x\\\\y\"\\nz");
}

static void test_double(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(bulkio_prom_double(p, 0.1), "0.1");
    assert_string_equal(bulkio_prom_double(p, 5), "5");
    assert_string_equal(bulkio_prom_double(p, 43200), "43200");
    assert_string_equal(bulkio_prom_double(p, 0), "0");
    assert_string_equal(bulkio_prom_double(p, 1.0 / 3),
                        "0.33333333333333331");
    assert_string_equal(bulkio_prom_double(p, NAN), "NaN");
    assert_string_equal(bulkio_prom_double(p, INFINITY), "+Inf");
    assert_string_equal(bulkio_prom_double(p, -INFINITY), "-Inf");
}

static void test_render(void **state)
{
    apr_pool_t *p = *state;
    static const double buckets[] = { 1, 10 };
    apr_int64_t counts[3] = { 2, 0, 1 }, none[3] = { 0, 0, 0 };
    bulkio_metrics_t m;
    bulkio_m_jobs_t *j;
    bulkio_m_records_t *rec;
    bulkio_m_errors_t *e;
    bulkio_m_running_t *run;
    bulkio_m_durations_t *d;
    bulkio_buf_t out;

    memset(&m, 0, sizeof(m));
    m.jobs = apr_array_make(p, 1, sizeof(*j));
    j = apr_array_push(m.jobs);
    j->kind = "import";
    j->status = "completed";
    j->count = 3;
    m.records = apr_array_make(p, 1, sizeof(*rec));
    rec = apr_array_push(m.records);
    rec->kind = "import";
    rec->resource = "users";
    rec->processed = 10;
    rec->succeeded = 7;
    rec->failed = 3;
    m.errors = apr_array_make(p, 1, sizeof(*e));
    e = apr_array_push(m.errors);
    e->resource = "users";
    e->error_type = "VALIDATION_ERROR";
    e->count = 3;
    m.running = apr_array_make(p, 1, sizeof(*run));
    run = apr_array_push(m.running);
    memset(run, 0, sizeof(*run));
    run->job_id = "j1";
    run->kind = "import";
    run->resource = "users";
    run->server = "h\"1";
    run->records = 50;
    run->elapsed = 4;
    m.durations = apr_array_make(p, 2, sizeof(*d));
    d = apr_array_push(m.durations);
    d->kind = "import";
    d->counts = counts;
    d->count = 3;
    d->sum = 12.5;
    d = apr_array_push(m.durations);
    d->kind = "export";
    d->counts = none;
    m.buckets = buckets;
    m.nbuckets = 2;
    m.queue_depth = 2;
    m.oldest_pending = 1.5;

    bulkio_buf_init(&out, p, 16);
    bulkio_metrics_render(&out, &m);
    bulkio_buf_addc(&out, '\0');
    assert_string_equal(out.data,
        "# HELP bulkio_jobs Jobs in the database by kind and status.\n"
        "# TYPE bulkio_jobs gauge\n"
        "bulkio_jobs{kind=\"import\",status=\"completed\"} 3\n"
        "# HELP bulkio_records_processed_total Records consumed by jobs "
        "(committed batches), by kind and resource.\n"
        "# TYPE bulkio_records_processed_total counter\n"
        "bulkio_records_processed_total{kind=\"import\",resource=\"users\"} 10\n"
        "# HELP bulkio_records_succeeded_total Records applied by imports or "
        "written by exports, by kind and resource.\n"
        "# TYPE bulkio_records_succeeded_total counter\n"
        "bulkio_records_succeeded_total{kind=\"import\",resource=\"users\"} 7\n"
        "# HELP bulkio_records_failed_total Records imports failed, by "
        "resource and error type.\n"
        "# TYPE bulkio_records_failed_total counter\n"
        "bulkio_records_failed_total{resource=\"users\","
        "error_type=\"VALIDATION_ERROR\"} 3\n"
        "# HELP bulkio_job_rows_per_second Records per second of each "
        "running job since it started.\n"
        "# TYPE bulkio_job_rows_per_second gauge\n"
        "bulkio_job_rows_per_second{job_id=\"j1\",kind=\"import\","
        "resource=\"users\",server=\"h\\\"1\"} 12.5\n"
        "# HELP bulkio_job_processed_records Records committed so far by "
        "each running job.\n"
        "# TYPE bulkio_job_processed_records gauge\n"
        "bulkio_job_processed_records{job_id=\"j1\",kind=\"import\","
        "resource=\"users\",server=\"h\\\"1\"} 50\n"
        "# HELP bulkio_job_duration_seconds Duration of finished jobs, from "
        "first start to end.\n"
        "# TYPE bulkio_job_duration_seconds histogram\n"
        "bulkio_job_duration_seconds_bucket{kind=\"import\",le=\"1\"} 2\n"
        "bulkio_job_duration_seconds_bucket{kind=\"import\",le=\"10\"} 2\n"
        "bulkio_job_duration_seconds_bucket{kind=\"import\",le=\"+Inf\"} 3\n"
        "bulkio_job_duration_seconds_sum{kind=\"import\"} 12.5\n"
        "bulkio_job_duration_seconds_count{kind=\"import\"} 3\n"
        "bulkio_job_duration_seconds_bucket{kind=\"export\",le=\"1\"} 0\n"
        "bulkio_job_duration_seconds_bucket{kind=\"export\",le=\"10\"} 0\n"
        "bulkio_job_duration_seconds_bucket{kind=\"export\",le=\"+Inf\"} 0\n"
        "bulkio_job_duration_seconds_sum{kind=\"export\"} 0\n"
        "bulkio_job_duration_seconds_count{kind=\"export\"} 0\n"
        "# HELP bulkio_queue_depth Pending jobs.\n"
        "# TYPE bulkio_queue_depth gauge\n"
        "bulkio_queue_depth 2\n"
        "# HELP bulkio_queue_oldest_pending_age_seconds Age of the oldest "
        "pending job, 0 when none is pending.\n"
        "# TYPE bulkio_queue_oldest_pending_age_seconds gauge\n"
        "bulkio_queue_oldest_pending_age_seconds 1.5\n");
}

static void test_buckets_ascending(void **state)
{
    int i;

    (void)state;
    assert_true(bulkio_metrics_nbuckets > 5);
    for (i = 1; i < bulkio_metrics_nbuckets; ++i) {
        assert_true(bulkio_metrics_buckets[i] > bulkio_metrics_buckets[i - 1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_escape),
        BULKIO_TEST(test_double),
        BULKIO_TEST(test_render),
        cmocka_unit_test(test_buckets_ascending),
    };

    return BULKIO_RUN_TESTS(tests);
}
