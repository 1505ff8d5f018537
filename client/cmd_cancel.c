/* bulkio cancel JOB: a running import stops at its next batch boundary, a
 * running export at its next chunk. */
#include <string.h>

#include "cli_job.h"

int cmd_cancel(cli_ctx_t *ctx)
{
    char path[256];
    cli_job_ref_t ref;
    json_object *doc;
    cli_req_t req;
    cli_resp_t resp;
    int rc, is_export;

    if ((rc = cli_job_resolve(ctx, "cancel", &ref))) {
        return rc;
    }
    is_export = !strcmp(ref.kind, "export");
    cli_job_path(path, sizeof(path), &ref, "import", NULL);
    memset(&req, 0, sizeof(req));
    req.method = "DELETE";
    req.path = path;
    req.timeout = 60;
    if (cli_request(ctx, &req, &resp, "cancel")) {
        return CLI_EXIT_ERROR;
    }
    if (resp.status != 200 && resp.status != 202) {
        rc = cli_http_error(ctx, "cancel", &resp);
        cli_resp_clear(&resp);
        return rc;
    }
    doc = resp.body ? json_tokener_parse(resp.body) : NULL;
    cli_resp_clear(&resp);
    if (ctx->opts.json) {
        cli_json_print(doc);
    }
    else if (!ctx->opts.quiet) {
        fprintf(stderr, "bulkio: %s job %s %s\n",
                is_export ? "export" : "import", ref.id,
                resp.status != 202 ? "canceled"
                : is_export ? "stops at its next chunk; its partial file is "
                              "removed (bulkio status shows when)"
                : "stops at its next batch boundary; the batches before "
                  "stay applied (bulkio status shows when)");
    }
    json_object_put(doc);
    return CLI_EXIT_OK;
}
