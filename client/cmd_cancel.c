/* bulkio cancel JOB: a running import stops at its next batch boundary. */
#include <string.h>

#include "cli_request.h"

int cmd_cancel(cli_ctx_t *ctx)
{
    char path[256];
    json_object *doc;
    cli_req_t req;
    cli_resp_t resp;
    int rc;

    snprintf(path, sizeof(path), "/v1/imports/%s", ctx->opts.job_id);
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
        fprintf(stderr, "bulkio: job %s %s\n", ctx->opts.job_id,
                resp.status == 202 ? "stops at its next batch boundary "
                                     "(bulkio status shows when)"
                                   : "canceled");
    }
    json_object_put(doc);
    return CLI_EXIT_OK;
}
