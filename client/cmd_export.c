/* bulkio export RESOURCE: streamed to -o FILE or standard output, or with
 * --job as an export job, waited for and downloaded (cli_output_export:
 * resumed with Range after an interruption) into a temporary file that
 * becomes -o FILE when whole. */
#include <stdlib.h>
#include <string.h>

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
    if (o->gzip) {
        json_object_object_add(body, "compression",
                               json_object_new_string("gzip"));
    }
    if (o->callback_url) {
        json_object_object_add(body, "callback_url",
                               json_object_new_string(o->callback_url));
    }
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
                                  cli_job_export_line, &rc))) {
        rc = cli_output_export(ctx, done);
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
