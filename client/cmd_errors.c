/* bulkio errors JOB: every error of an import job, streamed to -o FILE or
 * standard output. */
#include <string.h>

#include "cli_job.h"
#include "cli_output.h"

int cmd_errors(cli_ctx_t *ctx)
{
    char path[256];
    cli_job_ref_t ref;
    int rc;

    /* an -o FILE that would be refused is refused first */
    if ((rc = cli_output_check(ctx)) || (rc = cli_job_resolve(ctx, "errors",
                                                               &ref))) {
        return rc;
    }
    if (!strcmp(ref.kind, "export")) {
        cli_say(ctx, "errors: %s is an export job; only imports have "
                "errors", ref.id);
        return CLI_EXIT_ERROR;
    }
    cli_job_path(path, sizeof(path), &ref, "import", "/errors");
    if (ctx->opts.format) {
        cli_add_param(path, sizeof(path), "format", ctx->opts.format);
    }
    return cli_output_stream(ctx, path, "errors");
}
