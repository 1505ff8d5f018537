/* bulkio: the context of a subcommand: token, server, messages, Ctrl-C. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_ctx.h"
#include "cli_file.h"

void cli_ctx_init(cli_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->started = cli_now();
    cli_progress_init(&ctx->progress, stderr, 0, 1);
}

void cli_say(cli_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;

    cli_progress_end(&ctx->progress);
    fputs("bulkio: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The token of --token-file or the default file, its first line, into
 * *token (NULL when the default file is absent). A file that others may
 * read is refused, the default one too. @return 0 or the exit status */
static int read_token(cli_ctx_t *ctx, const char *path, int required,
                      char **token)
{
    char buf[4096], err[8400];
    int e = cli_token_read(path, buf, sizeof(buf), err, sizeof(err));
    int rc = CLI_EXIT_ERROR;

    *token = NULL;
    if (e && (required || e != ENOENT)) {
        cli_say(ctx, "%s", err);
    }
    else if (!e && !buf[0] && required) {
        cli_say(ctx, "%s: holds no token (its first line is empty)", path);
    }
    else {
        *token = !e && buf[0] ? strdup(buf) : NULL;
        rc = 0;
    }
    memset(buf, 0, sizeof(buf));
    return rc;
}

/* Overwrite --token's value in argv, so ps shows it no more (it was
 * visible until now: prefer BULKIO_TOKEN or --token-file). */
static void scrub_argv(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--")) {
            break;
        }
        if (!strcmp(argv[i], "--token") && i + 1 < argc) {
            memset(argv[i + 1], 'x', strlen(argv[i + 1]));
        }
        else if (!strncmp(argv[i], "--token=", 8)) {
            memset(argv[i] + 8, 'x', strlen(argv[i] + 8));
        }
    }
}

/* The server without a trailing slash or /v1 (the paths carry /v1). */
static char *base_url(const char *url)
{
    char *base = strdup(url);
    size_t n = strlen(base);

    while (n && base[n - 1] == '/') {
        base[--n] = '\0';
    }
    if (n > 3 && !strcmp(base + n - 3, "/v1")) {
        base[n - 3] = '\0';
    }
    return base;
}

/* The set of SIGINT alone. Ctrl-C has no handler and no flag of its own:
 * SIGINT is blocked (threads libcurl starts inherit the mask), so it
 * stays pending until cli_interrupted or cli_nap looks. */
static void sigint_only(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
}

int cli_ctx_open(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_opts_t *o = &ctx->opts;
    struct winsize ws;
    sigset_t set;
    char *token, host[256];
    int rc;

    if (o->token) {
        token = strdup(o->token);
        scrub_argv(argc, argv);
    }
    /* --token-file must exist; the default file may be absent */
    else if ((rc = read_token(ctx, o->token_file, !o->token_file_default,
                              &token))) {
        return rc;
    }
    if (!strncmp(o->url, "http://", 7)
        && !cli_url_loopback(o->url, host, sizeof(host))) {
        cli_say(ctx, "warning: http:// to %s sends the token and the data "
                "unencrypted; use https://", host);
    }
    cli_progress_init(&ctx->progress, stderr, isatty(2), o->quiet);
    if (ctx->progress.tty && !ioctl(2, TIOCGWINSZ, &ws) && ws.ws_col) {
        ctx->progress.cols = ws.ws_col;
    }
    if (!ctx->progress.tty && o->poll_interval == 0.5) {
        o->poll_interval = 1.0;
    }
    ctx->http.base = base_url(o->url);
    ctx->http.token = token;
    ctx->http.user_agent = "bulkio/" BULKIO_CLIENT_VERSION;
    sigint_only(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (cli_http_init()) {
        fprintf(stderr, "bulkio: cannot initialise libcurl\n");
        return CLI_EXIT_ERROR;
    }
    return 0;
}

void cli_ctx_close(cli_ctx_t *ctx)
{
    char *token = (char *)ctx->http.token;

    cli_progress_end(&ctx->progress);
    curl_global_cleanup();
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    free((char *)ctx->http.base);
}

int cli_interrupted(cli_ctx_t *ctx)
{
    sigset_t pending;

    if (!ctx->interrupted && !sigpending(&pending)
        && sigismember(&pending, SIGINT) == 1) {
        ctx->interrupted = 1;
    }
    return ctx->interrupted;
}

void cli_nap(cli_ctx_t *ctx, double seconds)
{
    double until = cli_now() + seconds, left;
    struct timespec ts;
    sigset_t set;

    sigint_only(&set);
    while (!cli_interrupted(ctx) && (left = until - cli_now()) > 0) {
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        if (sigtimedwait(&set, NULL, &ts) == SIGINT) {
            ctx->interrupted = 1;
        }
    }
}
