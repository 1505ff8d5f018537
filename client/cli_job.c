/* bulkio: making a job, waiting for it, its outcome. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_job.h"
#include "cli_output.h"

/* A random UUIDv4 from /dev/urandom. */
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

const char *cli_job_key(cli_ctx_t *ctx, char key[37])
{
    if (ctx->opts.idempotency_key) {
        return ctx->opts.idempotency_key;
    }
    uuid4(key);
    return key;
}

json_object *cli_job_accepted(cli_ctx_t *ctx, cli_resp_t *resp,
                              const char *what, int *rc)
{
    json_object *doc;

    if (resp->status != 202 && resp->status != 200 && resp->status != 201) {
        *rc = cli_http_error(ctx, what, resp);
        cli_resp_clear(resp);
        return NULL;
    }
    doc = resp->body ? json_tokener_parse(resp->body) : NULL;
    cli_resp_clear(resp);
    if (!cli_json_str(doc, "job_id")) {
        cli_say(ctx, "%s: the server's answer holds no job_id", what);
        json_object_put(doc);
        *rc = CLI_EXIT_ERROR;
        return NULL;
    }
    return doc;
}

int cli_job_print(cli_ctx_t *ctx, json_object *doc)
{
    if (ctx->opts.json) {
        cli_json_print(doc);
    }
    else {
        printf("%s\n", cli_json_str(doc, "job_id"));
    }
    return CLI_EXIT_OK;
}

int cli_job_final(const char *status)
{
    return status && (!strcmp(status, "completed") || !strcmp(status, "failed")
                      || !strcmp(status, "canceled"));
}

int cli_job_outcome(json_object *doc, int records)
{
    const char *status = cli_json_str_or(doc, "status", "");

    if (!strcmp(status, "completed")) {
        return records && cli_json_int(doc, "errorCount") ? CLI_EXIT_RECORDS
                                                          : CLI_EXIT_OK;
    }
    return cli_job_final(status) ? CLI_EXIT_JOB : CLI_EXIT_OK;
}

int cli_job_actions(json_object *doc, int64_t counts[CLI_NACTIONS])
{
    char key[32];
    int a, found = 0;

    for (a = 0; a < CLI_NACTIONS; ++a) {
        snprintf(key, sizeof(key), "%sCount",
                 cli_action_name((cli_action_e)a));
        found |= json_object_object_get_ex(doc, key, NULL);
        counts[a] = cli_json_int(doc, key);
    }
    return found;
}

/* Ctrl-C while waiting: the job runs on; say how to follow it. */
static int interrupted_wait(cli_ctx_t *ctx, const char *id, const char *kind)
{
    cli_progress_end(&ctx->progress);
    fprintf(stderr, "bulkio: interrupted; the %s job %s keeps running on "
            "the server.\n  follow it: bulkio status %s\n", kind, id, id);
    if (!strcmp(kind, "import")) {
        fprintf(stderr, "  cancel it: bulkio cancel %s\n", id);
    }
    return CLI_EXIT_INTERRUPT;
}

json_object *cli_job_wait(cli_ctx_t *ctx, const char *kind, const char *id,
                          cli_job_line_fn *line, int *rc)
{
    char path[256], buf[512];
    json_object *doc;
    int final;

    snprintf(path, sizeof(path), "/v1/%ss/%s", kind, id);
    for (;;) {
        if (!(doc = cli_get_json(ctx, path, "status", rc, NULL))) {
            if (cli_interrupted(ctx)) {
                *rc = interrupted_wait(ctx, id, kind);
            }
            return NULL;
        }
        line(buf, sizeof(buf), id, doc);
        final = cli_job_final(cli_json_str(doc, "status"));
        cli_progress_show(&ctx->progress, buf, cli_now(), final);
        if (final) {
            break;
        }
        json_object_put(doc);
        cli_nap(ctx, ctx->opts.poll_interval);
        if (cli_interrupted(ctx)) {
            *rc = interrupted_wait(ctx, id, kind);
            return NULL;
        }
    }
    cli_progress_end(&ctx->progress);
    return doc;
}

void cli_job_export_line(char *buf, size_t len, const char *id,
                         json_object *doc)
{
    char n[32];

    cli_fmt_count(n, sizeof(n), cli_json_int(doc, "totalRecords"));
    snprintf(buf, len, "export job %s %-9s %s records", id,
             cli_json_str_or(doc, "status", "?"), n);
}

/* How many ids an ambiguous prefix lists. */
#define AMBIGUOUS_SHOWN 5

int cli_job_resolve(cli_ctx_t *ctx, const char *what, cli_job_ref_t *ref)
{
    const char *given = ctx->opts.job_id, *id, *kind;
    char path[256], list[AMBIGUOUS_SHOWN * 38 + 8] = "";
    json_object *doc, *items, *it;
    long status = 0;
    int64_t total;
    size_t i, n;
    int rc;

    memset(ref, 0, sizeof(*ref));
    snprintf(path, sizeof(path), "/v1/jobs?limit=%d", AMBIGUOUS_SHOWN);
    cli_add_param(path, sizeof(path), "id_prefix", given);
    doc = cli_get_json(ctx, path, what, &rc, &status);
    if (!doc && status == 404 && strlen(given) == 36) {
        /* a server without the list across kinds: a whole id as given */
        snprintf(ref->id, sizeof(ref->id), "%s", given);
        return 0;
    }
    if (!doc) {
        if (status == 404) {
            cli_say(ctx, "%s: this server cannot resolve the start of a job "
                    "id; give the whole id", what);
        }
        return CLI_EXIT_ERROR;
    }
    items = cli_json_arr(doc, "items");
    n = items ? json_object_array_length(items) : 0;
    total = cli_json_int(doc, "total");
    if (total < (int64_t)n) {
        total = (int64_t)n;
    }
    if (n == 1 && total == 1) {
        it = json_object_array_get_idx(items, 0);
        id = cli_json_str(it, "job_id");
        kind = cli_json_str(it, "kind");
        snprintf(ref->id, sizeof(ref->id), "%s", id ? id : "");
        snprintf(ref->kind, sizeof(ref->kind), "%s", kind ? kind : "");
        json_object_put(doc);
        return 0;
    }
    if (!n) {
        cli_say(ctx, "%s: no job of yours has an id that starts with %s",
                what, given);
    }
    else {
        for (i = 0; i < n; ++i) {
            it = json_object_array_get_idx(items, i);
            snprintf(list + strlen(list), sizeof(list) - strlen(list),
                     "%s%s", i ? ", " : "", cli_json_str_or(it, "job_id",
                                                            "?"));
        }
        cli_say(ctx, "%s: %s is ambiguous: %lld jobs of yours start with it "
                "(%s%s); give more of the id", what, given,
                (long long)total, list, total > (int64_t)n ? ", ..." : "");
    }
    json_object_put(doc);
    return CLI_EXIT_ERROR;
}

int cli_job_report(cli_ctx_t *ctx, const char *what)
{
    char path[256], suffix[32];
    cli_job_ref_t ref;
    int rc;

    /* an -o FILE that would be refused is refused first */
    if ((rc = cli_output_check(ctx)) || (rc = cli_job_resolve(ctx, what,
                                                               &ref))) {
        return rc;
    }
    if (!strcmp(ref.kind, "export")) {
        cli_say(ctx, "%s: %s is an export job; only imports have %s", what,
                ref.id, what);
        return CLI_EXIT_ERROR;
    }
    snprintf(suffix, sizeof(suffix), "/%s", what);
    cli_job_path(path, sizeof(path), &ref, "import", suffix);
    if (ctx->opts.format) {
        cli_add_param(path, sizeof(path), "format", ctx->opts.format);
    }
    return cli_output_stream(ctx, path, what);
}

void cli_job_path(char *buf, size_t len, const cli_job_ref_t *ref,
                  const char *dflt, const char *suffix)
{
    snprintf(buf, len, "/v1/%ss/%s%s", *ref->kind ? ref->kind : dflt,
             ref->id, suffix ? suffix : "");
}
