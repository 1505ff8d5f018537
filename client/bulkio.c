/* bulkio: the command-line client of mod_bulkio — main and subcommands.
 *
 * Imports are streamed from disk and sent with an Idempotency-Key (a random
 * UUIDv4 unless --idempotency-key), so a retry after a network error never
 * makes a second job. Exit statuses: see cli.h and docs/client.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "cli_http.h"

#define BULKIO_CLIENT_VERSION BULKIO_VERSION   /* make: debian/changelog */

static volatile sig_atomic_t interrupted;
static cli_opts_t O;
static cli_http_t H;
static cli_progress_t PR;
static double t_start;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    cli_progress_end(&PR);
    fputs("bulkio: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Sleep, but wake up on Ctrl-C. */
static void nap(double seconds)
{
    struct timespec ts;

    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (!interrupted && nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

static void uuid4(char out[37])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    ssize_t n;

    while (fd >= 0 && got < sizeof(b)
           && ((n = read(fd, b + got, sizeof(b) - got)) > 0
               || (n < 0 && errno == EINTR))) {
        got += n > 0 ? (size_t)n : 0;
    }
    if (fd >= 0) {
        close(fd);
    }
    if (got < sizeof(b)) {
        /* no /dev/urandom: still unique enough per process and moment */
        struct timespec ts;
        size_t i;

        clock_gettime(CLOCK_REALTIME, &ts);
        srandom((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ getpid()));
        for (i = 0; i < sizeof(b); ++i) {
            b[i] = (unsigned char)random();
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
             b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* ---- JSON ------------------------------------------------------------ */

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;

    if (o && json_object_object_get_ex(o, key, &v)
        && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

static int64_t jint(json_object *o, const char *key)
{
    json_object *v;

    if (o && json_object_object_get_ex(o, key, &v) && v) {
        return json_object_get_int64(v);
    }
    return 0;
}

static double jnum(json_object *o, const char *key, double dflt)
{
    json_object *v;

    if (o && json_object_object_get_ex(o, key, &v) && v) {
        return json_object_get_double(v);
    }
    return dflt;
}

static json_object *jobj(json_object *o, const char *key)
{
    json_object *v;

    if (o && json_object_object_get_ex(o, key, &v)
        && json_object_is_type(v, json_type_object)) {
        return v;
    }
    return NULL;
}

/* RFC 3339 (as the server writes it) to seconds since the epoch; -1. */
static double rfc3339(const char *s)
{
    struct tm tm;
    const char *p;
    double frac = 0.0, off = 0.0;
    char *end;
    time_t t;

    if (!s) {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    if (!(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))) {
        return -1;
    }
    if (*p == '.') {
        frac = strtod(p, &end);
        p = end;
    }
    if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;

        if (sscanf(p + 1, "%d:%d", &hh, &mm) < 1) {
            return -1;
        }
        off = (*p == '-' ? -1 : 1) * (hh * 3600.0 + mm * 60.0);
    }
    else if (*p != 'Z' && *p != 'z') {
        return -1;
    }
    t = timegm(&tm);
    return (double)t + frac - off;
}

/* ---- requests ---------------------------------------------------------- */

static const char *token_hint(void)
{
    return H.token ? "" : " (no token: set BULKIO_TOKEN, or give "
                          "--token-file; make start writes .run/token)";
}

/* Report an HTTP error answer; returns the exit status 3. */
static int http_error(const char *what, const cli_resp_t *resp)
{
    char detail[1024];

    cli_http_problem(resp, detail, sizeof(detail));
    say("%s: %s%s", what, detail, resp->status == 401 ? token_hint() : "");
    return CLI_EXIT_ERROR;
}

/* A request, retried after network errors (with the same Idempotency-Key:
 * the server answers a repeated POST with the first job). A 409 after a
 * retry means the first attempt is still being received: wait for it.
 * @return 0 with an answer in resp, or -1 (reported) */
static int request(const cli_req_t *req, cli_resp_t *resp, const char *what)
{
    double delay = 0.5;
    int attempt;

    for (attempt = 0; ; ++attempt) {
        if (req->upload && fseeko(req->upload, 0, SEEK_SET)) {
            say("%s: cannot rewind the file: %s", what, strerror(errno));
            return -1;
        }
        if (cli_http_do(&H, req, resp) == 0) {
            int busy = attempt > 0 && req->idempotency_key
                       && resp->status == 409;
            int unavailable = resp->status == 502 || resp->status == 503
                              || resp->status == 504;

            if ((!busy && !unavailable) || attempt >= O.retries) {
                return 0;
            }
        }
        else if (resp->code == CURLE_ABORTED_BY_CALLBACK || interrupted) {
            return -1;
        }
        else if (!cli_http_retryable(resp->code) || attempt >= O.retries) {
            say("%s: %s (%s)", what, resp->error, H.base);
            cli_resp_clear(resp);
            return -1;
        }
        else {
            say("%s: %s; retrying in %.1f s", what, resp->error, delay);
        }
        cli_resp_clear(resp);
        nap(delay);
        if (interrupted) {
            return -1;
        }
        delay *= 2;
    }
}

/* GET a JSON document. @return it, or NULL (*rc is the exit status) */
static json_object *get_json(const char *path, const char *what, int *rc,
                             long *status)
{
    cli_req_t req;
    cli_resp_t resp;
    json_object *doc;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.path = path;
    req.timeout = 60;
    *rc = CLI_EXIT_ERROR;
    if (request(&req, &resp, what)) {
        return NULL;
    }
    if (status) {
        *status = resp.status;
    }
    if (resp.status != 200) {
        if (!status || resp.status != 404) {
            http_error(what, &resp);
        }
        cli_resp_clear(&resp);
        return NULL;
    }
    doc = resp.body ? json_tokener_parse(resp.body) : NULL;
    cli_resp_clear(&resp);
    if (!doc || !json_object_is_type(doc, json_type_object)) {
        say("%s: the server's answer is no JSON object", what);
        json_object_put(doc);
        return NULL;
    }
    *rc = 0;
    return doc;
}

static void print_json(json_object *doc)
{
    puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY
                                        | JSON_C_TO_STRING_SPACED
                                        | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

static char *escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy = strdup(e ? e : "");

    curl_free(e);
    return copy;
}

/* Append "&k=v" (v escaped) to a path buffer. */
static void add_param(char *buf, size_t len, const char *k, const char *v)
{
    char *e = escape(v);
    size_t n = strlen(buf);

    snprintf(buf + n, len - n, "%s%s=%s", strchr(buf, '?') ? "&" : "?", k,
             e);
    free(e);
}

static int interrupted_wait(const char *id, const char *kind)
{
    cli_progress_end(&PR);
    fprintf(stderr, "bulkio: interrupted; the %s job %s keeps running on "
            "the server.\n  follow it: bulkio status %s\n", kind, id, id);
    if (!strcmp(kind, "import")) {
        fprintf(stderr, "  cancel it: bulkio cancel %s\n", id);
    }
    return CLI_EXIT_INTERRUPT;
}

/* ---- import ------------------------------------------------------------ */

typedef struct {
    const char *name;
    double started;
    double last_draw;
} upload_progress_t;

static int upload_progress(void *baton, curl_off_t dlt, curl_off_t dln,
                           curl_off_t ult, curl_off_t uln)
{
    upload_progress_t *up = baton;
    double now = cli_now(), rate;
    char line[512];

    (void)dlt;
    (void)dln;
    if (interrupted) {
        return 1;
    }
    if (!uln || (PR.tty && now - up->last_draw < 0.1 && uln < ult)) {
        return 0;
    }
    up->last_draw = now;
    rate = now > up->started ? (double)uln / (now - up->started) : 0.0;
    cli_fmt_upload(line, sizeof(line), up->name, (double)uln, (double)ult,
                   rate);
    cli_progress_show(&PR, line, now, 0);
    return 0;
}

/* Counting the errors of a job by type, from its NDJSON errors stream. */
typedef struct {
    cli_summary_t *sum;
    char line[256];             /* the head of the current line */
    size_t len;
    char names[8][32];
} error_count_t;

static void count_line(error_count_t *ec)
{
    /* errorType precedes recordData; inside recordData every quote is
     * escaped, so the first unescaped match is the field */
    const char *p = strstr(ec->line, "\"errorType\":");
    size_t n;
    int i;

    if (!p) {
        return;
    }
    p += strlen("\"errorType\":");
    while (*p == ' ') {
        ++p;
    }
    if (*p++ != '"') {
        return;
    }
    n = strcspn(p, "\"");
    if (n >= sizeof(ec->names[0])) {
        n = sizeof(ec->names[0]) - 1;
    }
    for (i = 0; i < ec->sum->ntypes; ++i) {
        if (strlen(ec->sum->types[i]) == n
            && !strncmp(ec->sum->types[i], p, n)) {
            ec->sum->type_counts[i]++;
            return;
        }
    }
    if (ec->sum->ntypes < 8) {
        i = ec->sum->ntypes;
        memcpy(ec->names[i], p, n);
        ec->names[i][n] = '\0';
        cli_summary_add(ec->sum, ec->names[i], 1);
    }
}

static ssize_t count_write(void *cookie, const char *buf, size_t size)
{
    error_count_t *ec = cookie;
    size_t i;

    for (i = 0; i < size; ++i) {
        if (buf[i] == '\n') {
            ec->line[ec->len] = '\0';
            count_line(ec);
            ec->len = 0;
        }
        else if (ec->len < sizeof(ec->line) - 1) {
            ec->line[ec->len++] = buf[i];
        }
    }
    return (ssize_t)size;
}

/* Failed records by error type (the status document holds only the
 * first 100 errors). */
static void count_errors(const char *id, cli_summary_t *sum,
                         error_count_t *ec)
{
    cookie_io_functions_t io = { NULL, count_write, NULL, NULL };
    char path[256];
    cli_req_t req;
    cli_resp_t resp;
    FILE *f;

    memset(ec, 0, sizeof(*ec));
    ec->sum = sum;
    if (!(f = fopencookie(ec, "w", io))) {
        return;
    }
    snprintf(path, sizeof(path), "/v1/imports/%s/errors", id);
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.path = path;
    req.sink = f;
    if (request(&req, &resp, "errors") == 0 && resp.status != 200) {
        sum->ntypes = 0;
    }
    cli_resp_clear(&resp);
    fclose(f);
}

static int import_outcome(json_object *doc)
{
    const char *status = jstr(doc, "status");

    if (status && !strcmp(status, "completed")) {
        return jint(doc, "errorCount") ? CLI_EXIT_RECORDS : CLI_EXIT_OK;
    }
    if (status && (!strcmp(status, "failed") || !strcmp(status, "canceled"))) {
        return CLI_EXIT_JOB;
    }
    return CLI_EXIT_OK;
}

static int is_final(const char *status)
{
    return status && (!strcmp(status, "completed") || !strcmp(status, "failed")
                      || !strcmp(status, "canceled"));
}

static int wait_import(const char *id)
{
    char path[256], line[512];
    cli_job_progress_t jp;
    cli_summary_t sum;
    error_count_t ec;
    json_object *doc = NULL, *pg;
    double started, done, now;
    int rc;

    snprintf(path, sizeof(path), "/v1/imports/%s", id);
    for (;;) {
        json_object_put(doc);
        if (!(doc = get_json(path, "status", &rc, NULL))) {
            if (interrupted) {
                return interrupted_wait(id, "import");
            }
            say("the job %s may still be running: bulkio status %s", id, id);
            return rc;
        }
        pg = jobj(doc, "progress");
        memset(&jp, 0, sizeof(jp));
        jp.job_id = id;
        jp.status = jstr(doc, "status");
        jp.processed = jint(pg, "processedRecords");
        jp.errors = jint(doc, "errorCount");
        jp.percent = pg ? jnum(pg, "percent", -1) : -1;
        jp.rate = jnum(pg, "rowsPerSecond", 0);
        jp.eta = jp.status && !strcmp(jp.status, "running")
                 ? jnum(pg, "etaSeconds", -1) : -1;
        if (jp.status && !strcmp(jp.status, "completed")) {
            jp.processed = jint(doc, "totalRecords");
            jp.eta = 0;
        }
        cli_fmt_job(line, sizeof(line), &jp);
        now = cli_now();
        if (is_final(jp.status)) {
            cli_progress_show(&PR, line, now, 1);
            break;
        }
        cli_progress_show(&PR, line, now, 0);
        nap(O.poll_interval);
        if (interrupted) {
            json_object_put(doc);
            return interrupted_wait(id, "import");
        }
    }
    cli_progress_end(&PR);
    rc = import_outcome(doc);
    if (!O.quiet) {
        memset(&sum, 0, sizeof(sum));
        sum.status = jstr(doc, "status");
        sum.reason = jstr(doc, "reason");
        sum.total = jint(doc, "totalRecords");
        sum.succeeded = jint(doc, "successCount");
        sum.failed = jint(doc, "errorCount");
        if (sum.failed) {
            count_errors(id, &sum, &ec);
        }
        started = rfc3339(jstr(doc, "startedAt"));
        done = rfc3339(jstr(doc, "completedAt"));
        sum.duration = started > 0 && done >= started ? done - started
                                                      : cli_now() - t_start;
        cli_fmt_summary(line, sizeof(line), &sum);
        fprintf(stderr, "%s\n", line);
    }
    if (O.json) {
        print_json(doc);
    }
    json_object_put(doc);
    return rc;
}

static int cmd_import(void)
{
    char path[512], key[37], idem_what[80];
    const char *format, *base, *id;
    upload_progress_t up;
    json_object *doc, *body = NULL;
    struct stat st;
    cli_req_t req;
    cli_resp_t resp;
    FILE *f = NULL;
    int rc, is_url;

    memset(&req, 0, sizeof(req));
    is_url = !strncmp(O.source, "http://", 7)
             || !strncmp(O.source, "https://", 8);
    format = is_url ? O.format : cli_format_for(O.format, O.source);
    snprintf(path, sizeof(path), "/v1/imports?resource=%s", O.resource);
    if (format) {
        add_param(path, sizeof(path), "format", format);
    }
    if (O.idempotency_key) {
        snprintf(key, sizeof(key), "%s", "");
        req.idempotency_key = O.idempotency_key;
    }
    else {
        uuid4(key);
        req.idempotency_key = key;
    }
    req.method = "POST";
    req.path = path;
    base = strrchr(O.source, '/');
    base = base && !is_url ? base + 1 : O.source;
    if (is_url) {
        body = json_object_new_object();
        json_object_object_add(body, "url", json_object_new_string(O.source));
        req.body = json_object_to_json_string_ext(
                       body, JSON_C_TO_STRING_PLAIN
                             | JSON_C_TO_STRING_NOSLASHESCAPE);
        req.content_type = "application/json";
        req.timeout = 60;
    }
    else {
        if (!(f = fopen(O.source, "rb")) || fstat(fileno(f), &st)) {
            say("%s: %s", O.source, strerror(errno));
            if (f) {
                fclose(f);
            }
            return CLI_EXIT_ERROR;
        }
        if (!S_ISREG(st.st_mode)) {
            say("%s: not a regular file", O.source);
            fclose(f);
            return CLI_EXIT_ERROR;
        }
        /* the bytes as they are on disk (gzip too: the server inflates);
         * a JSON array as octet-stream, since application/json with an
         * object means a URL import */
        req.upload = f;
        req.upload_size = (curl_off_t)st.st_size;
        req.content_type = format && !strcmp(format, "ndjson")
                           ? "application/x-ndjson"
                           : format && !strcmp(format, "csv") ? "text/csv"
                           : "application/octet-stream";
        memset(&up, 0, sizeof(up));
        up.name = base;
        up.started = cli_now();
        req.progress = upload_progress;
        req.baton = &up;
    }
    snprintf(idem_what, sizeof(idem_what), "upload");
    rc = request(&req, &resp, idem_what);
    if (f) {
        fclose(f);
    }
    json_object_put(body);
    if (rc) {
        if (interrupted) {
            say("interrupted during the upload; no job was made (run the "
                "same command again%s%s)", O.idempotency_key ? "" : " with "
                "--idempotency-key ", O.idempotency_key ? "" : key);
            return CLI_EXIT_INTERRUPT;
        }
        say("no job was made; run the command again with "
            "--idempotency-key %s to be sure of one job at most",
            req.idempotency_key);
        return CLI_EXIT_ERROR;
    }
    if (resp.status != 202 && resp.status != 200 && resp.status != 201) {
        rc = http_error("upload", &resp);
        cli_resp_clear(&resp);
        return rc;
    }
    if (!f) {
        cli_progress_end(&PR);
    }
    doc = resp.body ? json_tokener_parse(resp.body) : NULL;
    cli_resp_clear(&resp);
    if (!(id = jstr(doc, "job_id"))) {
        say("upload: the server's answer holds no job_id");
        json_object_put(doc);
        return CLI_EXIT_ERROR;
    }
    id = strdup(id);
    if (f) {
        /* the upload's last line, whole, stays above the job's */
        char line[512];

        cli_fmt_upload(line, sizeof(line), base, (double)req.upload_size,
                       (double)req.upload_size, resp.seconds > 0
                       ? (double)req.upload_size / resp.seconds : 0.0);
        cli_progress_show(&PR, line, cli_now(), 1);
        cli_progress_end(&PR);
    }
    if (!O.quiet && !O.no_wait && !PR.tty) {
        fprintf(stderr, "bulkio: job %s accepted\n", id);
    }
    if (O.no_wait) {
        if (O.json) {
            print_json(doc);
        }
        else {
            printf("%s\n", id);
        }
        json_object_put(doc);
        free((char *)id);
        return CLI_EXIT_OK;
    }
    json_object_put(doc);
    rc = wait_import(id);
    free((char *)id);
    return rc;
}

/* ---- status, cancel, errors -------------------------------------------- */

static void show_import(json_object *doc)
{
    json_object *pg = jobj(doc, "progress"), *errs, *e;
    char a[32], b[32], c[32], x[32], y[32];
    const char *reason = jstr(doc, "reason");

    printf("job       %s (import)\n", jstr(doc, "job_id"));
    printf("status    %s%s%s\n", jstr(doc, "status"), reason ? ": " : "",
           reason ? reason : "");
    printf("resource  %s (%s)\n", jstr(doc, "resource"),
           jstr(doc, "format") ? jstr(doc, "format") : "?");
    cli_fmt_count(a, sizeof(a), jint(doc, "totalRecords"));
    cli_fmt_count(b, sizeof(b), jint(doc, "successCount"));
    cli_fmt_count(c, sizeof(c), jint(doc, "errorCount"));
    printf("records   %s total, %s succeeded, %s failed\n", a, b, c);
    if (pg) {
        cli_fmt_count(a, sizeof(a), jint(pg, "processedRecords"));
        cli_fmt_bytes(x, sizeof(x), (double)jint(pg, "bytesProcessed"));
        cli_fmt_bytes(y, sizeof(y), (double)jint(pg, "bytesTotal"));
        cli_fmt_count(b, sizeof(b), jint(pg, "rowsPerSecond"));
        printf("progress  %.1f%%, %s records, %s of %s, %s rows/s\n",
               jnum(pg, "percent", 0), a, x, y, b);
    }
    printf("created   %s\n", jstr(doc, "createdAt") ? jstr(doc, "createdAt")
                                                    : "-");
    printf("started   %s\n", jstr(doc, "startedAt") ? jstr(doc, "startedAt")
                                                    : "-");
    printf("completed %s\n", jstr(doc, "completedAt")
                             ? jstr(doc, "completedAt") : "-");
    if (json_object_object_get_ex(doc, "errors", &errs)
        && json_object_is_type(errs, json_type_array)
        && json_object_array_length(errs)) {
        size_t i, n = json_object_array_length(errs);

        printf("errors    (first %zu; all: bulkio errors %s)\n", n,
               jstr(doc, "job_id"));
        for (i = 0; i < n && i < 10; ++i) {
            e = json_object_array_get_idx(errs, i);
            printf("  line %" PRId64 " %s%s%s: %s\n", jint(e, "line"),
                   jstr(e, "errorType"), jstr(e, "field") ? " " : "",
                   jstr(e, "field") ? jstr(e, "field") : "",
                   jstr(e, "errorMessage"));
        }
    }
}

static void show_export(json_object *doc)
{
    char a[32], x[32];
    const char *reason = jstr(doc, "reason");

    printf("job       %s (export)\n", jstr(doc, "job_id"));
    printf("status    %s%s%s\n", jstr(doc, "status"), reason ? ": " : "",
           reason ? reason : "");
    printf("resource  %s (%s)\n", jstr(doc, "resource"),
           jstr(doc, "format") ? jstr(doc, "format") : "?");
    cli_fmt_count(a, sizeof(a), jint(doc, "totalRecords"));
    printf("records   %s\n", a);
    if (jstr(doc, "downloadUrl")) {
        cli_fmt_bytes(x, sizeof(x), (double)jint(doc, "fileSize"));
        printf("file      %s (%s), expires %s\n", jstr(doc, "downloadUrl"),
               x, jstr(doc, "expiresAt") ? jstr(doc, "expiresAt") : "-");
    }
    printf("created   %s\n", jstr(doc, "createdAt") ? jstr(doc, "createdAt")
                                                    : "-");
    printf("completed %s\n", jstr(doc, "completedAt")
                             ? jstr(doc, "completedAt") : "-");
}

static int cmd_status(void)
{
    char path[256];
    json_object *doc;
    long status = 0;
    int rc, is_export = 0;

    snprintf(path, sizeof(path), "/v1/imports/%s", O.job_id);
    doc = get_json(path, "status", &rc, &status);
    if (!doc && status == 404) {
        /* not an import of ours: perhaps an export job */
        snprintf(path, sizeof(path), "/v1/exports/%s", O.job_id);
        doc = get_json(path, "status", &rc, NULL);
        is_export = 1;
    }
    if (!doc) {
        return rc;
    }
    if (O.json) {
        print_json(doc);
    }
    else if (is_export) {
        show_export(doc);
    }
    else {
        show_import(doc);
    }
    /* a finished job's outcome, as import gives it */
    rc = is_export ? (!strcmp(jstr(doc, "status") ? jstr(doc, "status") : "",
                              "failed")
                      || !strcmp(jstr(doc, "status") ? jstr(doc, "status")
                                                     : "", "canceled")
                      ? CLI_EXIT_JOB : CLI_EXIT_OK)
                   : import_outcome(doc);
    json_object_put(doc);
    return rc;
}

static int cmd_cancel(void)
{
    char path[256];
    json_object *doc;
    cli_req_t req;
    cli_resp_t resp;
    int rc;

    snprintf(path, sizeof(path), "/v1/imports/%s", O.job_id);
    memset(&req, 0, sizeof(req));
    req.method = "DELETE";
    req.path = path;
    req.timeout = 60;
    if (request(&req, &resp, "cancel")) {
        return CLI_EXIT_ERROR;
    }
    if (resp.status != 200 && resp.status != 202) {
        rc = http_error("cancel", &resp);
        cli_resp_clear(&resp);
        return rc;
    }
    doc = resp.body ? json_tokener_parse(resp.body) : NULL;
    cli_resp_clear(&resp);
    if (O.json) {
        print_json(doc);
    }
    else if (!O.quiet) {
        fprintf(stderr, "bulkio: job %s %s\n", O.job_id,
                resp.status == 202 ? "stops at its next batch boundary "
                                     "(bulkio status shows when)"
                                   : "canceled");
    }
    json_object_put(doc);
    return CLI_EXIT_OK;
}

/* Open -o FILE (or standard output). */
static FILE *open_output(const char *mode)
{
    FILE *f;

    if (!O.output || !strcmp(O.output, "-")) {
        return stdout;
    }
    if (!(f = fopen(O.output, mode))) {
        say("%s: %s", O.output, strerror(errno));
    }
    return f;
}

static void close_output(FILE *f, int failed)
{
    if (f == stdout) {
        fflush(stdout);
        return;
    }
    fclose(f);
    if (failed) {
        unlink(O.output);
    }
}

typedef struct {
    const char *what;
    double started;
    double last_draw;
} download_progress_t;

static int download_progress(void *baton, curl_off_t dlt, curl_off_t dln,
                             curl_off_t ult, curl_off_t uln)
{
    download_progress_t *dp = baton;
    double now = cli_now(), rate;
    char line[256], a[32], b[32], r[32];

    (void)ult;
    (void)uln;
    if (interrupted) {
        return 1;
    }
    if ((PR.tty && now - dp->last_draw < 0.1) || !dln) {
        return 0;
    }
    dp->last_draw = now;
    rate = now > dp->started ? (double)dln / (now - dp->started) : 0.0;
    cli_fmt_bytes(a, sizeof(a), (double)dln);
    cli_fmt_bytes(r, sizeof(r), rate);
    if (dlt > 0) {
        cli_fmt_bytes(b, sizeof(b), (double)dlt);
        snprintf(line, sizeof(line), "%s: %s of %s  %5.1f%%  %s/s", dp->what,
                 a, b, 100.0 * (double)dln / (double)dlt, r);
    }
    else {
        snprintf(line, sizeof(line), "%s: %s  %s/s", dp->what, a, r);
    }
    cli_progress_show(&PR, line, now, 0);
    return 0;
}

/* GET path into -o FILE or stdout (one attempt: a stream cannot resume). */
static int stream_to_output(const char *path, const char *what)
{
    download_progress_t dp;
    cli_req_t req;
    cli_resp_t resp;
    char a[32], d[32];
    FILE *out;
    int rc;

    if (!(out = open_output("wb"))) {
        return CLI_EXIT_ERROR;
    }
    memset(&req, 0, sizeof(req));
    memset(&dp, 0, sizeof(dp));
    dp.what = what;
    dp.started = cli_now();
    req.method = "GET";
    req.path = path;
    req.sink = out;
    req.progress = download_progress;
    req.baton = &dp;
    if (cli_http_do(&H, &req, &resp)) {
        say("%s: %s after %lld bytes (%s)", what, resp.error,
            (long long)resp.received, interrupted ? "interrupted" : H.base);
        cli_resp_clear(&resp);
        close_output(out, 1);
        return interrupted ? CLI_EXIT_INTERRUPT : CLI_EXIT_ERROR;
    }
    if (resp.status != 200) {
        rc = http_error(what, &resp);
        cli_resp_clear(&resp);
        close_output(out, 1);
        return rc;
    }
    close_output(out, 0);
    cli_progress_end(&PR);
    if (!O.quiet) {
        cli_fmt_bytes(a, sizeof(a), (double)resp.received);
        cli_fmt_duration(d, sizeof(d), resp.seconds);
        fprintf(stderr, "bulkio: %s: %s in %s%s%s\n", what, a, d,
                O.output && strcmp(O.output, "-") ? " to " : "",
                O.output && strcmp(O.output, "-") ? O.output : "");
    }
    cli_resp_clear(&resp);
    return CLI_EXIT_OK;
}

static int cmd_errors(void)
{
    char path[256];

    snprintf(path, sizeof(path), "/v1/imports/%s/errors", O.job_id);
    if (O.format) {
        add_param(path, sizeof(path), "format", O.format);
    }
    return stream_to_output(path, "errors");
}

/* ---- jobs ---------------------------------------------------------------- */

/* The path of a next link, which may be absolute. */
static const char *link_path(const char *next)
{
    const char *p;

    if (!strncmp(next, "http://", 7) || !strncmp(next, "https://", 8)) {
        p = strchr(strstr(next, "//") + 2, '/');
        return p ? p : "/";
    }
    return next;
}

static int list_kind(const char *kind, const char *base_path,
                     json_object *all)
{
    char path[2048], a[32];
    json_object *doc, *items, *it;
    const char *next;
    long shown = 0;
    size_t i, n;
    int rc;

    snprintf(path, sizeof(path), "%s", base_path);
    if (O.status) {
        add_param(path, sizeof(path), "status", O.status);
    }
    if (O.resource) {
        add_param(path, sizeof(path), "resource", O.resource);
    }
    if (O.limit) {
        snprintf(a, sizeof(a), "%ld", O.limit > 1000 ? 1000 : O.limit);
        add_param(path, sizeof(path), "limit", a);
    }
    for (;;) {
        if (!(doc = get_json(path, "jobs", &rc, NULL))) {
            return rc;
        }
        if (!json_object_object_get_ex(doc, "items", &items)
            || !json_object_is_type(items, json_type_array)) {
            say("jobs: the answer holds no items");
            json_object_put(doc);
            return CLI_EXIT_ERROR;
        }
        n = json_object_array_length(items);
        for (i = 0; i < n && (!O.limit || shown < O.limit); ++i, ++shown) {
            it = json_object_array_get_idx(items, i);
            if (all) {
                json_object_object_add(it, "kind",
                                       json_object_new_string(kind));
                json_object_array_add(all, json_object_get(it));
                continue;
            }
            cli_fmt_count(a, sizeof(a), jint(it, "totalRecords"));
            printf("%-6s  %-36s  %-9s  %-8s  %-6s  %12s  %s\n", kind,
                   jstr(it, "job_id"), jstr(it, "status"),
                   jstr(it, "resource"),
                   jstr(it, "format") ? jstr(it, "format") : "-", a,
                   jstr(it, "createdAt") ? jstr(it, "createdAt") : "-");
        }
        next = jstr(doc, "next");
        if (!next || !*next || (O.limit && shown >= O.limit)) {
            json_object_put(doc);
            return CLI_EXIT_OK;
        }
        snprintf(path, sizeof(path), "%s", link_path(next));
        json_object_put(doc);
    }
}

static int cmd_jobs(void)
{
    json_object *all = O.json ? json_object_new_array() : NULL;
    int rc = CLI_EXIT_OK;

    if (!O.json) {
        printf("%-6s  %-36s  %-9s  %-8s  %-6s  %12s  %s\n", "KIND", "JOB",
               "STATUS", "RESOURCE", "FORMAT", "RECORDS", "CREATED");
    }
    if (!O.kind || !strcmp(O.kind, "import")) {
        rc = list_kind("import", "/v1/imports", all);
    }
    if (!rc && (!O.kind || !strcmp(O.kind, "export"))) {
        rc = list_kind("export", "/v1/exports/jobs", all);
    }
    if (all) {
        if (!rc) {
            print_json(all);
        }
        json_object_put(all);
    }
    return rc;
}

/* ---- export ---------------------------------------------------------------- */

/* Download a finished export job's file, resuming with Range after an
 * interruption, and check its size. */
static int download_job(const char *url, int64_t size)
{
    download_progress_t dp;
    cli_req_t req;
    cli_resp_t resp;
    char a[32], d[32];
    curl_off_t have = 0;
    double delay = 0.5, t0 = cli_now();
    int attempt, resumed = 0, rc;
    FILE *out;

    if (!(out = open_output("wb"))) {
        return CLI_EXIT_ERROR;
    }
    memset(&dp, 0, sizeof(dp));
    dp.what = "download";
    for (attempt = 0; ; ++attempt) {
        memset(&req, 0, sizeof(req));
        dp.started = cli_now();
        req.method = "GET";
        req.path = link_path(url);
        req.sink = out;
        req.resume_from = have;
        req.progress = download_progress;
        req.baton = &dp;
        rc = cli_http_do(&H, &req, &resp);
        have += resp.received;
        if (rc == 0 && (resp.status == 200 || resp.status == 206)) {
            cli_resp_clear(&resp);
            break;
        }
        if (rc == 0) {
            rc = http_error("download", &resp);
            cli_resp_clear(&resp);
            close_output(out, 1);
            return rc;
        }
        if (interrupted) {
            cli_resp_clear(&resp);
            close_output(out, 1);
            say("download interrupted; the file stays on the server until it "
                "expires");
            return CLI_EXIT_INTERRUPT;
        }
        if (resp.code == CURLE_RANGE_ERROR && out != stdout) {
            /* the server ignored Range: start over */
            say("download: the server cannot resume; starting over");
            if (ftruncate(fileno(out), 0) || fseeko(out, 0, SEEK_SET)) {
                cli_resp_clear(&resp);
                close_output(out, 1);
                return CLI_EXIT_ERROR;
            }
            have = 0;
        }
        else if (!cli_http_retryable(resp.code) || attempt >= O.retries) {
            say("download: %s after %lld bytes", resp.error,
                (long long)have);
            cli_resp_clear(&resp);
            close_output(out, 1);
            return CLI_EXIT_ERROR;
        }
        say("download: %s after %lld bytes; resuming in %.1f s", resp.error,
            (long long)have, delay);
        cli_resp_clear(&resp);
        ++resumed;
        nap(delay);
        delay *= 2;
    }
    if (fflush(out)) {
        say("%s: %s", O.output ? O.output : "stdout", strerror(errno));
        close_output(out, 1);
        return CLI_EXIT_ERROR;
    }
    close_output(out, 0);
    cli_progress_end(&PR);
    if (size >= 0 && have != (curl_off_t)size) {
        say("download: %lld bytes received, the export has %lld",
            (long long)have, (long long)size);
        return CLI_EXIT_ERROR;
    }
    if (!O.quiet) {
        cli_fmt_bytes(a, sizeof(a), (double)have);
        cli_fmt_duration(d, sizeof(d), cli_now() - t0);
        fprintf(stderr, "bulkio: download: %s in %s%s%s", a, d,
                O.output && strcmp(O.output, "-") ? " to " : "",
                O.output && strcmp(O.output, "-") ? O.output : "");
        if (resumed) {
            fprintf(stderr, " (resumed %d time%s)", resumed,
                    resumed == 1 ? "" : "s");
        }
        fputc('\n', stderr);
    }
    return CLI_EXIT_OK;
}

static int export_job(void)
{
    char path[256], key[37], line[256], n[32];
    json_object *body, *filters, *fields, *doc = NULL;
    const char *id, *status;
    cli_req_t req;
    cli_resp_t resp;
    char *copy, *tok, *save, *eq, *url;
    int64_t size;
    int i, rc;

    body = json_object_new_object();
    json_object_object_add(body, "resource",
                           json_object_new_string(O.resource));
    json_object_object_add(body, "format", json_object_new_string(
                               O.format ? O.format : "ndjson"));
    filters = json_object_new_object();
    for (i = 0; i < O.nfilters; ++i) {
        copy = strdup(O.filters[i]);
        eq = strchr(copy, '=');
        *eq = '\0';
        json_object_object_add(filters, copy, json_object_new_string(eq + 1));
        free(copy);
    }
    json_object_object_add(body, "filters", filters);
    if (O.fields) {
        fields = json_object_new_array();
        copy = strdup(O.fields);
        for (tok = strtok_r(copy, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            json_object_array_add(fields, json_object_new_string(tok));
        }
        free(copy);
        json_object_object_add(body, "fields", fields);
    }
    memset(&req, 0, sizeof(req));
    if (O.idempotency_key) {
        req.idempotency_key = O.idempotency_key;
    }
    else {
        uuid4(key);
        req.idempotency_key = key;
    }
    req.method = "POST";
    req.path = "/v1/exports";
    req.content_type = "application/json";
    req.body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    req.timeout = 60;
    rc = request(&req, &resp, "export");
    json_object_put(body);
    if (rc) {
        return interrupted ? CLI_EXIT_INTERRUPT : CLI_EXIT_ERROR;
    }
    if (resp.status != 202 && resp.status != 200) {
        rc = http_error("export", &resp);
        cli_resp_clear(&resp);
        return rc;
    }
    doc = resp.body ? json_tokener_parse(resp.body) : NULL;
    cli_resp_clear(&resp);
    if (!(id = jstr(doc, "job_id"))) {
        say("export: the server's answer holds no job_id");
        json_object_put(doc);
        return CLI_EXIT_ERROR;
    }
    id = strdup(id);
    if (O.no_wait) {
        if (O.json) {
            print_json(doc);
        }
        else {
            printf("%s\n", id);
        }
        json_object_put(doc);
        free((char *)id);
        return CLI_EXIT_OK;
    }
    snprintf(path, sizeof(path), "/v1/exports/%s", id);
    for (;;) {
        json_object_put(doc);
        if (!(doc = get_json(path, "status", &rc, NULL))) {
            rc = interrupted ? interrupted_wait(id, "export") : rc;
            free((char *)id);
            return rc;
        }
        status = jstr(doc, "status");
        cli_fmt_count(n, sizeof(n), jint(doc, "totalRecords"));
        snprintf(line, sizeof(line), "export job %.8s %-9s %s records", id,
                 status ? status : "?", n);
        cli_progress_show(&PR, line, cli_now(), is_final(status));
        if (is_final(status)) {
            break;
        }
        nap(O.poll_interval);
        if (interrupted) {
            json_object_put(doc);
            rc = interrupted_wait(id, "export");
            free((char *)id);
            return rc;
        }
    }
    cli_progress_end(&PR);
    free((char *)id);
    if (strcmp(status, "completed")) {
        say("export job %s %s%s%s", jstr(doc, "job_id"), status,
            jstr(doc, "reason") ? ": " : "",
            jstr(doc, "reason") ? jstr(doc, "reason") : "");
        if (O.json) {
            print_json(doc);
        }
        json_object_put(doc);
        return CLI_EXIT_JOB;
    }
    if (!jstr(doc, "downloadUrl")) {
        say("export: the job has no downloadUrl (expired?)");
        json_object_put(doc);
        return CLI_EXIT_ERROR;
    }
    url = strdup(jstr(doc, "downloadUrl"));
    size = json_object_object_get_ex(doc, "fileSize", &body) && body
           ? json_object_get_int64(body) : -1;
    rc = download_job(url, size);
    free(url);
    if (O.json && !rc && O.output && strcmp(O.output, "-")) {
        print_json(doc);
    }
    json_object_put(doc);
    return rc;
}

static int cmd_export(void)
{
    char path[4096], *copy, *eq;
    int i;

    if (O.as_job) {
        return export_job();
    }
    snprintf(path, sizeof(path), "/v1/exports?resource=%s", O.resource);
    if (O.format) {
        add_param(path, sizeof(path), "format", O.format);
    }
    if (O.fields) {
        add_param(path, sizeof(path), "fields", O.fields);
    }
    for (i = 0; i < O.nfilters; ++i) {
        copy = strdup(O.filters[i]);
        eq = strchr(copy, '=');
        *eq = '\0';
        add_param(path, sizeof(path), copy, eq + 1);
        free(copy);
    }
    return stream_to_output(path, "export");
}

/* ---- main ---------------------------------------------------------------- */

/* The token of --token-file or the default file: its first line. */
static char *read_token(const char *path, int required)
{
    char buf[4096];
    size_t n;
    FILE *f = fopen(path, "r");

    if (!f) {
        if (required) {
            say("%s: %s", path, strerror(errno));
        }
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0] && required) {
        say("%s: holds no token (its first line is empty)", path);
    }
    return buf[0] ? strdup(buf) : NULL;
}

/* Overwrite --token's value in argv, so ps shows it no more (it was
 * visible until now: prefer BULKIO_TOKEN or --token-file). */
static void scrub_argv(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--") ) {
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

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct winsize ws;
    char err[512], *token = NULL, *base;
    size_t n;
    int rc;

    t_start = cli_now();
    cli_progress_init(&PR, stderr, 0, 1);
    if (cli_parse(argc, argv, &O, err, sizeof(err))) {
        fprintf(stderr, "bulkio: %s (bulkio --help shows the usage)\n", err);
        return CLI_EXIT_ERROR;
    }
    if (O.cmd == CLI_CMD_HELP) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (O.cmd == CLI_CMD_VERSION) {
        printf("bulkio %s (%s)\n", BULKIO_CLIENT_VERSION, curl_version());
        return CLI_EXIT_OK;
    }
    if (O.token) {
        token = strdup(O.token);
        scrub_argv(argc, argv);
    }
    else {
        /* --token-file must exist; the default file may be absent */
        token = read_token(O.token_file, !O.token_file_default);
        if (!token && !O.token_file_default) {
            return CLI_EXIT_ERROR;
        }
    }
    cli_progress_init(&PR, stderr, isatty(2), O.quiet);
    if (PR.tty && !ioctl(2, TIOCGWINSZ, &ws) && ws.ws_col) {
        PR.cols = ws.ws_col;
    }
    if (!PR.tty && O.poll_interval == 0.5) {
        O.poll_interval = 1.0;
    }
    base = strdup(O.url);
    n = strlen(base);
    while (n && base[n - 1] == '/') {
        base[--n] = '\0';
    }
    if (n > 3 && !strcmp(base + n - 3, "/v1")) {
        base[n - 3] = '\0';     /* paths carry /v1 */
    }
    H.base = base;
    H.token = token;
    H.user_agent = "bulkio/" BULKIO_CLIENT_VERSION;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);  /* no SA_RESTART: naps wake up */
    signal(SIGPIPE, SIG_IGN);
    if (cli_http_init()) {
        fprintf(stderr, "bulkio: cannot initialise libcurl\n");
        return CLI_EXIT_ERROR;
    }
    switch (O.cmd) {
    case CLI_CMD_IMPORT: rc = cmd_import(); break;
    case CLI_CMD_STATUS: rc = cmd_status(); break;
    case CLI_CMD_CANCEL: rc = cmd_cancel(); break;
    case CLI_CMD_ERRORS: rc = cmd_errors(); break;
    case CLI_CMD_JOBS:   rc = cmd_jobs(); break;
    case CLI_CMD_EXPORT: rc = cmd_export(); break;
    default:             rc = CLI_EXIT_ERROR; break;
    }
    cli_progress_end(&PR);
    curl_global_cleanup();
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    free(base);
    return rc;
}
