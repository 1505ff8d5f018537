/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "bulkio_joblist.h"
#include "bulkio_record.h"
#include "bulkio_util.h"

static const char *const states[] = {
    "pending", "running", "completed", "failed", "canceled"
};
#define NSTATES (sizeof(states) / sizeof(states[0]))

/* The parameters of a list of one kind, and of the list across kinds. */
static const char *const known[] = {
    "status", "resource", "created_after", "created_before", "limit",
    "cursor", "id_prefix", NULL
};
static const char *const known_all[] = {
    "status", "resource", "created_after", "created_before", "limit",
    "cursor", "id_prefix", "kind", NULL
};

static apr_status_t fail(const char **perror, const char *msg)
{
    *perror = msg;
    return APR_EINVAL;
}

/* The start of a job id: 1 to 36 of its characters (hex digits and
 * dashes), kept in lower case. */
static apr_status_t parse_id_prefix(apr_pool_t *p, const char *s,
                                    const char **pprefix, const char **perror)
{
    char *lower = apr_pstrdup(p, s), *c;

    for (c = lower; *c; ++c) {
        if (!apr_isxdigit(*c) && *c != '-') {
            break;
        }
        *c = (char)apr_tolower(*c);
    }
    if (*c || c == lower || c - lower > 36) {
        return fail(perror, "id_prefix must be the start of a job id: 1 to "
                    "36 hex digits and dashes");
    }
    *pprefix = lower;
    return APR_SUCCESS;
}

/* "a,b" to the text[] literal "{a,b}"; every name is one of states. */
static apr_status_t parse_statuses(apr_pool_t *p, const char *s,
                                   const char **plit, const char **perror)
{
    char *copy = apr_pstrdup(p, s), *tok, *last;
    const char *lit = NULL;
    apr_size_t i;

    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        for (i = 0; i < NSTATES && strcmp(tok, states[i]); ++i) {
        }
        if (i == NSTATES) {
            return fail(perror, apr_psprintf(p, "unknown status '%s'; "
                        "allowed: pending, running, completed, failed, "
                        "canceled", tok));
        }
        lit = lit ? apr_pstrcat(p, lit, ",", states[i], NULL) : states[i];
    }
    if (!lit || s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,")) {
        return fail(perror, "status must be one or more of pending, "
                    "running, completed, failed, canceled, separated by "
                    "commas");
    }
    *plit = apr_pstrcat(p, "{", lit, "}", NULL);
    return APR_SUCCESS;
}

static int all_digits(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
    }
    return n > 0 && n <= 18;
}

const char *bulkio_joblist_cursor(apr_pool_t *p, const bulkio_job_t *j)
{
    const char *plain = apr_psprintf(p, "%" APR_INT64_T_FMT ":%"
                                     APR_INT64_T_FMT, j->created_us, j->id);
    int len = (int)strlen(plain);
    char *enc = apr_palloc(p, apr_base64_encode_len(len));
    char *c;

    apr_base64_encode(enc, plain, len);
    for (c = enc; *c; ++c) {
        if (*c == '+') {
            *c = '-';
        }
        else if (*c == '/') {
            *c = '_';
        }
        else if (*c == '=') {
            *c = '\0';
            break;
        }
    }
    return enc;
}

static apr_status_t parse_cursor(apr_pool_t *p, const char *s,
                                 bulkio_job_query_t *q, const char **perror)
{
    apr_size_t n = strlen(s), i;
    char *b64, *plain, *colon;
    int len;

    if (n == 0 || n > 64) {
        return fail(perror, "the cursor is not one this server gave");
    }
    b64 = apr_palloc(p, n + 4);
    for (i = 0; i < n; ++i) {
        char c = s[i];

        if (!(apr_isalnum(c) || c == '-' || c == '_')) {
            return fail(perror, "the cursor is not one this server gave");
        }
        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (i % 4) {
        b64[i++] = '=';
    }
    b64[i] = '\0';
    plain = apr_palloc(p, apr_base64_decode_len(b64) + 1);
    len = apr_base64_decode(plain, b64);
    plain[len < 0 ? 0 : len] = '\0';
    colon = strchr(plain, ':');
    if (!colon || !all_digits(plain, (apr_size_t)(colon - plain))
        || !all_digits(colon + 1, strlen(colon + 1))) {
        return fail(perror, "the cursor is not one this server gave");
    }
    q->after_set = 1;
    q->after_us = apr_atoi64(plain);
    q->after_id = apr_atoi64(colon + 1);
    /* one cursor for one position: its canonical form only */
    {
        bulkio_job_t j;

        j.created_us = q->after_us;
        j.id = q->after_id;
        if (strcmp(bulkio_joblist_cursor(p, &j), s)) {
            return fail(perror, "the cursor is not one this server gave");
        }
    }
    return APR_SUCCESS;
}

apr_status_t bulkio_joblist_parse(apr_pool_t *p, apr_table_t *args,
                                  bulkio_job_query_t *q, const char **perror)
{
    const char *v, *unknown;
    const struct {
        const char *name;
        const char **value;
    } bounds[] = {
        { "created_after", &q->created_after },
        { "created_before", &q->created_before },
    };
    char *end;
    long limit;
    int i;

    q->statuses = q->resource = q->created_after = q->created_before = NULL;
    q->id_prefix = NULL;
    q->after_set = 0;
    q->limit = BULKIO_JOBLIST_LIMIT_DEFAULT;
    if ((unknown = bulkio_args_unknown(p, args, q->all_kinds ? known_all
                                                              : known))) {
        return fail(perror, unknown);
    }
    if (q->all_kinds) {
        q->kind = NULL;
        if ((v = apr_table_get(args, "kind"))) {
            if (strcmp(v, "import") && strcmp(v, "export")) {
                return fail(perror, "unknown kind; allowed: import, export");
            }
            q->kind = v;
        }
    }
    if ((v = apr_table_get(args, "id_prefix"))
        && parse_id_prefix(p, v, &q->id_prefix, perror) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((v = apr_table_get(args, "status"))
        && parse_statuses(p, v, &q->statuses, perror) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((v = apr_table_get(args, "resource"))) {
        if (bulkio_resource_from_name(v) < 0) {
            return fail(perror, "unknown resource; allowed: users, articles, "
                        "comments");
        }
        q->resource = v;
    }
    for (i = 0; i < (int)(sizeof(bounds) / sizeof(bounds[0])); ++i) {
        if ((v = apr_table_get(args, bounds[i].name))) {
            if (!bulkio_is_rfc3339(v)) {
                return fail(perror, apr_pstrcat(p, bounds[i].name,
                            " must be an RFC 3339 timestamp with an "
                            "offset, e.g. 2024-01-01T00:00:00Z", NULL));
            }
            *bounds[i].value = v;
        }
    }
    if ((v = apr_table_get(args, "limit"))) {
        limit = apr_isdigit(*v) ? strtol(v, &end, 10) : 0;
        if (!apr_isdigit(*v) || *end || limit < 1
            || limit > BULKIO_JOBLIST_LIMIT_MAX || strlen(v) > 4) {
            return fail(perror, "limit must be a whole number from 1 to "
                        "1000");
        }
        q->limit = (int)limit;
    }
    if ((v = apr_table_get(args, "cursor"))
        && parse_cursor(p, v, q, perror) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Percent-encode everything but RFC 3986's unreserved characters. */
static const char *qenc(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;

        if (apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
            || c == ',' || c == ':') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *bulkio_joblist_next_query(apr_pool_t *p,
                                      const bulkio_job_query_t *q,
                                      int limit_given,
                                      const bulkio_job_t *last)
{
    const char *s = "";

    if (q->statuses) {
        /* "{a,b}" back to "a,b" */
        s = apr_pstrcat(p, s, "status=", qenc(p, apr_pstrmemdup(
                        p, q->statuses + 1, strlen(q->statuses) - 2)), "&",
                        NULL);
    }
    if (q->resource) {
        s = apr_pstrcat(p, s, "resource=", qenc(p, q->resource), "&", NULL);
    }
    if (q->created_after) {
        s = apr_pstrcat(p, s, "created_after=", qenc(p, q->created_after),
                        "&", NULL);
    }
    if (q->created_before) {
        s = apr_pstrcat(p, s, "created_before=", qenc(p, q->created_before),
                        "&", NULL);
    }
    if (q->id_prefix) {
        s = apr_pstrcat(p, s, "id_prefix=", q->id_prefix, "&", NULL);
    }
    if (q->all_kinds && q->kind) {
        s = apr_pstrcat(p, s, "kind=", q->kind, "&", NULL);
    }
    if (limit_given) {
        s = apr_pstrcat(p, s, apr_psprintf(p, "limit=%d&", q->limit), NULL);
    }
    return apr_pstrcat(p, s, "cursor=", bulkio_joblist_cursor(p, last), NULL);
}
