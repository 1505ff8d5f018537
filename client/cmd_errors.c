/* bulkio errors JOB: every error of an import job, streamed to -o FILE or
 * standard output. */
#include "cli_job.h"

int cmd_errors(cli_ctx_t *ctx)
{
    return cli_job_report(ctx, "errors");
}
