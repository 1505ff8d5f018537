/* bulkio: requests of a subcommand: retries, JSON answers, HTTP errors,
 * transfers with a progress line. */
#ifndef BULKIO_CLI_REQUEST_H
#define BULKIO_CLI_REQUEST_H

#include "cli_ctx.h"
#include "cli_json.h"

/**
 * A request, retried after network errors and 502/503/504 (with the same
 * Idempotency-Key: the server answers a repeated POST with the first job).
 * A 409 after a retry means the first attempt is still being received:
 * it is waited out the same way.
 * @return 0 with an answer in resp (any status), or -1 (reported, unless
 *         Ctrl-C stopped it)
 */
int cli_request(cli_ctx_t *ctx, const cli_req_t *req, cli_resp_t *resp,
                const char *what);

/**
 * GET a JSON object.
 * @param status  when not NULL, the answer's status, and a 404 is not
 *                reported
 * @return the document, or NULL with *rc the exit status (reported)
 */
json_object *cli_get_json(cli_ctx_t *ctx, const char *path,
                          const char *what, int *rc, long *status);

/**
 * Report an HTTP error answer: "WHAT: HTTP 404: detail", with a hint
 * about the token after a 401.
 * @return the exit status 3
 */
int cli_http_error(cli_ctx_t *ctx, const char *what, const cli_resp_t *resp);

/** Append "?k=v" or "&k=v" (v escaped) to a path. */
void cli_add_param(char *path, size_t len, const char *k, const char *v);

/** The path of a link the server gave (a next page, a download), which
 * may be an absolute URL. */
const char *cli_link_path(const char *link);

/** A transfer's progress line, fed by libcurl; Ctrl-C stops it. */
typedef struct {
    cli_ctx_t *ctx;
    cli_xfer_progress_t xp;
    int upload;                 /* count bytes sent, not received */
} cli_xfer_t;

/**
 * Show req's progress (an upload when req->upload is set, else a
 * download) as "WHAT NAME: ..." (name may be NULL).
 */
void cli_xfer_start(cli_xfer_t *x, cli_ctx_t *ctx, cli_req_t *req,
                    const char *what, const char *name);

#endif /* BULKIO_CLI_REQUEST_H */
