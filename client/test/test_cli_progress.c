/* bulkio client: progress lines and the summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

/* cli_fmt_count, in the shape of the other formatters */
static void fmt_count(char *buf, size_t len, double n)
{
    cli_fmt_count(buf, len, (int64_t)n);
}

static void units(void **state)
{
    static const struct {
        void (*fmt)(char *buf, size_t len, double v);
        double v;
        const char *want;
    } cases[] = {
        { cli_fmt_bytes, 512, "512 B" },
        { cli_fmt_bytes, 1536, "1.5 KiB" },
        { cli_fmt_bytes, 12.3 * 1024 * 1024, "12.3 MiB" },
        { cli_fmt_bytes, 1.2 * 1024 * 1024 * 1024, "1.20 GiB" },
        { fmt_count, 0, "0" },
        { fmt_count, 999, "999" },
        { fmt_count, 1000, "1,000" },
        { fmt_count, 1234567, "1,234,567" },
        { fmt_count, -45000, "-45,000" },
        { cli_fmt_eta, 7, "0:07" },
        { cli_fmt_eta, 754, "12:34" },
        { cli_fmt_eta, 3723, "1:02:03" },
        { cli_fmt_eta, -1, "--:--" },
        { cli_fmt_duration, 0.84, "0.8 s" },
        { cli_fmt_duration, 125, "2 m 5 s" },
        { cli_fmt_duration, 3725, "1 h 2 m" },
    };
    char b[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        cases[i].fmt(b, sizeof(b), cases[i].v);
        assert_string_equal(b, cases[i].want);
    }
}

static void lines(void **state)
{
    char b[256];
    cli_job_progress_t p;

    (void)state;
    cli_fmt_upload(b, sizeof(b), "u.csv", 12.5 * 1024 * 1024,
                   50.0 * 1024 * 1024, 10.0 * 1024 * 1024);
    assert_string_equal(b, "upload u.csv: 12.5 MiB of 50.0 MiB   25.0%  "
                           "10.0 MiB/s");
    cli_fmt_upload(b, sizeof(b), "-", 100, 0, 50);
    assert_string_equal(b, "upload -: 100 B  50 B/s");
    memset(&p, 0, sizeof(p));
    p.job_id = "0f1e2d3c-aaaa-4bbb-8ccc-000000000000";
    p.status = "running";
    p.processed = 350000;
    p.errors = 17500;
    p.percent = 35.04;
    p.rate = 45210.6;
    p.eta = 14;
    cli_fmt_job(b, sizeof(b), &p);
    assert_string_equal(b, "job 0f1e2d3c-aaaa-4bbb-8ccc-000000000000 running   350,000 records   35.0%  "
                           "45,211 rows/s  ETA 0:14  errors 17,500");
    p.status = "pending";
    p.processed = 0;
    p.errors = 0;
    p.percent = -1;
    p.rate = 0;
    p.eta = -1;
    cli_fmt_job(b, sizeof(b), &p);
    assert_string_equal(b, "job 0f1e2d3c-aaaa-4bbb-8ccc-000000000000 pending   0 records    ?  %  "
                           "0 rows/s  ETA --:--  errors 0");
}

static void summary(void **state)
{
    char b[512];
    cli_summary_t s;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.status = "completed";
    s.total = 1000000;
    s.succeeded = 950000;
    s.failed = 50000;
    cli_summary_add(&s, "VALIDATION_ERROR", 30000);
    cli_summary_add(&s, "DUPLICATE_ERROR", 19999);
    cli_summary_add(&s, "DUPLICATE_ERROR", 1);
    s.duration = 25.0;
    cli_fmt_summary(b, sizeof(b), &s);
    assert_string_equal(b, "completed: 1,000,000 records, 950,000 succeeded, "
                        "50,000 failed (VALIDATION_ERROR 30,000, "
                        "DUPLICATE_ERROR 20,000) in 25.0 s, 40,000 rows/s");
    memset(&s, 0, sizeof(s));
    s.status = "failed";
    s.reason = "the file cannot be read";
    cli_fmt_summary(b, sizeof(b), &s);
    assert_string_equal(b, "failed: 0 records, 0 succeeded, 0 failed in "
                        "0.0 s, 0 rows/s; the file cannot be read");
    /* a short buffer is cut, never overrun */
    memset(&s, 0, sizeof(s));
    s.status = "completed";
    cli_summary_add(&s, "PARSE_ERROR", 1);
    cli_fmt_summary(b, 20, &s);
    assert_int_equal(strlen(b), 19);
}

static void summary_actions(void **state)
{
    char b[512];
    cli_summary_t s;
    int64_t counts[CLI_NACTIONS] = { 0, 0, 0, 0 };

    (void)state;
    cli_fmt_actions(b, sizeof(b), counts);
    assert_string_equal(b, "");
    counts[CLI_ACT_DELETED] = 1200;
    cli_fmt_actions(b, sizeof(b), counts);
    assert_string_equal(b, "1,200 deleted");
    assert_string_equal(cli_action_name(CLI_ACT_UNCHANGED), "unchanged");

    s = (cli_summary_t){ .status = "completed", .total = 10, .succeeded = 10,
                         .has_actions = 1, .actions = { 4, 5, 1, 0 },
                         .mode = "upsert", /* the default: not shown */
                         .duration = 2.0 };
    cli_fmt_summary(b, sizeof(b), &s);
    assert_string_equal(b, "completed: 10 records, 10 succeeded (4 inserted, "
                        "5 updated, 1 unchanged), 0 failed in 2.0 s, "
                        "5 rows/s");
    /* counts without has_actions (an older server) stay out */
    s.has_actions = 0;
    cli_fmt_summary(b, sizeof(b), &s);
    assert_string_equal(b, "completed: 10 records, 10 succeeded, 0 failed in "
                        "2.0 s, 5 rows/s");

    s = (cli_summary_t){ .status = "completed", .total = 3, .succeeded = 2,
                         .failed = 1, .has_actions = 1,
                         .actions = { [CLI_ACT_DELETED] = 2 },
                         .mode = "delete", .dry_run = 1, .duration = 1.0 };
    cli_summary_add(&s, "NOT_FOUND_ERROR", 1);
    cli_fmt_summary(b, sizeof(b), &s);
    assert_string_equal(b, "completed: 3 records, 2 succeeded (2 deleted), "
                        "1 failed (NOT_FOUND_ERROR 1) in 1.0 s, 3 rows/s; "
                        "mode delete; dry run: nothing was changed");
    /* nothing succeeded: no empty parentheses; the reason comes last */
    s = (cli_summary_t){ .status = "failed", .total = 6, .failed = 6,
                         .has_actions = 1, .mode = "insert",
                         .reason = "more than 5 records failed "
                                   "(--max-errors 5)" };
    cli_fmt_summary(b, sizeof(b), &s);
    assert_string_equal(b, "failed: 6 records, 0 succeeded, 6 failed in "
                        "0.0 s, 0 rows/s; mode insert; more than 5 records "
                        "failed (--max-errors 5)");
    /* a short buffer is cut, never overrun */
    cli_fmt_summary(b, 70, &s);
    assert_int_equal(strlen(b), 69);
    cli_fmt_actions(b, 12, counts);
    assert_string_equal(b, "1,200 delet");
}

/* what was written to f is want; f is closed */
static void assert_written(FILE *f, const char *want)
{
    char buf[4096];
    size_t n;

    fflush(f);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, want);
}

static void tty_redraws(void **state)
{
    cli_progress_t pr;
    FILE *f = tmpfile();

    (void)state;
    cli_progress_init(&pr, f, 1, 0);
    assert_int_equal(cli_progress_show(&pr, "long line", 0.0, 0), 1);
    assert_int_equal(cli_progress_show(&pr, "short", 0.1, 0), 1);
    cli_progress_end(&pr);
    cli_progress_end(&pr);      /* nothing open: nothing written */
    assert_written(f, "\rlong line\rshort    \n");

    f = tmpfile();
    cli_progress_init(&pr, f, 1, 0);
    pr.cols = 8;                /* cut to the terminal's width less one */
    cli_progress_show(&pr, "0123456789", 0.0, 0);
    cli_progress_end(&pr);
    assert_written(f, "\r0123456\n");
}

static void plain_throttled(void **state)
{
    cli_progress_t pr;
    FILE *f = tmpfile();

    (void)state;
    cli_progress_init(&pr, f, 0, 0);
    pr.last = 100.0;
    assert_int_equal(cli_progress_show(&pr, "a", 101.0, 0), 0);
    assert_int_equal(cli_progress_show(&pr, "b", 105.0, 0), 1);
    assert_int_equal(cli_progress_show(&pr, "c", 109.9, 0), 0);
    assert_int_equal(cli_progress_show(&pr, "d", 110.0, 0), 1);
    assert_int_equal(cli_progress_show(&pr, "e", 110.1, 1), 1);
    cli_progress_end(&pr);      /* plain lines end themselves */
    assert_written(f, "bulkio: b\nbulkio: d\nbulkio: e\n");

    f = tmpfile();
    cli_progress_init(&pr, f, 1, 1);
    assert_int_equal(cli_progress_show(&pr, "quiet", 0.0, 1), 0);
    cli_progress_end(&pr);
    assert_written(f, "");
}

static void transfers(void **state)
{
    cli_xfer_progress_t xp;
    cli_progress_t pr;
    char b[256];
    FILE *f = tmpfile();

    (void)state;
    cli_fmt_transfer(b, sizeof(b), "download", NULL, 1536, 0, 512);
    assert_string_equal(b, "download: 1.5 KiB  512 B/s");
    cli_progress_init(&pr, f, 1, 0);
    cli_xfer_progress_init(&xp, "upload", "u.csv", 10.0);
    assert_int_equal(cli_progress_xfer(&pr, &xp, 0, 100, 10.5), 0);
    assert_int_equal(cli_progress_xfer(&pr, &xp, 50, 100, 11.0), 1);
    /* a tty: ten lines a second at most, but the last one always */
    assert_int_equal(cli_progress_xfer(&pr, &xp, 60, 100, 11.05), 0);
    assert_int_equal(cli_progress_xfer(&pr, &xp, 100, 100, 11.06), 1);
    cli_progress_end(&pr);
    assert_written(f, "\rupload u.csv: 50 B of 100 B   50.0%  50 B/s"
                   "\rupload u.csv: 100 B of 100 B  100.0%  94 B/s\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(units),
        cmocka_unit_test(lines),
        cmocka_unit_test(summary),
        cmocka_unit_test(summary_actions),
        cmocka_unit_test(tty_redraws),
        cmocka_unit_test(plain_throttled),
        cmocka_unit_test(transfers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
