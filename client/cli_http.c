/* bulkio: libcurl requests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli_http.h"

#define BODY_MAX (16 * 1024 * 1024)

typedef struct {
    const cli_req_t *req;
    cli_resp_t *resp;
    CURL *curl;
    int sink_ok;                /* -1 unknown, 0 no (collect), 1 yes */
} xfer_t;

int cli_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static size_t on_write(char *data, size_t size, size_t n, void *baton)
{
    xfer_t *x = baton;
    cli_resp_t *resp = x->resp;
    size_t len = size * n;
    char *nb;

    if (x->sink_ok < 0) {
        long status = 0;

        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
        x->sink_ok = x->req->sink && status >= 200 && status < 300;
    }
    if (x->sink_ok) {
        if (fwrite(data, 1, len, x->req->sink) != len) {
            resp->sink_errno = errno ? errno : EIO;
            return 0;           /* CURLE_WRITE_ERROR */
        }
        resp->received += (curl_off_t)len;
        return len;
    }
    if (resp->len + len > BODY_MAX) {
        return len;             /* keep the head of an oversized answer */
    }
    if (!(nb = realloc(resp->body, resp->len + len + 1))) {
        return 0;
    }
    resp->body = nb;
    memcpy(resp->body + resp->len, data, len);
    resp->len += len;
    resp->body[resp->len] = '\0';
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *baton)
{
    FILE *f = baton;
    size_t got = fread(buf, 1, size * n, f);

    if (!got && ferror(f)) {
        return CURL_READFUNC_ABORT;
    }
    return got;
}

static int on_seek(void *baton, curl_off_t offset, int origin)
{
    FILE *f = baton;

    return fseeko(f, (off_t)offset, origin) ? CURL_SEEKFUNC_FAIL
                                            : CURL_SEEKFUNC_OK;
}

static int on_progress(void *baton, curl_off_t dlt, curl_off_t dln,
                       curl_off_t ult, curl_off_t uln)
{
    xfer_t *x = baton;
    long status = 0;

    /* an answer that is no success: its body is no transfer to show */
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 300) {
        return 0;
    }
    return x->req->progress(x->req->baton, dlt, dln, ult, uln);
}

int cli_http_do(const cli_http_t *h, const cli_req_t *req, cli_resp_t *resp)
{
    struct curl_slist *hdrs = NULL;
    char line[4096], *url;
    size_t ulen;
    xfer_t x;
    CURL *c;

    memset(resp, 0, sizeof(*resp));
    if (!(c = curl_easy_init())) {
        resp->code = CURLE_FAILED_INIT;
        snprintf(resp->error, sizeof(resp->error), "cannot start libcurl");
        return -1;
    }
    x.req = req;
    x.resp = resp;
    x.curl = c;
    x.sink_ok = -1;
    ulen = strlen(h->base) + strlen(req->path) + 1;
    url = malloc(ulen);
    if (!url) {
        curl_easy_cleanup(c);
        resp->code = CURLE_OUT_OF_MEMORY;
        return -1;
    }
    snprintf(url, ulen, "%s%s", h->base, req->path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, resp->error);
    curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    /* a stalled server: under 1 byte/s for a minute */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    if (req->timeout) {
        curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    if (h->token) {
        /* a header, never a URL or argv: the token stays out of logs */
        if (strlen(h->token) > sizeof(line) - 32) {
            free(url);
            curl_easy_cleanup(c);
            resp->code = CURLE_BAD_FUNCTION_ARGUMENT;
            snprintf(resp->error, sizeof(resp->error), "the token is too "
                     "long");
            return -1;
        }
        snprintf(line, sizeof(line), "Authorization: Bearer %s", h->token);
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json, "
                             "application/problem+json, */*");
    if (req->content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (req->idempotency_key) {
        snprintf(line, sizeof(line), "Idempotency-Key: %s",
                 req->idempotency_key);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (req->upload) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, req->upload);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, req->upload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, req->upload_size);
        /* the server may refuse (401, 413, 415) before the body is sent */
        hdrs = curl_slist_append(hdrs, "Expect: 100-continue");
        curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 3000L);
    }
    else if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(req->body));
    }
    if (strcmp(req->method, req->upload || req->body ? "POST" : "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (req->accept_gzip) {
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    }
    if (req->resume_from > 0) {
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, req->resume_from);
    }
    if (req->progress) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    resp->code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &resp->seconds);
    if (resp->code != CURLE_OK && !resp->error[0]) {
        snprintf(resp->error, sizeof(resp->error), "%s",
                 curl_easy_strerror(resp->code));
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    free(url);
    /* an answer that came whole, even when curl then stopped (a 413 sent
     * while we were still uploading) */
    if (resp->code == CURLE_OK
        || (resp->status >= 400 && resp->code == CURLE_SEND_ERROR)) {
        return 0;
    }
    return -1;
}

void cli_resp_clear(cli_resp_t *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

int cli_http_retryable(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

void cli_http_problem(const cli_resp_t *resp, char *buf, size_t len)
{
    json_object *doc = NULL, *v;
    const char *text = NULL;
    size_t n;

    if (resp->body && resp->len) {
        doc = json_tokener_parse(resp->body);
    }
    if (doc && json_object_is_type(doc, json_type_object)
        && ((json_object_object_get_ex(doc, "detail", &v)
             && json_object_is_type(v, json_type_string))
            || (json_object_object_get_ex(doc, "title", &v)
                && json_object_is_type(v, json_type_string)))) {
        text = json_object_get_string(v);
        snprintf(buf, len, "HTTP %ld: %s", resp->status, text);
    }
    else if (resp->body && resp->len) {
        n = strcspn(resp->body, "\r\n");
        snprintf(buf, len, "HTTP %ld: %.*s", resp->status,
                 (int)(n > 200 ? 200 : n), resp->body);
    }
    else {
        snprintf(buf, len, "HTTP %ld", resp->status);
    }
    json_object_put(doc);
}
