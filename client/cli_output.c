/* bulkio: -o FILE and downloads into it. */
#include <errno.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

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
        /* a reader that went away (| head) wanted no more: no error */
        if (fflush(stdout) && !failed && errno != EPIPE) {
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

/* Whether a transfer to standard output ended because its reader went
 * away (bulkio errors J | head -1): it took what it wanted, so the end is
 * quiet, and what stdio still holds for it is dropped. */
static int reader_gone(cli_output_t *out, cli_resp_t *resp)
{
    if (out->f != stdout || resp->sink_errno != EPIPE) {
        return 0;
    }
    cli_resp_clear(resp);
    __fpurge(stdout);
    clearerr(stdout);
    return 1;
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
        if (reader_gone(&out, &resp)) {
            cli_output_close(ctx, &out, 1);
            return CLI_EXIT_OK;
        }
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

/* One attempt's outcome that ends the download: an HTTP error, Ctrl-C, a
 * transfer error not worth another try. @return the exit status, or -1
 * to try again (have is reset when the server cannot resume) */
static int download_failed(cli_ctx_t *ctx, cli_output_t *o,
                           cli_resp_t *resp, int rc, int attempt,
                           curl_off_t *have)
{
    FILE *out = o->f;

    if (reader_gone(o, resp)) {
        return CLI_EXIT_OK;
    }
    if (rc == 0) {
        return cli_http_error(ctx, "download", resp);
    }
    if (cli_interrupted(ctx)) {
        cli_say(ctx, "download interrupted; the file stays on the server "
                "until it expires");
        return CLI_EXIT_INTERRUPT;
    }
    if (resp->code == CURLE_RANGE_ERROR && out != stdout) {
        /* the server ignored Range: start over */
        cli_say(ctx, "download: the server cannot resume; starting over");
        if (fflush(out) || ftruncate(fileno(out), 0)
            || fseeko(out, 0, SEEK_SET)) {
            cli_say(ctx, "download: cannot start over: %s", strerror(errno));
            return CLI_EXIT_ERROR;
        }
        *have = 0;
    }
    else if (!cli_http_retryable(resp->code)
             || attempt >= ctx->opts.retries) {
        cli_say(ctx, "download: %s after %lld bytes", resp->error,
                (long long)*have);
        return CLI_EXIT_ERROR;
    }
    return -1;
}

/* Inflate the gzip file in (from its start) into out.
 * @return 0, or -1 (reported) */
static int inflate_into(cli_ctx_t *ctx, FILE *in, FILE *out)
{
    char buf[65536];
    gzFile gz;
    int n, fd;

    fflush(in);
    if ((fd = dup(fileno(in))) < 0 || lseek(fd, 0, SEEK_SET) < 0
        || !(gz = gzdopen(fd, "rb"))) {
        if (fd >= 0) {
            close(fd);
        }
        cli_say(ctx, "download: cannot read the compressed file");
        return -1;
    }
    while ((n = gzread(gz, buf, sizeof(buf))) > 0) {
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
            n = -1;
            break;
        }
    }
    if (n < 0) {
        cli_say(ctx, "download: cannot inflate the file (%s)",
                gzerror(gz, &fd));
    }
    gzclose(gz);
    return n < 0 ? -1 : 0;
}

int cli_output_download(cli_ctx_t *ctx, const char *url, int64_t size,
                        int inflate)
{
    cli_xfer_t xfer;
    cli_req_t req;
    cli_resp_t resp;
    cli_output_t out, sink;
    curl_off_t have = 0;
    double delay = 0.5, t0 = cli_now();
    int attempt, resumed = 0, rc;

    if ((rc = cli_output_open(ctx, &out))) {
        return rc;
    }
    /* a compressed file goes into a temporary file first, inflated into
     * the output once whole */
    sink = out;
    if (inflate && !(sink.f = tmpfile())) {
        cli_say(ctx, "download: no temporary file: %s", strerror(errno));
        cli_output_close(ctx, &out, 1);
        return CLI_EXIT_ERROR;
    }
    for (attempt = 0; ; ++attempt) {
        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.path = cli_link_path(url);
        req.sink = sink.f;
        req.resume_from = have;
        cli_xfer_start(&xfer, ctx, &req, "download", NULL);
        rc = cli_http_do(&ctx->http, &req, &resp);
        have += resp.received;
        if (rc == 0 && (resp.status == 200 || resp.status == 206)) {
            cli_resp_clear(&resp);
            break;
        }
        rc = download_failed(ctx, &sink, &resp, rc, attempt, &have);
        if (rc >= 0) {
            cli_resp_clear(&resp);
            goto done;
        }
        cli_say(ctx, "download: %s after %lld bytes; resuming in %.1f s",
                resp.error, (long long)have, delay);
        cli_resp_clear(&resp);
        ++resumed;
        cli_nap(ctx, delay);
        delay *= 2;
    }
    cli_progress_end(&ctx->progress);
    rc = CLI_EXIT_ERROR;
    if (size >= 0 && have != (curl_off_t)size) {
        cli_say(ctx, "download: %lld bytes received, the export has %lld",
                (long long)have, (long long)size);
        goto done;
    }
    if (inflate && inflate_into(ctx, sink.f, out.f)) {
        goto done;
    }
    rc = CLI_EXIT_OK;
done:
    if (inflate) {
        fclose(sink.f);
    }
    if (rc != CLI_EXIT_OK) {
        cli_output_close(ctx, &out, 1);
        return rc;
    }
    if ((rc = cli_output_close(ctx, &out, 0))) {
        return rc;
    }
    cli_output_done(ctx, "download", (double)have, cli_now() - t0, resumed);
    return CLI_EXIT_OK;
}

/* Whether -o FILE names a .gz file (a compressed export is kept so). */
static int keeps_gz(const char *out)
{
    size_t n = out ? strlen(out) : 0;

    return n > 3 && !strcmp(out + n - 3, ".gz");
}

int cli_output_export(cli_ctx_t *ctx, json_object *doc)
{
    const char *status = cli_json_str(doc, "status"), *reason, *out;
    const char *compressed;
    char *url;
    int rc;

    if (strcmp(status, "completed")) {
        reason = cli_json_str(doc, "reason");
        cli_say(ctx, "export job %s %s%s%s", cli_json_str(doc, "job_id"),
                status, reason ? ": " : "", reason ? reason : "");
        if (ctx->opts.json) {
            cli_json_print(doc);
        }
        return CLI_EXIT_JOB;
    }
    if (!cli_json_str(doc, "downloadUrl")) {
        cli_say(ctx, "export: the job has no downloadUrl (expired?)");
        return CLI_EXIT_ERROR;
    }
    url = strdup(cli_json_str(doc, "downloadUrl"));
    compressed = cli_json_str(doc, "compression");
    rc = cli_output_download(ctx, url,
                             (int64_t)cli_json_num(doc, "fileSize", -1),
                             compressed && !strcmp(compressed, "gzip")
                             && !keeps_gz(ctx->opts.output));
    free(url);
    out = ctx->opts.output;
    if (ctx->opts.json && !rc && out && strcmp(out, "-")) {
        cli_json_print(doc);
    }
    return rc;
}
