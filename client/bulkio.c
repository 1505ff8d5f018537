/* bulkio: the command-line client of mod_bulkio — main.
 *
 * main parses the command line into a context and runs the subcommand from
 * the table below; each subcommand lives in a file of its own (cmd_*.c).
 * Exit statuses: see cli.h and docs/client.md. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <curl/curl.h>

#include "cli_ctx.h"

static int cmd_help(cli_ctx_t *ctx)
{
    cli_help(stdout, ctx->opts.help_topic);
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
    { CLI_CMD_RESULTS, cmd_results, 1 },
    { CLI_CMD_JOBS,    cmd_jobs,    1 },
    { CLI_CMD_EXPORT,  cmd_export,  1 },
    { CLI_CMD_DOWNLOAD, cmd_download, 1 },
    { CLI_CMD_HELP,    cmd_help,    0 },
    { CLI_CMD_VERSION, cmd_version, 0 },
};

/* The exit status once standard output is flushed: a reader that went
 * away (bulkio errors J | head -1) is no error; another failure is. */
static int finish(cli_ctx_t *ctx, int rc)
{
    errno = 0;
    if (fflush(stdout) == EOF || ferror(stdout)) {
        if (errno == EPIPE) {
            return rc == CLI_EXIT_ERROR ? CLI_EXIT_OK : rc;
        }
        cli_say(ctx, "stdout: %s", errno ? strerror(errno) : "write error");
        return rc ? rc : CLI_EXIT_ERROR;
    }
    return rc;
}

int main(int argc, char **argv)
{
    cli_ctx_t ctx;
    char err[512];
    size_t i;
    int rc;

    /* a closed pipe is an EPIPE to handle, not a signal that kills */
    signal(SIGPIPE, SIG_IGN);
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
            return finish(&ctx, commands[i].run(&ctx));
        }
        if ((rc = cli_ctx_open(&ctx, argc, argv))) {
            return rc;
        }
        rc = commands[i].run(&ctx);
        cli_ctx_close(&ctx);
        return finish(&ctx, rc);
    }
    return CLI_EXIT_ERROR;
}
