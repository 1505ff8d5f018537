/* bulkio export RESOURCE: streamed to -o FILE or standard output, or with
 * --job as an export job, waited for and downloaded (resumed with Range
 * after an interruption) into a temporary file that becomes -o FILE
 * when whole. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_job.h"
#include "cli_output.h"

/* The key of a filter "k=v" (allocated); *value points at v. */
static char *filter_key(const char *kv, const char **value)
{
    const char *eq = strchr(kv, '=');

    *value = eq + 1;
    return strndup(kv, (size_t)(eq - kv));
}

/* The body of POST /v1/exports. */
static json_object *job_body(const cli_opts_t *o)
{
    json_object *body = json_object_new_object(), *filters, *fields;
    char *copy, *tok, *save, *key;
    const char *value;
    int i;

    json_object_object_add(body, "resource",
                           json_object_new_string(o->resource));
    json_object_object_add(body, "format", json_object_new_string(
                               o->format ? o->format : "ndjson"));
    filters = json_object_new_object();
    for (i = 0; i < o->nfilters; ++i) {
        key = filter_key(o->filters[i], &value);
        json_object_object_add(filters, key, json_object_new_string(value));
        free(key);
    }
    json_object_object_add(body, "filters", filters);
    if (o->fields) {
        fields = json_object_new_array();
        copy = strdup(o->fields);
        for (tok = strtok_r(copy, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            json_object_array_add(fields, json_object_new_string(tok));
        }
        free(copy);
        json_object_object_add(body, "fields", fields);
    }
    if (o->delimiter) {
        json_object_object_add(body, "delimiter",
                               json_object_new_string(o->delimiter));
    }
    if (o->include_deleted) {
        json_object_object_add(body, "include_deleted",
                               json_object_new_boolean(1));
    }
    return body;
}

/* One attempt's outcome that ends the download: an HTTP error, Ctrl-C, a
 * transfer error not worth another try. @return the exit status, or -1
 * to try again (have is reset when the server cannot resume) */
static int download_failed(cli_ctx_t *ctx, FILE *out, cli_resp_t *resp,
                           int rc, int attempt, curl_off_t *have)
{
    if (rc == 0) {
        return cli_http_error(ctx, "download", resp);
    }
    if (cli_interrupted(ctx)) {
        cli_say(ctx, "download interrupted; the file stays on the server "
                "until it expires");
        return CLI_EXIT_INTERRUPT;
    }
    if (resp->code == CURLE_RANGE_ERROR && out != stdout) {
        /* the server ignored Range: start over */
        cli_say(ctx, "download: the server cannot resume; starting over");
        if (fflush(out) || ftruncate(fileno(out), 0)
            || fseeko(out, 0, SEEK_SET)) {
            cli_say(ctx, "download: cannot start over: %s", strerror(errno));
            return CLI_EXIT_ERROR;
        }
        *have = 0;
    }
    else if (!cli_http_retryable(resp->code)
             || attempt >= ctx->opts.retries) {
        cli_say(ctx, "download: %s after %lld bytes", resp->error,
                (long long)*have);
        return CLI_EXIT_ERROR;
    }
    return -1;
}

/* Download a finished export job's file, resuming with Range after an
 * interruption, and check its size. */
static int download_job(cli_ctx_t *ctx, const char *url, int64_t size)
{
    cli_xfer_t xfer;
    cli_req_t req;
    cli_resp_t resp;
    cli_output_t out;
    curl_off_t have = 0;
    double delay = 0.5, t0 = cli_now();
    int attempt, resumed = 0, rc;

    if ((rc = cli_output_open(ctx, &out))) {
        return rc;
    }
    for (attempt = 0; ; ++attempt) {
        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.path = cli_link_path(url);
        req.sink = out.f;
        req.resume_from = have;
        cli_xfer_start(&xfer, ctx, &req, "download", NULL);
        rc = cli_http_do(&ctx->http, &req, &resp);
        have += resp.received;
        if (rc == 0 && (resp.status == 200 || resp.status == 206)) {
            cli_resp_clear(&resp);
            break;
        }
        rc = download_failed(ctx, out.f, &resp, rc, attempt, &have);
        if (rc >= 0) {
            cli_resp_clear(&resp);
            cli_output_close(ctx, &out, 1);
            return rc;
        }
        cli_say(ctx, "download: %s after %lld bytes; resuming in %.1f s",
                resp.error, (long long)have, delay);
        cli_resp_clear(&resp);
        ++resumed;
        cli_nap(ctx, delay);
        delay *= 2;
    }
    cli_progress_end(&ctx->progress);
    if (size >= 0 && have != (curl_off_t)size) {
        cli_say(ctx, "download: %lld bytes received, the export has %lld",
                (long long)have, (long long)size);
        cli_output_close(ctx, &out, 1);
        return CLI_EXIT_ERROR;
    }
    if ((rc = cli_output_close(ctx, &out, 0))) {
        return rc;
    }
    cli_output_done(ctx, "download", (double)have, cli_now() - t0, resumed);
    return CLI_EXIT_OK;
}

/* The job line while an export runs. */
static void job_line(char *buf, size_t len, const char *id, json_object *doc)
{
    char n[32];

    cli_fmt_count(n, sizeof(n), cli_json_int(doc, "totalRecords"));
    snprintf(buf, len, "export job %.8s %-9s %s records", id,
             cli_json_str_or(doc, "status", "?"), n);
}

/* A finished export job: its file downloaded, or why there is none. */
static int export_done(cli_ctx_t *ctx, json_object *doc)
{
    const char *status = cli_json_str(doc, "status"), *reason, *out;
    char *url;
    int rc;

    if (strcmp(status, "completed")) {
        reason = cli_json_str(doc, "reason");
        cli_say(ctx, "export job %s %s%s%s", cli_json_str(doc, "job_id"),
                status, reason ? ": " : "", reason ? reason : "");
        if (ctx->opts.json) {
            cli_json_print(doc);
        }
        return CLI_EXIT_JOB;
    }
    if (!cli_json_str(doc, "downloadUrl")) {
        cli_say(ctx, "export: the job has no downloadUrl (expired?)");
        return CLI_EXIT_ERROR;
    }
    url = strdup(cli_json_str(doc, "downloadUrl"));
    rc = download_job(ctx, url,
                      (int64_t)cli_json_num(doc, "fileSize", -1));
    free(url);
    out = ctx->opts.output;
    if (ctx->opts.json && !rc && out && strcmp(out, "-")) {
        cli_json_print(doc);
    }
    return rc;
}

static int export_job(cli_ctx_t *ctx)
{
    char key[37];
    json_object *body, *doc, *done;
    cli_req_t req;
    cli_resp_t resp;
    int rc;

    /* an -o FILE that would be refused is refused before the job */
    if (!ctx->opts.no_wait && (rc = cli_output_check(ctx))) {
        return rc;
    }
    body = job_body(&ctx->opts);
    memset(&req, 0, sizeof(req));
    req.idempotency_key = cli_job_key(ctx, key);
    req.method = "POST";
    req.path = "/v1/exports";
    req.content_type = "application/json";
    req.body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    req.timeout = 60;
    rc = cli_request(ctx, &req, &resp, "export");
    json_object_put(body);
    if (rc) {
        return cli_interrupted(ctx) ? CLI_EXIT_INTERRUPT : CLI_EXIT_ERROR;
    }
    if (!(doc = cli_job_accepted(ctx, &resp, "export", &rc))) {
        return rc;
    }
    if (ctx->opts.no_wait) {
        rc = cli_job_print(ctx, doc);
    }
    else if ((done = cli_job_wait(ctx, "export", cli_json_str(doc, "job_id"),
                                  job_line, &rc))) {
        rc = export_done(ctx, done);
        json_object_put(done);
    }
    json_object_put(doc);
    return rc;
}

int cmd_export(cli_ctx_t *ctx)
{
    const cli_opts_t *o = &ctx->opts;
    char path[4096], *key;
    const char *value;
    int i;

    if (o->as_job) {
        return export_job(ctx);
    }
    snprintf(path, sizeof(path), "/v1/exports?resource=%s", o->resource);
    if (o->format) {
        cli_add_param(path, sizeof(path), "format", o->format);
    }
    if (o->fields) {
        cli_add_param(path, sizeof(path), "fields", o->fields);
    }
    if (o->delimiter) {
        cli_add_param(path, sizeof(path), "delimiter", o->delimiter);
    }
    if (o->include_deleted) {
        cli_add_param(path, sizeof(path), "include_deleted", "true");
    }
    for (i = 0; i < o->nfilters; ++i) {
        key = filter_key(o->filters[i], &value);
        cli_add_param(path, sizeof(path), key, value);
        free(key);
    }
    return cli_output_stream(ctx, path, "export");
}
