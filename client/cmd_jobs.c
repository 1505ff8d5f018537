/* bulkio jobs: the import and export jobs in one list, newest first
 * (GET /v1/jobs), following the server's next links; a table, or one
 * JSON array with --json. */
#include <string.h>

#include "cli_request.h"

#define ROW "%-6s  %-36s  %-9s  %-8s  %-6s  %12s  %12s  %s\n"

/* One row of the table, or the item added to all. */
static void list_item(json_object *it, json_object *all)
{
    const char *kind = cli_json_str_or(it, "kind", "?");
    char n[32], f[32] = "-";

    if (all) {
        json_object_array_add(all, json_object_get(it));
        return;
    }
    cli_fmt_count(n, sizeof(n), cli_json_int(it, "totalRecords"));
    if (!strcmp(kind, "import")) {
        cli_fmt_count(f, sizeof(f), cli_json_int(it, "errorCount"));
    }
    printf(ROW, kind, cli_json_str(it, "job_id"), cli_json_str(it, "status"),
           cli_json_str(it, "resource"), cli_json_str_or(it, "format", "-"),
           n, f, cli_json_str_or(it, "createdAt", "-"));
}

static int list_jobs(cli_ctx_t *ctx, json_object *all)
{
    const cli_opts_t *o = &ctx->opts;
    char path[2048], a[32];
    json_object *doc, *items;
    const char *next;
    long shown = 0;
    size_t i, n;
    int rc;

    snprintf(path, sizeof(path), "/v1/jobs");
    if (o->kind) {
        cli_add_param(path, sizeof(path), "kind", o->kind);
    }
    if (o->status) {
        cli_add_param(path, sizeof(path), "status", o->status);
    }
    if (o->resource) {
        cli_add_param(path, sizeof(path), "resource", o->resource);
    }
    if (o->limit) {
        snprintf(a, sizeof(a), "%ld", o->limit > 1000 ? 1000 : o->limit);
        cli_add_param(path, sizeof(path), "limit", a);
    }
    for (;;) {
        if (!(doc = cli_get_json(ctx, path, "jobs", &rc, NULL))) {
            return rc;
        }
        if (!(items = cli_json_arr(doc, "items"))) {
            cli_say(ctx, "jobs: the answer holds no items");
            json_object_put(doc);
            return CLI_EXIT_ERROR;
        }
        n = json_object_array_length(items);
        for (i = 0; i < n && (!o->limit || shown < o->limit); ++i, ++shown) {
            list_item(json_object_array_get_idx(items, i), all);
        }
        next = cli_json_str(doc, "next");
        if (!next || !*next || (o->limit && shown >= o->limit)) {
            json_object_put(doc);
            return CLI_EXIT_OK;
        }
        snprintf(path, sizeof(path), "%s", cli_link_path(next));
        json_object_put(doc);
    }
}

int cmd_jobs(cli_ctx_t *ctx)
{
    json_object *all = ctx->opts.json ? json_object_new_array() : NULL;
    int rc;

    if (!all) {
        printf(ROW, "KIND", "JOB", "STATUS", "RESOURCE", "FORMAT", "RECORDS",
               "FAILED", "CREATED");
    }
    rc = list_jobs(ctx, all);
    if (all) {
        if (!rc) {
            cli_json_print(all);
        }
        json_object_put(all);
    }
    return rc;
}
