/* bulkio: libcurl requests against the mod_bulkio API. */
#ifndef BULKIO_CLI_HTTP_H
#define BULKIO_CLI_HTTP_H

#include <stdio.h>
#include <curl/curl.h>

typedef struct {
    const char *base;           /* the server, e.g. http://127.0.0.1:8080 */
    const char *token;
    const char *user_agent;
} cli_http_t;

typedef struct {
    long status;                /* HTTP status, 0 when none came */
    CURLcode code;              /* the transfer's outcome */
    char error[CURL_ERROR_SIZE];
    char *body;                 /* the response body (JSON, problems) */
    size_t len;
    curl_off_t received;        /* bytes written to a download's sink */
    int sink_errno;             /* why writing to the sink failed, or 0
                                   (EPIPE: its reader went away) */
    double seconds;             /* the transfer's duration */
} cli_resp_t;

/**
 * Called during a transfer (libcurl's progress callback).
 * @return nonzero to abort the transfer
 */
typedef int cli_xfer_cb(void *baton, curl_off_t dltotal, curl_off_t dlnow,
                        curl_off_t ultotal, curl_off_t ulnow);

typedef struct {
    const char *method;         /* GET, POST, DELETE */
    const char *path;           /* /v1/..., query included */
    const char *content_type;   /* of body or upload */
    const char *body;           /* a small request body */
    FILE *upload;               /* or: a file streamed from disk */
    curl_off_t upload_size;
    const char *idempotency_key;
    FILE *sink;                 /* a 2xx response body goes here */
    curl_off_t resume_from;     /* Range: bytes=N- (with sink) */
    long timeout;               /* seconds for the whole transfer, 0: none */
    int accept_gzip;            /* ask for gzip; what comes is inflated */
    cli_xfer_cb *progress;
    void *baton;
} cli_req_t;

/** curl_global_init; call once. */
int cli_http_init(void);

/**
 * Perform one request. A body that is not a 2xx download goes to
 * resp->body (at most 16 MiB kept), and req->progress is not called for
 * it (no progress line for an error's body).
 * @return 0 when an HTTP answer came (any status), -1 on a transfer error
 *         (resp->code, resp->error say which)
 */
int cli_http_do(const cli_http_t *h, const cli_req_t *req, cli_resp_t *resp);

/** Free the body of a response. */
void cli_resp_clear(cli_resp_t *resp);

/** Whether a failed transfer is worth another try (connection refused,
 * reset, nothing received, timeout). */
int cli_http_retryable(CURLcode code);

/**
 * The text to show for an HTTP error: the problem+json "detail" (else
 * "title"), else the body's first line, else the status.
 */
void cli_http_problem(const cli_resp_t *resp, char *buf, size_t len);

#endif /* BULKIO_CLI_HTTP_H */
