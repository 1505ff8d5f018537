/* bulkio: the context every subcommand runs in, and the subcommands.
 *
 * main (bulkio.c) fills one cli_ctx_t and passes it to the subcommand;
 * nothing in the client is kept in a global. */
#ifndef BULKIO_CLI_CTX_H
#define BULKIO_CLI_CTX_H

#include "cli.h"
#include "cli_http.h"

#define BULKIO_CLIENT_VERSION BULKIO_VERSION   /* make: debian/changelog */

typedef struct {
    cli_opts_t opts;            /* the command line and the environment */
    cli_http_t http;            /* the server, the token, the user agent */
    cli_progress_t progress;    /* the progress line on standard error */
    double started;             /* when bulkio started */
    int interrupted;            /* Ctrl-C was seen (see cli_interrupted) */
} cli_ctx_t;

/** A subcommand. @return the exit status */
typedef int cli_cmd_fn(cli_ctx_t *ctx);

/** import RESOURCE FILE|URL: upload, wait, summary (cmd_import.c) */
int cmd_import(cli_ctx_t *ctx);
/** status JOB (cmd_status.c) */
int cmd_status(cli_ctx_t *ctx);
/** cancel JOB (cmd_cancel.c) */
int cmd_cancel(cli_ctx_t *ctx);
/** errors JOB (cmd_errors.c) */
int cmd_errors(cli_ctx_t *ctx);
/** results JOB (cmd_results.c) */
int cmd_results(cli_ctx_t *ctx);
/** jobs (cmd_jobs.c) */
int cmd_jobs(cli_ctx_t *ctx);
/** export RESOURCE, streamed or as a job (cmd_export.c) */
int cmd_export(cli_ctx_t *ctx);
/** download JOB: an export job's file (cmd_download.c) */
int cmd_download(cli_ctx_t *ctx);

/**
 * A context before the command line is parsed: messages go to standard
 * error, no progress is shown.
 */
void cli_ctx_init(cli_ctx_t *ctx);

/**
 * Make the context ready to talk to the server: the token (from --token,
 * whose value is then overwritten in argv, or from a file), the progress
 * line, the server's base URL, Ctrl-C and libcurl.
 * @return 0, or the exit status (reported)
 */
int cli_ctx_open(cli_ctx_t *ctx, int argc, char **argv);

/** End what cli_ctx_open began (the token is wiped). */
void cli_ctx_close(cli_ctx_t *ctx);

/** "bulkio: MESSAGE\n" on standard error, after the open progress line. */
void cli_say(cli_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Whether Ctrl-C was pressed. SIGINT is blocked while bulkio talks to the
 * server, so it stays pending until this function or cli_nap sees it.
 */
int cli_interrupted(cli_ctx_t *ctx);

/** Sleep for seconds, but wake up on Ctrl-C. */
void cli_nap(cli_ctx_t *ctx, double seconds);

#endif /* BULKIO_CLI_CTX_H */
