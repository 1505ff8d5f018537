/* bulkio errors JOB: every error of an import job, streamed to -o FILE or
 * standard output. */
#include "cli_output.h"

int cmd_errors(cli_ctx_t *ctx)
{
    char path[256];

    snprintf(path, sizeof(path), "/v1/imports/%s/errors", ctx->opts.job_id);
    if (ctx->opts.format) {
        cli_add_param(path, sizeof(path), "format", ctx->opts.format);
    }
    return cli_output_stream(ctx, path, "errors");
}
