/* bulkio import RESOURCE FILE|URL: upload, wait for the job, summary.
 *
 * A file is streamed from disk and sent with an Idempotency-Key (a random
 * UUIDv4 unless --idempotency-key), so a retry after a network error never
 * makes a second job. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_job.h"

/* Counting the errors of a job by type, from its NDJSON errors stream. */
typedef struct {
    cli_summary_t *sum;
    char line[256];             /* the head of the current line */
    size_t len;
    char names[8][32];
} error_count_t;

static void count_line(error_count_t *ec)
{
    /* errorType precedes recordData; inside recordData every quote is
     * escaped, so the first unescaped match is the field */
    const char *p = strstr(ec->line, "\"errorType\":");
    size_t n;
    int i;

    if (!p) {
        return;
    }
    p += strlen("\"errorType\":");
    while (*p == ' ') {
        ++p;
    }
    if (*p++ != '"') {
        return;
    }
    n = strcspn(p, "\"");
    if (n >= sizeof(ec->names[0])) {
        n = sizeof(ec->names[0]) - 1;
    }
    for (i = 0; i < ec->sum->ntypes; ++i) {
        if (strlen(ec->sum->types[i]) == n
            && !strncmp(ec->sum->types[i], p, n)) {
            ec->sum->type_counts[i]++;
            return;
        }
    }
    if (ec->sum->ntypes < 8) {
        i = ec->sum->ntypes;
        memcpy(ec->names[i], p, n);
        ec->names[i][n] = '\0';
        cli_summary_add(ec->sum, ec->names[i], 1);
    }
}

static ssize_t count_write(void *cookie, const char *buf, size_t size)
{
    error_count_t *ec = cookie;
    size_t i;

    for (i = 0; i < size; ++i) {
        if (buf[i] == '\n') {
            ec->line[ec->len] = '\0';
            count_line(ec);
            ec->len = 0;
        }
        else if (ec->len < sizeof(ec->line) - 1) {
            ec->line[ec->len++] = buf[i];
        }
    }
    return (ssize_t)size;
}

/* Failed records by error type (the status document holds only the
 * first 100 errors). */
static void count_errors(cli_ctx_t *ctx, const char *id, cli_summary_t *sum,
                         error_count_t *ec)
{
    cookie_io_functions_t io = { NULL, count_write, NULL, NULL };
    char path[256];
    cli_req_t req;
    cli_resp_t resp;
    FILE *f;

    memset(ec, 0, sizeof(*ec));
    ec->sum = sum;
    if (!(f = fopencookie(ec, "w", io))) {
        return;
    }
    snprintf(path, sizeof(path), "/v1/imports/%s/errors", id);
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.path = path;
    req.sink = f;
    if (cli_request(ctx, &req, &resp, "errors") == 0 && resp.status != 200) {
        sum->ntypes = 0;
    }
    cli_resp_clear(&resp);
    fclose(f);
}

/* Failed records by error type from the document's errorCounts, in the
 * order of the error classes. @return 0 when the server sends none */
static int counts_from_doc(json_object *doc, cli_summary_t *sum)
{
    static const char *const types[] = {
        "PARSE_ERROR", "VALIDATION_ERROR", "FOREIGN_KEY_ERROR",
        "DUPLICATE_ERROR", "NOT_FOUND_ERROR"
    };
    json_object *counts = cli_json_obj(doc, "errorCounts");
    size_t i;

    for (i = 0; counts && i < sizeof(types) / sizeof(types[0]); ++i) {
        if (cli_json_int(counts, types[i]) > 0) {
            cli_summary_add(sum, types[i], cli_json_int(counts, types[i]));
        }
    }
    return counts != NULL;
}

/* The job line while an import runs. */
static void job_line(char *buf, size_t len, const char *id, json_object *doc)
{
    json_object *pg = cli_json_obj(doc, "progress");
    cli_job_progress_t jp;

    memset(&jp, 0, sizeof(jp));
    jp.job_id = id;
    jp.status = cli_json_str(doc, "status");
    jp.processed = cli_json_int(pg, "processedRecords");
    jp.errors = cli_json_int(doc, "errorCount");
    jp.percent = pg ? cli_json_num(pg, "percent", -1) : -1;
    jp.rate = cli_json_num(pg, "rowsPerSecond", 0);
    jp.eta = jp.status && !strcmp(jp.status, "running")
             ? cli_json_num(pg, "etaSeconds", -1) : -1;
    if (jp.status && !strcmp(jp.status, "completed")) {
        jp.processed = cli_json_int(doc, "totalRecords");
        jp.eta = 0;
    }
    cli_fmt_job(buf, len, &jp);
}

/* The summary line of a finished import. */
static void summary(cli_ctx_t *ctx, const char *id, json_object *doc)
{
    char line[512];
    cli_summary_t sum;
    error_count_t ec;
    double started, done;

    memset(&sum, 0, sizeof(sum));
    sum.status = cli_json_str(doc, "status");
    sum.reason = cli_json_str(doc, "reason");
    sum.total = cli_json_int(doc, "totalRecords");
    sum.succeeded = cli_json_int(doc, "successCount");
    sum.failed = cli_json_int(doc, "errorCount");
    sum.has_actions = cli_job_actions(doc, sum.actions);
    sum.mode = cli_json_str(doc, "mode");
    sum.dry_run = cli_json_bool(doc, "dryRun");
    if (sum.failed && !counts_from_doc(doc, &sum)) {
        count_errors(ctx, id, &sum, &ec);
    }
    started = cli_json_time(doc, "startedAt");
    done = cli_json_time(doc, "completedAt");
    sum.duration = started > 0 && done >= started ? done - started
                                                  : cli_now() - ctx->started;
    cli_fmt_summary(line, sizeof(line), &sum);
    fprintf(stderr, "%s\n", line);
}

static int wait_import(cli_ctx_t *ctx, const char *id)
{
    json_object *doc;
    int rc;

    if (!(doc = cli_job_wait(ctx, "import", id, job_line, &rc))) {
        if (!cli_interrupted(ctx)) {
            cli_say(ctx, "the job %s may still be running: bulkio status %s",
                    id, id);
        }
        return rc;
    }
    rc = cli_job_outcome(doc, 1);
    if (!ctx->opts.quiet) {
        summary(ctx, id, doc);
    }
    if (ctx->opts.json) {
        cli_json_print(doc);
    }
    json_object_put(doc);
    return rc;
}

/* --mode, --dry-run, --max-errors, --atomic and --callback-url as query
 * parameters, each only when given (a server before modes knows none) */
static void add_mode_params(const cli_opts_t *o, char *path, size_t len)
{
    char n[32];

    if (o->mode) {
        cli_add_param(path, len, "mode", o->mode);
    }
    if (o->callback_url) {
        cli_add_param(path, len, "callback_url", o->callback_url);
    }
    if (o->max_errors >= 0) {
        snprintf(n, sizeof(n), "%ld", o->max_errors);
        cli_add_param(path, len, "max_errors", n);
    }
    if (o->dry_run) {
        cli_add_param(path, len, "dry_run", "true");
    }
    if (o->atomic) {
        cli_add_param(path, len, "atomic", "true");
    }
}

/* --delimiter, --columns and --charset as query parameters, each only
 * when given (a server before dialects knows none) */
static void add_dialect_params(const cli_opts_t *o, char *path, size_t len)
{
    if (o->delimiter) {
        cli_add_param(path, len, "delimiter", o->delimiter);
    }
    if (o->columns) {
        cli_add_param(path, len, "columns", o->columns);
    }
    if (o->charset) {
        cli_add_param(path, len, "charset", o->charset);
    }
}

/* Open the file to upload into req: the bytes as they are on disk (gzip
 * too: the server inflates); a JSON array as octet-stream, since
 * application/json with an object means a URL import.
 * @return the file, or NULL (reported) */
static FILE *open_upload(cli_ctx_t *ctx, cli_req_t *req, const char *format)
{
    const char *source = ctx->opts.source;
    struct stat st;
    FILE *f;

    if (!(f = fopen(source, "rb")) || fstat(fileno(f), &st)) {
        cli_say(ctx, "%s: %s", source, strerror(errno));
        if (f) {
            fclose(f);
        }
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        cli_say(ctx, "%s: not a regular file", source);
        fclose(f);
        return NULL;
    }
    req->upload = f;
    req->upload_size = (curl_off_t)st.st_size;
    req->content_type = format && !strcmp(format, "ndjson")
                        ? "application/x-ndjson"
                        : format && !strcmp(format, "csv") ? "text/csv"
                        : format && !strcmp(format, "tsv")
                        ? "text/tab-separated-values"
                        : "application/octet-stream";
    return f;
}

/* The upload made no job: say how to try again. */
static int upload_failed(cli_ctx_t *ctx, const char *key)
{
    const char *given = ctx->opts.idempotency_key;

    if (cli_interrupted(ctx)) {
        cli_say(ctx, "interrupted during the upload; no job was made (run "
                "the same command again%s%s)", given ? "" : " with "
                "--idempotency-key ", given ? "" : key);
        return CLI_EXIT_INTERRUPT;
    }
    cli_say(ctx, "no job was made; run the command again with "
            "--idempotency-key %s to be sure of one job at most",
            given ? given : key);
    return CLI_EXIT_ERROR;
}

int cmd_import(cli_ctx_t *ctx)
{
    const cli_opts_t *o = &ctx->opts;
    char path[8192], key[37], line[512];
    const char *format, *name, *id;
    json_object *doc, *body = NULL;
    cli_xfer_t xfer;
    cli_req_t req;
    cli_resp_t resp;
    FILE *f = NULL;
    int rc, is_url;

    memset(&req, 0, sizeof(req));
    is_url = !strncmp(o->source, "http://", 7)
             || !strncmp(o->source, "https://", 8);
    format = is_url ? o->format : cli_format_for(o->format, o->source);
    snprintf(path, sizeof(path), "/v1/imports?resource=%s", o->resource);
    if (format) {
        cli_add_param(path, sizeof(path), "format", format);
    }
    add_mode_params(o, path, sizeof(path));
    add_dialect_params(o, path, sizeof(path));
    req.idempotency_key = cli_job_key(ctx, key);
    req.method = "POST";
    req.path = path;
    name = strrchr(o->source, '/');
    name = name && !is_url ? name + 1 : o->source;
    if (is_url) {
        body = json_object_new_object();
        json_object_object_add(body, "url", json_object_new_string(o->source));
        req.body = json_object_to_json_string_ext(
                       body, JSON_C_TO_STRING_PLAIN
                             | JSON_C_TO_STRING_NOSLASHESCAPE);
        req.content_type = "application/json";
        req.timeout = 60;
    }
    else if ((f = open_upload(ctx, &req, format))) {
        cli_xfer_start(&xfer, ctx, &req, "upload", name);
    }
    else {
        return CLI_EXIT_ERROR;
    }
    rc = cli_request(ctx, &req, &resp, "upload");
    if (f) {
        fclose(f);
    }
    json_object_put(body);
    if (rc) {
        return upload_failed(ctx, key);
    }
    if (!(doc = cli_job_accepted(ctx, &resp, "upload", &rc))) {
        return rc;
    }
    id = cli_json_str(doc, "job_id");
    if (f) {
        /* the upload's last line, whole, stays above the job's */
        cli_fmt_upload(line, sizeof(line), name, (double)req.upload_size,
                       (double)req.upload_size, resp.seconds > 0
                       ? (double)req.upload_size / resp.seconds : 0.0);
        cli_progress_show(&ctx->progress, line, cli_now(), 1);
        cli_progress_end(&ctx->progress);
    }
    if (!o->quiet && !o->no_wait && !ctx->progress.tty) {
        fprintf(stderr, "bulkio: job %s accepted\n", id);
    }
    rc = o->no_wait ? cli_job_print(ctx, doc) : wait_import(ctx, id);
    json_object_put(doc);
    return rc;
}
