/* bulkio client: the command line and the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

/* the words of one command line, writable as in main and alive as long
 * as the options that point into them, and the parser's message */
typedef struct {
    char store[32][128];
    char err[512];
} words_t;

/* parse a NULL-terminated list of words */
static int parse(words_t *w, cli_opts_t *o, ...)
{
    char *argv[33];
    const char *word;
    va_list ap;
    int argc = 0;

    va_start(ap, o);
    while ((word = va_arg(ap, const char *)) && argc < 32) {
        snprintf(w->store[argc], sizeof(w->store[argc]), "%s", word);
        argv[argc] = w->store[argc];
        ++argc;
    }
    va_end(ap);
    argv[argc] = NULL;
    w->err[0] = '\0';
    return cli_parse(argc, argv, o, w->err, sizeof(w->err));
}

static int setup(void **state)
{
    (void)state;
    unsetenv("BULKIO_URL");
    unsetenv("BULKIO_TOKEN");
    unsetenv("BULKIO_RUN_DIR");
    unsetenv("BULKIO_PORT");
    return 0;
}

static void import_defaults(void **state)
{
    cli_opts_t o;
    words_t w;

    (void)state;
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv", NULL),
                           0);
    assert_int_equal(o.cmd, CLI_CMD_IMPORT);
    assert_string_equal(o.resource, "users");
    assert_string_equal(o.source, "a.csv");
    assert_string_equal(o.url, "http://127.0.0.1:8080");
    assert_null(o.token);
    assert_string_equal(o.token_file, ".run/token");
    assert_int_equal(o.retries, 3);
    assert_int_equal(o.no_wait, 0);
    assert_null(o.idempotency_key);
}

static void options_anywhere(void **state)
{
    cli_opts_t o;
    words_t w;

    (void)state;
    assert_int_equal(parse(&w, &o, "bulkio", "import", "--no-wait",
                           "comments", "c.json.gz", "--format", "json", "-q",
                           "--idempotency-key", "k-1", "--json",
                           "--url", "http://h:1/", NULL), 0);
    assert_int_equal(o.no_wait, 1);
    assert_int_equal(o.quiet, 1);
    assert_int_equal(o.json, 1);
    assert_string_equal(o.format, "json");
    assert_string_equal(o.idempotency_key, "k-1");
    assert_string_equal(o.resource, "comments");
    assert_string_equal(o.source, "c.json.gz");
    assert_string_equal(o.url, "http://h:1/");
}

static void environment(void **state)
{
    cli_opts_t o;
    words_t w;

    (void)state;
    setenv("BULKIO_URL", "https://api.example:8443", 1);
    setenv("BULKIO_TOKEN", "t0k", 1);
    assert_int_equal(parse(&w, &o, "bulkio", "status", "0a-b", NULL), 0);
    assert_string_equal(o.url, "https://api.example:8443");
    assert_string_equal(o.token, "t0k");
    assert_int_equal(o.token_from_argv, 0);
    /* the command line wins */
    assert_int_equal(parse(&w, &o, "bulkio", "--url", "http://x",
                           "--token-file", "/tmp/t", "status", "ab", NULL), 0);
    assert_string_equal(o.url, "http://x");
    assert_null(o.token);
    assert_string_equal(o.token_file, "/tmp/t");
    unsetenv("BULKIO_TOKEN");
    setenv("BULKIO_RUN_DIR", "/srv/run", 1);
    assert_int_equal(parse(&w, &o, "bulkio", "cancel", "ab", NULL), 0);
    assert_string_equal(o.token_file, "/srv/run/token");
    assert_int_equal(parse(&w, &o, "bulkio", "--token", "tt", "cancel", "ab",
                           NULL), 0);
    assert_int_equal(o.token_from_argv, 1);
    /* without BULKIO_URL: the port of a local installation, if valid */
    unsetenv("BULKIO_URL");
    setenv("BULKIO_PORT", "8820", 1);
    assert_int_equal(parse(&w, &o, "bulkio", "cancel", "ab", NULL), 0);
    assert_string_equal(o.url, "http://127.0.0.1:8820");
    setenv("BULKIO_PORT", "88x", 1);
    assert_int_equal(parse(&w, &o, "bulkio", "cancel", "ab", NULL), 0);
    assert_string_equal(o.url, "http://127.0.0.1:8080");
    setenv("BULKIO_PORT", "8820", 1);
    setenv("BULKIO_URL", "http://u", 1);
    assert_int_equal(parse(&w, &o, "bulkio", "cancel", "ab", NULL), 0);
    assert_string_equal(o.url, "http://u");
    setup(NULL);
}

static void export_and_jobs(void **state)
{
    cli_opts_t o;
    words_t w;

    (void)state;
    assert_int_equal(parse(&w, &o, "bulkio", "export", "articles", "--filter",
                           "status=published", "--filter", "authorId=x=y",
                           "--fields", "id,slug", "-o", "out.csv", "--job",
                           NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_EXPORT);
    assert_int_equal(o.nfilters, 2);
    assert_string_equal(o.filters[1], "authorId=x=y");
    assert_string_equal(o.fields, "id,slug");
    assert_string_equal(o.output, "out.csv");
    assert_int_equal(o.as_job, 1);
    assert_int_equal(parse(&w, &o, "bulkio", "jobs", "--status",
                           "running,pending", "--resource", "users",
                           "--limit", "20", "--kind", "export", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_JOBS);
    assert_int_equal(o.limit, 20);
    assert_string_equal(o.status, "running,pending");
    assert_string_equal(o.kind, "export");
}

static void refused(void **state)
{
    cli_opts_t o;
    words_t w;
    const char *err = w.err;

    (void)state;
    assert_int_equal(parse(&w, &o, "bulkio", NULL), -1);
    assert_string_equal(err, "no command given");
    assert_int_equal(parse(&w, &o, "bulkio", "upload", NULL), -1);
    assert_string_equal(err, "unknown command 'upload'");
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", NULL), -1);
    assert_string_equal(err, "import needs RESOURCE and FILE or URL");
    assert_int_equal(parse(&w, &o, "bulkio", "import", "posts", "a",
                           NULL), -1);
    assert_non_null(strstr(err, "unknown resource 'posts'"));
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a", "b",
                           NULL), -1);
    assert_string_equal(err, "too many arguments for import");
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a",
                           "--format", "xml", NULL), -1);
    assert_non_null(strstr(err, "unknown format 'xml'"));
    assert_int_equal(parse(&w, &o, "bulkio", "errors", "ab", "--format",
                           "json", NULL), -1);
    assert_non_null(strstr(err, "allowed: ndjson, csv"));
    assert_int_equal(parse(&w, &o, "bulkio", "status", "../etc", NULL), -1);
    assert_string_equal(err, "'../etc' is no job id (or the start of one: "
                        "hex digits and dashes)");
    assert_int_equal(parse(&w, &o, "bulkio", "status", "097F", NULL), 0);
    assert_string_equal(o.job_id, "097F");
    assert_int_equal(parse(&w, &o, "bulkio", "download",
                           "097f5434-0000-4000-8000-0000000000001", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "download", NULL), -1);
    assert_string_equal(err, "download needs a job id");
    assert_int_equal(parse(&w, &o, "bulkio", "jobs", "--limit", "0", NULL),
                           -1);
    assert_int_equal(parse(&w, &o, "bulkio", "jobs", "--limit", "5x", NULL),
                           -1);
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "--filter",
                           "=v", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "--filter",
                           "role", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "status", "ab", "--job", NULL),
                           -1);
    assert_int_equal(parse(&w, &o, "bulkio", "status", "ab", "--no-wait",
                           NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "--url", "ftp://h", "jobs",
                           NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "--bogus", "jobs", NULL), -1);
    assert_string_equal(err, "unknown option --bogus");
    assert_int_equal(parse(&w, &o, "bulkio", "jobs", "--limit", NULL), -1);
    assert_string_equal(err, "option --limit needs a value");
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a",
                           "--poll-interval", "0", NULL), -1);
}

static void modes(void **state)
{
    cli_opts_t o;
    words_t w;
    const char *err = w.err;

    (void)state;
    /* none given: none sent, today's server sees today's request */
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           NULL), 0);
    assert_null(o.mode);
    assert_int_equal(o.max_errors, -1);
    assert_int_equal(o.dry_run, 0);
    assert_int_equal(o.atomic, 0);
    assert_int_equal(parse(&w, &o, "bulkio", "import", "--mode", "update",
                           "users", "a.csv", "--dry-run", "--max-errors",
                           "0", "--atomic", NULL), 0);
    assert_string_equal(o.mode, "update");
    assert_int_equal(o.max_errors, 0);
    assert_int_equal(o.dry_run, 1);
    assert_int_equal(o.atomic, 1);
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--mode", "upsert", "--max-errors", "250", NULL),
                           0);
    assert_string_equal(o.mode, "upsert");
    assert_int_equal(o.max_errors, 250);
    /* delete is import --mode delete */
    assert_int_equal(parse(&w, &o, "bulkio", "delete", "articles",
                           "gone.csv", "--dry-run", NULL), 0);
    assert_int_equal(o.dry_run, 1);
    assert_int_equal(o.cmd, CLI_CMD_IMPORT);
    assert_string_equal(o.mode, "delete");
    assert_string_equal(o.resource, "articles");
    assert_string_equal(o.source, "gone.csv");
    assert_int_equal(parse(&w, &o, "bulkio", "delete", "users", "a.csv",
                           "--mode", "delete", NULL), 0);
    assert_int_equal(parse(&w, &o, "bulkio", "delete", "users", "a.csv",
                           "--mode", "insert", NULL), -1);
    assert_string_equal(err, "delete is import --mode delete; no other "
                        "--mode goes with it");
    assert_int_equal(parse(&w, &o, "bulkio", "delete", "users", NULL), -1);
    assert_string_equal(err, "delete needs RESOURCE and FILE or URL");
    /* refused before a byte goes out, naming the allowed ones */
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--mode", "merge", NULL), -1);
    assert_string_equal(err, "unknown mode 'merge'; allowed: upsert, "
                        "insert, update, replace, delete");
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--mode", "", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--mode", "updat", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--mode", "UPSERT", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--max-errors", "-1", NULL), -1);
    assert_string_equal(err, "--max-errors wants a number from 0, not '-1'");
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--max-errors", "ten", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--max-errors", NULL), -1);
    assert_string_equal(err, "option --max-errors needs a value");
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "--mode",
                           "insert", NULL), -1);
    assert_string_equal(err, "--mode, --dry-run, --max-errors and --atomic "
                        "belong to import and delete");
    assert_int_equal(parse(&w, &o, "bulkio", "jobs", "--max-errors", "1",
                           NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "--dry-run",
                           NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "jobs", "--atomic", NULL), -1);
    assert_int_equal(cli_mode_ok("replace"), 0);
    assert_int_equal(cli_mode_ok("delete"), 0);
    assert_int_equal(cli_mode_ok("delete, x"), -1);
    assert_int_equal(cli_mode_ok("upsert, insert"), -1);
    assert_int_equal(cli_mode_ok("insert,"), -1);
    assert_int_equal(cli_mode_ok(NULL), -1);
}

static void dialects(void **state)
{
    cli_opts_t o;
    words_t w;
    const char *err = w.err;

    (void)state;
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--delimiter", ";", "--columns",
                           "E-Mail:email,Full Name:name", "--charset",
                           "windows-1252", NULL), 0);
    assert_string_equal(o.delimiter, ";");
    assert_string_equal(o.columns, "E-Mail:email,Full Name:name");
    assert_string_equal(o.charset, "windows-1252");
    /* none given: none sent */
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "b.tsv",
                           NULL), 0);
    assert_true(!o.delimiter && !o.columns && !o.charset);
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "--format",
                           "tsv", "--delimiter", "tab", "--include-deleted",
                           NULL), 0);
    assert_string_equal(o.format, "tsv");
    assert_int_equal(o.include_deleted, 1);
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "--columns",
                           "a:b", NULL), -1);
    assert_string_equal(err, "--columns and --charset belong to import");
    assert_int_equal(parse(&w, &o, "bulkio", "import", "users", "a.csv",
                           "--include-deleted", NULL), -1);
    assert_string_equal(err, "--include-deleted belongs to export");
    assert_int_equal(parse(&w, &o, "bulkio", "jobs", "--delimiter", ";",
                           NULL), -1);
    assert_string_equal(err, "--delimiter belongs to import and export");
    assert_int_equal(parse(&w, &o, "bulkio", "errors", "J", "--format",
                           "tsv", NULL), -1);
    assert_string_equal(cli_format_for(NULL, "people.TSV.gz"), "tsv");
}

static void help(void **state)
{
    cli_opts_t o;
    words_t w;

    (void)state;
    assert_int_equal(parse(&w, &o, "bulkio", "import", "--help", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_HELP);
    assert_string_equal(o.help_topic, "import");
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "-h", NULL),
                     0);
    assert_string_equal(o.help_topic, "export");
    assert_int_equal(parse(&w, &o, "bulkio", "--help", NULL), 0);
    assert_null(o.help_topic);
    assert_int_equal(parse(&w, &o, "bulkio", "help", "download", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_HELP);
    assert_string_equal(o.help_topic, "download");
    assert_int_equal(parse(&w, &o, "bulkio", "help", NULL), 0);
    assert_null(o.help_topic);
    assert_int_equal(parse(&w, &o, "bulkio", "help", "frobnicate", NULL), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "frobnicate", "--help", NULL),
                     -1);
    assert_int_equal(cli_help(NULL, "jobs"), 0);
    assert_int_equal(cli_help(NULL, "frobnicate"), -1);
    assert_int_equal(parse(&w, &o, "bulkio", "--version", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_VERSION);
}

static void formats(void **state)
{
    (void)state;
    assert_string_equal(cli_format_for(NULL, "dir/u.csv"), "csv");
    assert_string_equal(cli_format_for(NULL, "U.CSV.GZ"), "csv");
    assert_string_equal(cli_format_for(NULL, "a.ndjson.gz"), "ndjson");
    assert_string_equal(cli_format_for(NULL, "a.jsonl"), "ndjson");
    assert_string_equal(cli_format_for(NULL, "a.json"), "json");
    assert_null(cli_format_for(NULL, "a.gz"));
    assert_null(cli_format_for(NULL, "data"));
    assert_null(cli_format_for(NULL, "csv.d/data"));
    assert_string_equal(cli_format_for("json", "a.csv"), "json");
    assert_int_equal(cli_filter_ok("created_after=2024"), 0);
    assert_int_equal(cli_filter_ok("a-b=1"), -1);
}

/* The loopback decision: no name but localhost is resolved or trusted. */
static void loopback(void **state)
{
    static const struct {
        const char *url;
        const char *host;
        int loopback;
    } cases[] = {
        { "http://127.0.0.1:8080", "127.0.0.1", 1 },
        { "http://127.9.8.7/v1", "127.9.8.7", 1 },
        { "http://localhost", "localhost", 1 },
        { "http://LocalHost:80/", "LocalHost", 1 },
        { "http://[::1]:8080/api", "::1", 1 },
        { "http://[::ffff:127.0.0.1]", "::ffff:127.0.0.1", 1 },
        { "http://user:pw@127.0.0.1:1", "127.0.0.1", 1 },
        { "http://128.0.0.1", "128.0.0.1", 0 },
        { "http://10.0.0.1:8080", "10.0.0.1", 0 },
        { "http://0.0.0.0:8080", "0.0.0.0", 0 },
        { "http://127.1", "127.1", 0 },
        { "http://localhost.example.org", "localhost.example.org", 0 },
        { "http://localhost.", "localhost.", 0 },
        { "http://my.localhost", "my.localhost", 0 },
        { "http://[::2]", "::2", 0 },
        { "http://127.0.0.1@evil.example/", "evil.example", 0 },
        { "http://evil.example/?127.0.0.1", "evil.example", 0 },
        { "http://evil.example#@127.0.0.1", "evil.example", 0 },
        { "http://", "", 0 },
    };
    char host[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        assert_int_equal(cli_url_loopback(cases[i].url, host, sizeof(host)),
                         cases[i].loopback);
        assert_string_equal(host, cases[i].host);
    }
}

/* --force goes with -o */
static void force(void **state)
{
    cli_opts_t o;
    words_t w;

    (void)state;
    assert_int_equal(parse(&w, &o, "bulkio", "export", "users", "-o", "u",
                           NULL), 0);
    assert_int_equal(o.force, 0);
    assert_int_equal(parse(&w, &o, "bulkio", "--force", "errors", "ab",
                           "--output", "e.csv", NULL), 0);
    assert_int_equal(o.force, 1);
    assert_string_equal(o.output, "e.csv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(import_defaults, setup),
        cmocka_unit_test_setup(options_anywhere, setup),
        cmocka_unit_test_setup(environment, setup),
        cmocka_unit_test_setup(export_and_jobs, setup),
        cmocka_unit_test_setup(refused, setup),
        cmocka_unit_test_setup(modes, setup),
        cmocka_unit_test_setup(dialects, setup),
        cmocka_unit_test_setup(help, setup),
        cmocka_unit_test_setup(formats, setup),
        cmocka_unit_test_setup(loopback, setup),
        cmocka_unit_test_setup(force, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
