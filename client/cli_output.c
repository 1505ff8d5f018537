/* bulkio: -o FILE and downloads into it. */
#include <errno.h>
#include <string.h>

#include "cli_output.h"

/* -o FILE, unless it is - (standard output) */
static const char *output_file(const cli_ctx_t *ctx)
{
    const char *out = ctx->opts.output;

    return out && strcmp(out, "-") ? out : NULL;
}

int cli_output_check(cli_ctx_t *ctx)
{
    const char *name = output_file(ctx);
    char err[8400];
    int rc = 0;

    if (name && (rc = cli_outfile_check(name, ctx->opts.force, err,
                                        sizeof(err)))) {
        cli_say(ctx, "%s", err);
    }
    return rc;
}

int cli_output_open(cli_ctx_t *ctx, cli_output_t *out)
{
    const char *name = output_file(ctx);
    char err[8400];
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->f = stdout;
    if (name && (rc = cli_outfile_open(&out->file, name, ctx->opts.force,
                                       err, sizeof(err)))) {
        cli_say(ctx, "%s", err);
    }
    else if (name) {
        out->f = out->file.f;
    }
    return rc;
}

int cli_output_close(cli_ctx_t *ctx, cli_output_t *out, int failed)
{
    char err[8400];
    int rc = 0;

    if (out->f == stdout) {
        if (fflush(stdout) && !failed) {
            cli_say(ctx, "stdout: %s", strerror(errno));
            rc = CLI_EXIT_ERROR;
        }
    }
    else if (failed) {
        if (out->file.tmp[0] && ftello(out->f) > 0) {
            cli_say(ctx, "the partial download was removed; %s is "
                    "untouched", out->file.target);
        }
        cli_outfile_discard(&out->file);
    }
    else if ((rc = cli_outfile_commit(&out->file, err, sizeof(err)))) {
        cli_say(ctx, "%s", err);
    }
    out->f = NULL;
    return rc;
}

void cli_output_done(cli_ctx_t *ctx, const char *what, double bytes,
                     double seconds, int resumed)
{
    const char *name = output_file(ctx);
    char a[32], d[32];

    if (ctx->opts.quiet) {
        return;
    }
    cli_fmt_bytes(a, sizeof(a), bytes);
    cli_fmt_duration(d, sizeof(d), seconds);
    fprintf(stderr, "bulkio: %s: %s in %s%s%s", what, a, d,
            name ? " to " : "", name ? name : "");
    if (resumed) {
        fprintf(stderr, " (resumed %d time%s)", resumed,
                resumed == 1 ? "" : "s");
    }
    fputc('\n', stderr);
}

int cli_output_stream(cli_ctx_t *ctx, const char *path, const char *what)
{
    cli_xfer_t xfer;
    cli_req_t req;
    cli_resp_t resp;
    cli_output_t out;
    int rc;

    if ((rc = cli_output_open(ctx, &out))) {
        return rc;
    }
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.path = path;
    req.sink = out.f;
    req.accept_gzip = ctx->opts.gzip;
    cli_xfer_start(&xfer, ctx, &req, what, NULL);
    if (cli_http_do(&ctx->http, &req, &resp)) {
        cli_say(ctx, "%s: %s after %lld bytes (%s)", what,
                cli_interrupted(ctx) ? "interrupted" : resp.error,
                (long long)resp.received, ctx->http.base);
        cli_resp_clear(&resp);
        cli_output_close(ctx, &out, 1);
        return cli_interrupted(ctx) ? CLI_EXIT_INTERRUPT : CLI_EXIT_ERROR;
    }
    if (resp.status != 200) {
        rc = cli_http_error(ctx, what, &resp);
        cli_resp_clear(&resp);
        cli_output_close(ctx, &out, 1);
        return rc;
    }
    if ((rc = cli_output_close(ctx, &out, 0))) {
        cli_resp_clear(&resp);
        return rc;
    }
    cli_progress_end(&ctx->progress);
    cli_output_done(ctx, what, (double)resp.received, resp.seconds, 0);
    cli_resp_clear(&resp);
    return CLI_EXIT_OK;
}
