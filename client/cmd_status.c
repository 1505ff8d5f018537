/* bulkio status JOB: an import or export job, readable or as JSON; the
 * exit status as import gives it when the job has ended. */
#include <inttypes.h>
#include <string.h>

#include "cli_job.h"

/* The lines both kinds of job begin with. */
static void show_head(json_object *doc, const char *kind)
{
    const char *reason = cli_json_str(doc, "reason");

    printf("job       %s (%s)\n", cli_json_str(doc, "job_id"), kind);
    printf("status    %s%s%s\n", cli_json_str(doc, "status"),
           reason ? ": " : "", reason ? reason : "");
    printf("resource  %s (%s)\n", cli_json_str(doc, "resource"),
           cli_json_str_or(doc, "format", "?"));
    if (cli_json_str(doc, "source")) {
        printf("source    %s\n", cli_json_str(doc, "source"));
    }
    if (cli_json_str(doc, "createdBy")) {
        printf("by        %s\n", cli_json_str(doc, "createdBy"));
    }
}

/* "created   2026-12-02T10:00:00Z", or "-" */
static void show_time(json_object *doc, const char *label, const char *key)
{
    printf("%-9s %s\n", label, cli_json_str_or(doc, key, "-"));
}

/* How many of the document's errors status lists. */
#define ERRORS_SHOWN 10

static void show_errors(json_object *doc)
{
    json_object *errs = cli_json_arr(doc, "errors"), *e;
    size_t i, n = errs ? json_object_array_length(errs) : 0;
    int64_t all = cli_json_int(doc, "errorCount");
    char a[32];

    if (!n) {
        return;
    }
    if (n > ERRORS_SHOWN) {
        n = ERRORS_SHOWN;
    }
    cli_fmt_count(a, sizeof(a), all > (int64_t)n ? all : (int64_t)n);
    if (all > (int64_t)n) {
        printf("errors    the first %zu of %s (all: bulkio errors %s)\n", n,
               a, cli_json_str(doc, "job_id"));
    }
    else {
        printf("errors    %s (also: bulkio errors %s)\n", a,
               cli_json_str(doc, "job_id"));
    }
    for (i = 0; i < n; ++i) {
        e = json_object_array_get_idx(errs, i);
        printf("  line %" PRId64 " %s%s%s: %s\n", cli_json_int(e, "line"),
               cli_json_str(e, "errorType"),
               cli_json_str(e, "field") ? " " : "",
               cli_json_str_or(e, "field", ""),
               cli_json_str(e, "errorMessage"));
    }
}

/* "mode      update, dry run: nothing was changed, atomic, max errors 5"
 * when the server names the job's mode */
static void show_mode(json_object *doc)
{
    const char *mode = cli_json_str(doc, "mode");
    double max = cli_json_num(doc, "maxErrors", -1);
    char m[48] = "";

    if (!mode) {
        return;
    }
    if (max >= 0) {
        snprintf(m, sizeof(m), ", max errors %.0f", max);
    }
    printf("mode      %s%s%s%s\n", mode, cli_json_bool(doc, "dryRun")
           ? ", dry run: nothing was changed" : "",
           cli_json_bool(doc, "atomic") ? ", atomic" : "", m);
}

static void show_import(json_object *doc)
{
    json_object *pg = cli_json_obj(doc, "progress");
    char a[32], b[32], c[32], x[32], y[32], acts[160] = "";
    int64_t counts[CLI_NACTIONS];

    show_head(doc, "import");
    show_mode(doc);
    cli_fmt_count(a, sizeof(a), cli_json_int(doc, "totalRecords"));
    cli_fmt_count(b, sizeof(b), cli_json_int(doc, "successCount"));
    cli_fmt_count(c, sizeof(c), cli_json_int(doc, "errorCount"));
    if (cli_job_actions(doc, counts)) {
        cli_fmt_actions(acts, sizeof(acts), counts);
    }
    printf("records   %s total, %s succeeded%s%s%s, %s failed\n", a, b,
           *acts ? " (" : "", acts, *acts ? ")" : "", c);
    if (pg) {
        cli_fmt_count(a, sizeof(a), cli_json_int(pg, "processedRecords"));
        cli_fmt_bytes(x, sizeof(x),
                      (double)cli_json_int(pg, "bytesProcessed"));
        cli_fmt_bytes(y, sizeof(y), (double)cli_json_int(pg, "bytesTotal"));
        cli_fmt_count(b, sizeof(b), cli_json_int(pg, "rowsPerSecond"));
        printf("progress  %.1f%%, %s records, %s of %s, %s rows/s\n",
               cli_json_num(pg, "percent", 0), a, x, y, b);
    }
    show_time(doc, "created", "createdAt");
    show_time(doc, "started", "startedAt");
    show_time(doc, "completed", "completedAt");
    show_errors(doc);
}

static void show_export(json_object *doc)
{
    char a[32], x[32];

    show_head(doc, "export");
    cli_fmt_count(a, sizeof(a), cli_json_int(doc, "totalRecords"));
    printf("records   %s\n", a);
    if (cli_json_str(doc, "downloadUrl")) {
        cli_fmt_bytes(x, sizeof(x), (double)cli_json_int(doc, "fileSize"));
        printf("file      %s (%s), expires %s\n",
               cli_json_str(doc, "downloadUrl"), x,
               cli_json_str_or(doc, "expiresAt", "-"));
    }
    show_time(doc, "created", "createdAt");
    show_time(doc, "completed", "completedAt");
}

int cmd_status(cli_ctx_t *ctx)
{
    char path[256];
    cli_job_ref_t ref;
    json_object *doc;
    long status = 0;
    int rc, is_export;

    if ((rc = cli_job_resolve(ctx, "status", &ref))) {
        return rc;
    }
    is_export = !strcmp(ref.kind, "export");
    cli_job_path(path, sizeof(path), &ref, "import", NULL);
    doc = cli_get_json(ctx, path, "status", &rc, *ref.kind ? NULL : &status);
    if (!doc && status == 404) {
        /* a server that does not tell the kind: perhaps an export job */
        snprintf(path, sizeof(path), "/v1/exports/%s", ref.id);
        doc = cli_get_json(ctx, path, "status", &rc, NULL);
        is_export = 1;
    }
    if (!doc) {
        return rc;
    }
    if (ctx->opts.json) {
        cli_json_print(doc);
    }
    else if (is_export) {
        show_export(doc);
    }
    else {
        show_import(doc);
    }
    /* a finished job's outcome, as import gives it */
    rc = cli_job_outcome(doc, !is_export);
    json_object_put(doc);
    return rc;
}
