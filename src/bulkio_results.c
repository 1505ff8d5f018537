/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_results.h"

/* The longest id an entry holds, plus one. */
#define ID_MAX 256

/* The letters of the actions, by bulkio_action_e. */
static const char letters[] = "iundf";

static const char *const names[] = {
    "inserted", "updated", "unchanged", "deleted", "failed"
};

const char *bulkio_action_name(bulkio_action_e action)
{
    return names[action];
}

void bulkio_results_init(bulkio_results_t *rs, apr_pool_t *p,
                         apr_size_t cap)
{
    memset(rs, 0, sizeof(*rs));
    bulkio_buf_init(&rs->buf, p, cap);
}

/* Append v in decimal (snprintf is a good part of the cost at a million
 * records). */
static void add_num(bulkio_buf_t *buf, apr_int64_t v)
{
    char tmp[24], *e = tmp + sizeof(tmp), *s = e;
    apr_uint64_t u = v < 0 ? (apr_uint64_t)0 - (apr_uint64_t)v
                           : (apr_uint64_t)v;

    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *--s = '-';
    }
    bulkio_buf_add(buf, s, (apr_size_t)(e - s));
}

void bulkio_results_add(bulkio_results_t *rs, const bulkio_result_t *e)
{
    apr_size_t len;

    if (!rs->count++) {
        rs->first = e->index;
        rs->prev_index = e->index - 1;
        rs->prev_line = 0;
    }
    bulkio_buf_addc(&rs->buf, letters[e->action]);
    if (e->action == BULKIO_ACT_FAILED) {
        bulkio_buf_addc(&rs->buf, (char)('0' + e->error));
    }
    add_num(&rs->buf, e->index - rs->prev_index);
    bulkio_buf_addc(&rs->buf, ',');
    add_num(&rs->buf, e->line - rs->prev_line);
    bulkio_buf_addc(&rs->buf, ',');
    /* an id that is not one of ours (a row written by something else)
     * is left out rather than break the entry's line */
    if (e->id && (len = strlen(e->id)) < ID_MAX
        && !memchr(e->id, '\n', len)) {
        bulkio_buf_add(&rs->buf, e->id, len);
    }
    bulkio_buf_addc(&rs->buf, '\n');
    rs->prev_index = e->index;
    rs->prev_line = e->line;
}

#define STORE_SQL "INSERT INTO bulkio_job_results" \
                  " (job_id, first_record, records, entries)"

apr_status_t bulkio_results_store(apr_pool_t *p, PGconn *conn,
                                  apr_int64_t job,
                                  const bulkio_results_t *rs, int *sent)
{
    const char *params[4];

    if (!rs->count) {
        return APR_SUCCESS;
    }
    params[0] = bulkio_pq_int64(p, job);
    params[1] = bulkio_pq_int64(p, rs->first);
    params[2] = apr_itoa(p, rs->count);
    params[3] = apr_pstrmemdup(p, rs->buf.data, rs->buf.len);
    if (!sent) {
        return bulkio_pq_exec(p, conn, STORE_SQL " VALUES ($1, $2, $3, $4)",
                              4, params, NULL);
    }
    /* set_config(…, true): SET LOCAL for the statement's transaction */
    *sent = PQsendQueryParams(conn, STORE_SQL
                              " SELECT $1::bigint, $2::bigint, $3::int,"
                              "        $4::text"
                              "  WHERE set_config('synchronous_commit',"
                              "                   'off', true) = 'off'",
                              4, NULL, params, NULL, NULL, 0);
    return *sent ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t bulkio_results_send(apr_pool_t *p, PGconn *conn,
                                  apr_int64_t job)
{
    const char *params[] = { bulkio_pq_int64(p, job) };

    return bulkio_pq_send(conn, "SELECT first_record, entries"
                          "  FROM bulkio_job_results WHERE job_id = $1"
                          " ORDER BY first_record", 1, params);
}

/* A signed decimal at *s, up to the character stop. */
static int read_num(const char **s, char stop, apr_int64_t *v)
{
    const char *c = *s;
    apr_int64_t n = 0;
    int neg = *c == '-';

    c += neg;
    if (!apr_isdigit(*c)) {
        return 0;
    }
    while (apr_isdigit(*c)) {
        n = n * 10 + (*c++ - '0');
    }
    if (*c != stop) {
        return 0;
    }
    *v = neg ? -n : n;
    *s = c + 1;
    return 1;
}

apr_status_t bulkio_results_expand(apr_int64_t first, const char *entries,
                                   bulkio_result_fn *fn, void *baton)
{
    const char *s = entries, *a, *nl;
    char id[ID_MAX];
    bulkio_result_t e;
    apr_int64_t di, dl;

    memset(&e, 0, sizeof(e));
    e.index = first - 1;
    while (*s) {
        if (!(a = strchr(letters, *s))) {
            return APR_EGENERAL;
        }
        e.action = (bulkio_action_e)(a - letters);
        e.error = BULKIO_ERR_NONE;
        ++s;
        if (e.action == BULKIO_ACT_FAILED) {
            if (*s < '1' || *s > '0' + BULKIO_ERR_LAST) {
                return APR_EGENERAL;
            }
            e.error = (bulkio_errtype_e)(*s++ - '0');
        }
        if (!read_num(&s, ',', &di) || !read_num(&s, ',', &dl)
            || !(nl = strchr(s, '\n'))
            || (apr_size_t)(nl - s) >= sizeof(id)) {
            return APR_EGENERAL;
        }
        e.index += di;
        e.line += dl;
        memcpy(id, s, (apr_size_t)(nl - s));
        id[nl - s] = '\0';
        e.id = nl > s ? id : NULL;
        fn(baton, &e);
        s = nl + 1;
    }
    return APR_SUCCESS;
}

const char *bulkio_results_record_id(apr_pool_t *p, json_object *obj)
{
    json_object *v;
    const char *s;
    char *out, *c;

    if (!obj || !json_object_is_type(obj, json_type_object)
        || !json_object_object_get_ex(obj, "id", &v)
        || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    s = json_object_get_string(v);
    if (!bulkio_is_uuid(s + (strncmp(s, "cm_", 3) ? 0 : 3))) {
        return NULL;
    }
    out = apr_pstrdup(p, s);
    for (c = out; *c; ++c) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}
