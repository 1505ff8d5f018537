/* bulkio download JOB: the file of an existing export job (waited for
 * while it runs) into -o FILE or standard output, resumed after an
 * interruption. */
#include <string.h>

#include "cli_job.h"
#include "cli_output.h"

int cmd_download(cli_ctx_t *ctx)
{
    char path[256];
    cli_job_ref_t ref;
    json_object *doc, *done;
    int rc;

    if ((rc = cli_job_resolve(ctx, "download", &ref))) {
        return rc;
    }
    if (!strcmp(ref.kind, "import")) {
        cli_say(ctx, "download: %s is an import job; only exports have a "
                "file (bulkio errors has its errors)", ref.id);
        return CLI_EXIT_ERROR;
    }
    /* an -o FILE that would be refused is refused before any waiting */
    if ((rc = cli_output_check(ctx))) {
        return rc;
    }
    cli_job_path(path, sizeof(path), &ref, "export", NULL);
    if (!(doc = cli_get_json(ctx, path, "download", &rc, NULL))) {
        return rc;
    }
    if (!cli_job_final(cli_json_str(doc, "status"))) {
        done = cli_job_wait(ctx, "export", ref.id, cli_job_export_line, &rc);
        json_object_put(doc);
        if (!(doc = done)) {
            return rc;
        }
    }
    rc = cli_output_export(ctx, doc);
    json_object_put(doc);
    return rc;
}
