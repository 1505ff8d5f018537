/* bulkio results JOB: what became of each record of an ended import job
 * (its row's id, its action), streamed to -o FILE or standard output. */
#include "cli_job.h"

int cmd_results(cli_ctx_t *ctx)
{
    return cli_job_report(ctx, "results");
}
