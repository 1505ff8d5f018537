/* bulkio: the command-line client of mod_bulkio — main.
 *
 * main parses the command line into a context and runs the subcommand from
 * the table below; each subcommand lives in a file of its own (cmd_*.c).
 * Exit statuses: see cli.h and docs/client.md. */
#include <string.h>

#include <curl/curl.h>

#include "cli_ctx.h"

static int cmd_help(cli_ctx_t *ctx)
{
    (void)ctx;
    cli_usage(stdout);
    return CLI_EXIT_OK;
}

static int cmd_version(cli_ctx_t *ctx)
{
    (void)ctx;
    printf("bulkio %s (%s)\n", BULKIO_CLIENT_VERSION, curl_version());
    return CLI_EXIT_OK;
}

static const struct {
    cli_cmd_e cmd;
    cli_cmd_fn *run;
    int server;                 /* talks to the server: token, libcurl */
} commands[] = {
    { CLI_CMD_IMPORT,  cmd_import,  1 },
    { CLI_CMD_STATUS,  cmd_status,  1 },
    { CLI_CMD_CANCEL,  cmd_cancel,  1 },
    { CLI_CMD_ERRORS,  cmd_errors,  1 },
    { CLI_CMD_JOBS,    cmd_jobs,    1 },
    { CLI_CMD_EXPORT,  cmd_export,  1 },
    { CLI_CMD_HELP,    cmd_help,    0 },
    { CLI_CMD_VERSION, cmd_version, 0 },
};

int main(int argc, char **argv)
{
    cli_ctx_t ctx;
    char err[512];
    size_t i;
    int rc;

    cli_ctx_init(&ctx);
    if (cli_parse(argc, argv, &ctx.opts, err, sizeof(err))) {
        fprintf(stderr, "bulkio: %s (bulkio --help shows the usage)\n", err);
        return CLI_EXIT_ERROR;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); ++i) {
        if (commands[i].cmd != ctx.opts.cmd) {
            continue;
        }
        if (!commands[i].server) {
            return commands[i].run(&ctx);
        }
        if ((rc = cli_ctx_open(&ctx, argc, argv))) {
            return rc;
        }
        rc = commands[i].run(&ctx);
        cli_ctx_close(&ctx);
        return rc;
    }
    return CLI_EXIT_ERROR;
}
