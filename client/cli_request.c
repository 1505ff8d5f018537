/* bulkio: requests of a subcommand. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_request.h"

static const char *token_hint(const cli_ctx_t *ctx)
{
    return ctx->http.token ? "" : " (no token: set BULKIO_TOKEN, or give "
                                  "--token-file; make start writes "
                                  ".run/token)";
}

int cli_http_error(cli_ctx_t *ctx, const char *what, const cli_resp_t *resp)
{
    char detail[1024];

    cli_http_problem(resp, detail, sizeof(detail));
    cli_say(ctx, "%s: %s%s", what, detail,
            resp->status == 401 ? token_hint(ctx) : "");
    return CLI_EXIT_ERROR;
}

int cli_request(cli_ctx_t *ctx, const cli_req_t *req, cli_resp_t *resp,
                const char *what)
{
    double delay = 0.5;
    int attempt, retries = ctx->opts.retries;

    for (attempt = 0; ; ++attempt) {
        if (req->upload && fseeko(req->upload, 0, SEEK_SET)) {
            cli_say(ctx, "%s: cannot rewind the file: %s", what,
                    strerror(errno));
            return -1;
        }
        if (cli_http_do(&ctx->http, req, resp) == 0) {
            int busy = attempt > 0 && req->idempotency_key
                       && resp->status == 409;
            int unavailable = resp->status == 502 || resp->status == 503
                              || resp->status == 504;

            if ((!busy && !unavailable) || attempt >= retries) {
                return 0;
            }
        }
        else if (resp->code == CURLE_ABORTED_BY_CALLBACK
                 || cli_interrupted(ctx)) {
            return -1;
        }
        else if (!cli_http_retryable(resp->code) || attempt >= retries) {
            cli_say(ctx, "%s: %s (%s)", what, resp->error, ctx->http.base);
            cli_resp_clear(resp);
            return -1;
        }
        else {
            cli_say(ctx, "%s: %s; retrying in %.1f s", what, resp->error,
                    delay);
        }
        cli_resp_clear(resp);
        cli_nap(ctx, delay);
        if (cli_interrupted(ctx)) {
            return -1;
        }
        delay *= 2;
    }
}

json_object *cli_get_json(cli_ctx_t *ctx, const char *path,
                          const char *what, int *rc, long *status)
{
    cli_req_t req;
    cli_resp_t resp;
    json_object *doc;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.path = path;
    req.timeout = 60;
    *rc = CLI_EXIT_ERROR;
    if (cli_request(ctx, &req, &resp, what)) {
        return NULL;
    }
    if (status) {
        *status = resp.status;
    }
    if (resp.status != 200) {
        if (!status || resp.status != 404) {
            cli_http_error(ctx, what, &resp);
        }
        cli_resp_clear(&resp);
        return NULL;
    }
    doc = cli_json_parse_object(resp.body);
    cli_resp_clear(&resp);
    if (!doc) {
        cli_say(ctx, "%s: the server's answer is no JSON object", what);
        return NULL;
    }
    *rc = 0;
    return doc;
}

void cli_add_param(char *path, size_t len, const char *k, const char *v)
{
    char *e = curl_easy_escape(NULL, v, 0);
    size_t n = strlen(path);

    snprintf(path + n, len - n, "%s%s=%s", strchr(path, '?') ? "&" : "?",
             k, e ? e : "");
    curl_free(e);
}

const char *cli_link_path(const char *link)
{
    const char *p;

    if (!strncmp(link, "http://", 7) || !strncmp(link, "https://", 8)) {
        p = strchr(strstr(link, "//") + 2, '/');
        return p ? p : "/";
    }
    return link;
}

static int xfer_progress(void *baton, curl_off_t dlt, curl_off_t dln,
                         curl_off_t ult, curl_off_t uln)
{
    cli_xfer_t *x = baton;

    if (cli_interrupted(x->ctx)) {
        return 1;
    }
    cli_progress_xfer(&x->ctx->progress, &x->xp,
                      (double)(x->upload ? uln : dln),
                      (double)(x->upload ? ult : dlt), cli_now());
    return 0;
}

void cli_xfer_start(cli_xfer_t *x, cli_ctx_t *ctx, cli_req_t *req,
                    const char *what, const char *name)
{
    x->ctx = ctx;
    x->upload = req->upload != NULL;
    cli_xfer_progress_init(&x->xp, what, name, cli_now());
    req->progress = xfer_progress;
    req->baton = x;
}
