/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_lib.h>
#include <apr_strings.h>

#include "bulkio_export.h"
#include "bulkio_pq.h"
#include "bulkio_util.h"

#define MAX_FIELDS  8
#define MAX_FILTERS 8

/* Bytes of encoded rows handed to a stream's sink at a time; its buffer
 * has room for twice as many, so that the row that fills a chunk seldom
 * makes it grow (and copy). */
#define STREAM_CHUNK (128 * 1024)

/* UTC RFC 3339 with only the fractional digits needed. */
#define TS(col) "rtrim(rtrim(to_char(" col " AT TIME ZONE 'UTC', " \
                "'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '0'), '.') || 'Z'"

typedef enum { V_TEXT, V_BOOL, V_JSON } value_e;

/* A field on the wire and the SQL that gives it as text. */
typedef struct {
    const char *name;
    const char *camel;
    const char *expr;
    value_e type;
} field_t;

typedef enum { F_ENUM, F_BOOL, F_UUID, F_TIME } filter_e;

/* A filter and the condition it adds ("%d" is its parameter's number). */
typedef struct {
    const char *name;
    const char *camel;
    filter_e type;
    const char *values;      /* F_ENUM: "a, b, c" */
    const char *cond;
} filter_t;

typedef struct {
    const char *name;
    const char *from;
    const char *order;
    field_t fields[MAX_FIELDS];
    filter_t filters[MAX_FILTERS];
} resource_t;

#define TIME_FILTERS(t) \
    { "created_after", "createdAfter", F_TIME, NULL, \
      t ".created_at > $%d::timestamptz" }, \
    { "created_before", "createdBefore", F_TIME, NULL, \
      t ".created_at < $%d::timestamptz" }, \
    { "updated_after", "updatedAfter", F_TIME, NULL, \
      t ".updated_at > $%d::timestamptz" }

static const resource_t resources[] = {
    { "users", "users u", "u.id", {
        { "id", NULL, "u.external_id", V_TEXT },
        { "email", NULL, "u.email", V_TEXT },
        { "name", NULL, "u.name", V_TEXT },
        { "role", NULL, "u.role", V_TEXT },
        { "active", NULL, "CASE WHEN u.active THEN 't' ELSE 'f' END", V_BOOL },
        { "created_at", "createdAt", TS("u.created_at"), V_TEXT },
        { "updated_at", "updatedAt", TS("u.updated_at"), V_TEXT },
      }, {
        { "role", NULL, F_ENUM, "admin, author, reader", "u.role = $%d" },
        { "active", NULL, F_BOOL, NULL, "u.active = $%d::boolean" },
        TIME_FILTERS("u"),
      } },
    { "articles", "articles a JOIN users au ON au.id = a.author_id", "a.id", {
        { "id", NULL, "a.external_id", V_TEXT },
        { "slug", NULL, "a.slug", V_TEXT },
        { "title", NULL, "a.title", V_TEXT },
        { "body", NULL, "a.body", V_TEXT },
        { "author_id", "authorId", "au.external_id", V_TEXT },
        { "tags", NULL, "array_to_json(a.tags)::text", V_JSON },
        { "published_at", "publishedAt", TS("a.published_at"), V_TEXT },
        { "status", NULL, "a.status", V_TEXT },
      }, {
        { "status", NULL, F_ENUM, "draft, published", "a.status = $%d" },
        { "author_id", "authorId", F_UUID, NULL, "au.external_id = $%d" },
        TIME_FILTERS("a"),
      } },
    { "comments", "comments c JOIN articles ca ON ca.id = c.article_id"
                  " JOIN users cu ON cu.id = c.user_id", "c.id", {
        { "id", NULL, "c.external_id", V_TEXT },
        { "article_id", "articleId", "ca.external_id", V_TEXT },
        { "user_id", "userId", "cu.external_id", V_TEXT },
        { "body", NULL, "c.body", V_TEXT },
        { "created_at", "createdAt", TS("c.created_at"), V_TEXT },
      }, {
        { "article_id", "articleId", F_UUID, NULL, "ca.external_id = $%d" },
        { "user_id", "userId", F_UUID, NULL, "cu.external_id = $%d" },
        TIME_FILTERS("c"),
      } },
};

struct bulkio_export_t {
    const resource_t *res;
    bulkio_format_e format;
    int tsv;                           /* format tsv: CSV with tabs */
    char delim;                        /* CSV: the delimiter */
    int include_deleted;               /* add the tombstones */
    int id_col;                        /* the field id's index, or -1 */
    int nfields;
    const field_t *fields[MAX_FIELDS];
    const char *keys[MAX_FIELDS];      /* JSON: '{"id":', ',"email":' ... */
    apr_size_t keylens[MAX_FIELDS];
    const char *values[MAX_FILTERS];   /* by filter index, NULL: unused */
    int csv_safe;                      /* CSV cells safe in a spreadsheet */
    int gzip;                          /* an export job's file compressed */
};

static int nfields_of(const resource_t *res)
{
    int n = 0;

    while (n < MAX_FIELDS && res->fields[n].name) {
        ++n;
    }
    return n;
}

static int nfilters_of(const resource_t *res)
{
    int n = 0;

    while (n < MAX_FILTERS && res->filters[n].name) {
        ++n;
    }
    return n;
}

static int name_is(const char *name, const char *snake, const char *camel)
{
    return !strcmp(name, snake) || (camel && !strcmp(name, camel));
}

/* "a, b, c" of the names of n entries of a table, each stride bytes long,
 * the first name at *first (a resource's fields or filters). */
static const char *names_of(apr_pool_t *p, const char *const *first,
                            apr_size_t stride, int n)
{
    const char *s = NULL, *name;
    int i;

    for (i = 0; i < n; ++i) {
        name = *(const char *const *)((const char *)first + i * stride);
        s = s ? apr_pstrcat(p, s, ", ", name, NULL) : name;
    }
    return s;
}

static const char *allowed_fields(apr_pool_t *p, const resource_t *res)
{
    return names_of(p, &res->fields[0].name, sizeof(res->fields[0]),
                    nfields_of(res));
}

static const char *allowed_filters(apr_pool_t *p, const resource_t *res)
{
    return names_of(p, &res->filters[0].name, sizeof(res->filters[0]),
                    nfilters_of(res));
}

static apr_status_t fail(const char **perror, const char *msg)
{
    *perror = msg;
    return APR_EINVAL;
}

static bulkio_export_t *export_new(apr_pool_t *p, const char *resource,
                                   const char *format, const char **perror)
{
    bulkio_export_t *exp;
    apr_size_t i;

    for (i = 0; i < sizeof(resources) / sizeof(resources[0]); ++i) {
        if (resource && !strcmp(resource, resources[i].name)) {
            break;
        }
    }
    if (i == sizeof(resources) / sizeof(resources[0])) {
        *perror = resource ? "unknown resource; allowed: users, articles, "
                             "comments"
                           : "the resource parameter is required (users, "
                             "articles or comments)";
        return NULL;
    }
    exp = apr_pcalloc(p, sizeof(*exp));
    exp->res = &resources[i];
    exp->delim = ',';
    exp->format = format ? bulkio_format_from_name(format) : BULKIO_FMT_NDJSON;
    if (format && !strcasecmp(format, "tsv")) {
        exp->format = BULKIO_FMT_CSV;
        exp->tsv = 1;
        exp->delim = '\t';
    }
    if (!exp->format) {
        *perror = "unknown format; allowed: ndjson, json, csv, tsv";
        return NULL;
    }
    return exp;
}

/* Select field name (or its alias); fields come out in the order added. */
static apr_status_t add_field(apr_pool_t *p, bulkio_export_t *exp,
                              const char *name, const char **perror)
{
    int i, j;

    for (i = 0; i < nfields_of(exp->res); ++i) {
        if (name_is(name, exp->res->fields[i].name,
                    exp->res->fields[i].camel)) {
            for (j = 0; j < exp->nfields; ++j) {
                if (exp->fields[j] == &exp->res->fields[i]) {
                    return fail(perror, apr_psprintf(
                                p, "field '%s' is listed twice", name));
                }
            }
            exp->fields[exp->nfields++] = &exp->res->fields[i];
            return APR_SUCCESS;
        }
    }
    return fail(perror, apr_psprintf(p, "unknown field '%s'; allowed: %s",
                                     name, allowed_fields(p, exp->res)));
}

/* Take the delimiter option (CSV only). */
static apr_status_t set_delimiter(apr_pool_t *p, bulkio_export_t *exp,
                                  const char *value, const char **perror)
{
    bulkio_dialect_t d;
    const char *err;

    if ((err = bulkio_dialect_parse(p, &d, value, NULL, NULL)) != NULL) {
        return fail(perror, err);
    }
    if (exp->format != BULKIO_FMT_CSV) {
        return fail(perror, "delimiter applies to CSV exports only");
    }
    if (exp->tsv && d.delimiter != '\t') {
        return fail(perror, "a TSV export's delimiter is a tab; for another "
                    "delimiter ask for format=csv");
    }
    exp->delim = d.delimiter;
    return APR_SUCCESS;
}

/* Take the include_deleted option ("true" or "false"). */
static apr_status_t set_include_deleted(bulkio_export_t *exp,
                                        const char *value,
                                        const char **perror)
{
    if (strcasecmp(value, "true") && strcasecmp(value, "false")) {
        return fail(perror, "include_deleted must be true or false");
    }
    exp->include_deleted = apr_tolower(*value) == 't';
    return APR_SUCCESS;
}

/* Every field when none was chosen; the JSON keys of the fields. */
static void finish_fields(apr_pool_t *p, bulkio_export_t *exp)
{
    int i;

    if (!exp->nfields) {
        for (exp->nfields = 0; exp->nfields < nfields_of(exp->res);
             ++exp->nfields) {
            exp->fields[exp->nfields] = &exp->res->fields[exp->nfields];
        }
    }
    exp->id_col = -1;
    for (i = 0; i < exp->nfields; ++i) {
        exp->keys[i] = apr_pstrcat(p, i ? "," : "{", "\"",
                                   exp->fields[i]->name, "\":", NULL);
        exp->keylens[i] = strlen(exp->keys[i]);
        if (!strcmp(exp->fields[i]->name, "id")) {
            exp->id_col = i;
        }
    }
}

/* Finish the export: its fields, and what the options need of them. */
static apr_status_t finish(apr_pool_t *p, bulkio_export_t *exp,
                           bulkio_export_t **pexp, const char **perror)
{
    if (exp->csv_safe && exp->format != BULKIO_FMT_CSV) {
        return fail(perror, "csv_safe applies to format=csv only");
    }
    finish_fields(p, exp);
    if (exp->include_deleted && exp->id_col < 0) {
        return fail(perror, "include_deleted needs the field id among the "
                    "fields");
    }
    *pexp = exp;
    return APR_SUCCESS;
}

/* Check a filter's value and keep it in its canonical form. */
static apr_status_t set_filter(apr_pool_t *p, bulkio_export_t *exp, int i,
                               const char *value, const char **perror)
{
    const filter_t *f = &exp->res->filters[i];
    const char *v = value, *opt;
    char *lower;
    apr_size_t n;

    if (exp->values[i]) {
        return fail(perror, apr_psprintf(p, "filter '%s' is given twice",
                                         f->name));
    }
    switch (f->type) {
    case F_ENUM:
        for (opt = f->values; *opt; opt += n + (opt[n] ? 2 : 0)) {
            n = strcspn(opt, ",");
            if (strlen(value) == n && !strncmp(value, opt, n)) {
                break;
            }
        }
        if (!*opt) {
            return fail(perror, apr_psprintf(
                        p, "filter '%s' must be one of %s", f->name,
                        f->values));
        }
        break;
    case F_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "false")) {
            v = apr_tolower(*value) == 't' ? "true" : "false";
        }
        else {
            return fail(perror, apr_psprintf(p, "filter '%s' must be true "
                                             "or false", f->name));
        }
        break;
    case F_UUID:
        if (!bulkio_is_uuid(value)) {
            return fail(perror, apr_psprintf(p, "filter '%s' must be a "
                                             "UUID", f->name));
        }
        v = lower = apr_pstrdup(p, value);
        for (; *lower; ++lower) {
            *lower = (char)apr_tolower(*lower);
        }
        break;
    case F_TIME:
        if (!bulkio_is_rfc3339(value)) {
            return fail(perror, apr_psprintf(
                        p, "filter '%s' must be an RFC 3339 timestamp with an "
                        "offset, e.g. 2024-01-01T00:00:00Z", f->name));
        }
        break;
    }
    exp->values[i] = apr_pstrdup(p, v);
    return APR_SUCCESS;
}

static int find_filter(const bulkio_export_t *exp, const char *name)
{
    int i;

    for (i = 0; i < nfilters_of(exp->res); ++i) {
        if (name_is(name, exp->res->filters[i].name,
                    exp->res->filters[i].camel)) {
            return i;
        }
    }
    return -1;
}

static apr_status_t unknown_filter(apr_pool_t *p, const bulkio_export_t *exp,
                                   const char *name, const char **perror)
{
    return fail(perror, apr_psprintf(p, "unknown filter '%s'; allowed for %s:"
                                     " %s", name, exp->res->name,
                                     allowed_filters(p, exp->res)));
}

apr_status_t bulkio_export_from_args(apr_pool_t *p, const apr_table_t *args,
                                     bulkio_export_t **pexp,
                                     const char **perror)
{
    const apr_array_header_t *arr = apr_table_elts(args);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    bulkio_export_t *exp;
    const char *fields = NULL, *delimiter = NULL, *deleted = NULL;
    char *list, *name, *state;
    int i, f, seen_resource = 0, seen_format = 0;

    exp = export_new(p, apr_table_get(args, "resource"),
                     apr_table_get(args, "format"), perror);
    if (!exp) {
        return APR_EINVAL;
    }
    for (i = 0; i < arr->nelts; ++i) {
        if (!strcmp(e[i].key, "resource") || !strcmp(e[i].key, "format")) {
            if ((*e[i].key == 'r' ? seen_resource++ : seen_format++)) {
                return fail(perror, apr_psprintf(p, "'%s' is given twice",
                                                 e[i].key));
            }
        }
        else if (!strcmp(e[i].key, "fields")) {
            if (fields) {
                return fail(perror, "'fields' is given twice");
            }
            fields = e[i].val;
        }
        else if (!strcmp(e[i].key, "csv_safe")) {
            if (strcmp(e[i].val, "true") && strcmp(e[i].val, "false")) {
                return fail(perror, "csv_safe must be true or false");
            }
            exp->csv_safe = !strcmp(e[i].val, "true");
        }
        else if (!strcmp(e[i].key, "delimiter")
                 || !strcmp(e[i].key, "include_deleted")) {
            const char **opt = *e[i].key == 'd' ? &delimiter : &deleted;

            if (*opt) {
                return fail(perror, apr_psprintf(p, "'%s' is given twice",
                                                 e[i].key));
            }
            *opt = e[i].val;
        }
        else if ((f = find_filter(exp, e[i].key)) < 0) {
            return unknown_filter(p, exp, e[i].key, perror);
        }
        else if (set_filter(p, exp, f, e[i].val, perror) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    if (fields) {
        list = apr_pstrdup(p, fields);
        for (name = apr_strtok(list, ",", &state); name;
             name = apr_strtok(NULL, ",", &state)) {
            apr_collapse_spaces(name, name);
            if (add_field(p, exp, name, perror) != APR_SUCCESS) {
                return APR_EINVAL;
            }
        }
        if (!exp->nfields) {
            return fail(perror, "fields must name at least one field");
        }
    }
    if ((delimiter && set_delimiter(p, exp, delimiter, perror))
        || (deleted && set_include_deleted(exp, deleted, perror))) {
        return APR_EINVAL;
    }
    return finish(p, exp, pexp, perror);
}

static const char *json_str(json_object *o, const char *key, int *pbad)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !v) {
        return NULL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        *pbad = 1;
        return NULL;
    }
    return json_object_get_string(v);
}

apr_status_t bulkio_export_from_json(apr_pool_t *p, json_object *body,
                                     bulkio_export_t **pexp,
                                     const char **perror)
{
    json_object *filters = NULL, *fields = NULL, *v;
    const char *resource, *format;
    bulkio_export_t *exp;
    int bad = 0, f;
    apr_size_t i;

    if (!json_object_is_type(body, json_type_object)) {
        return fail(perror, "the body must be a JSON object");
    }
    json_object_object_foreach(body, key, val) {
        if (strcmp(key, "resource") && strcmp(key, "format")
            && strcmp(key, "filters") && strcmp(key, "fields")
            && strcmp(key, "csv_safe") && strcmp(key, "compression")
            && strcmp(key, "delimiter") && strcmp(key, "include_deleted")) {
            return fail(perror, apr_psprintf(p, "unknown member '%s'; "
                                             "allowed: resource, format, "
                                             "filters, fields, csv_safe, "
                                             "compression, delimiter, "
                                             "include_deleted, callback_url",
                                             key));
        }
        if (!strcmp(key, "csv_safe")
            && (!val || !json_object_is_type(val, json_type_boolean))) {
            return fail(perror, "csv_safe must be true or false");
        }
    }
    resource = json_str(body, "resource", &bad);
    format = json_str(body, "format", &bad);
    if (bad) {
        return fail(perror, "resource and format must be strings");
    }
    if (!(exp = export_new(p, resource, format, perror))) {
        return APR_EINVAL;
    }
    if (json_object_object_get_ex(body, "csv_safe", &v)) {
        exp->csv_safe = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(body, "compression", &v) && v) {
        if (!json_object_is_type(v, json_type_string)
            || (strcmp(json_object_get_string(v), "gzip")
                && strcmp(json_object_get_string(v), "none"))) {
            return fail(perror, "compression must be \"gzip\" or \"none\"");
        }
        exp->gzip = !strcmp(json_object_get_string(v), "gzip");
    }
    if (json_object_object_get_ex(body, "filters", &filters) && filters) {
        if (!json_object_is_type(filters, json_type_object)) {
            return fail(perror, "filters must be an object");
        }
        json_object_object_foreach(filters, key, val) {
            if ((f = find_filter(exp, key)) < 0) {
                return unknown_filter(p, exp, key, perror);
            }
            if (val && json_object_is_type(val, json_type_boolean)
                && exp->res->filters[f].type == F_BOOL) {
                v = val;
            }
            else if (!val || !json_object_is_type(val, json_type_string)) {
                return fail(perror, apr_psprintf(p, "filter '%s' must be a "
                                                 "string", key));
            }
            else {
                v = val;
            }
            if (set_filter(p, exp, f, json_object_get_string(v), perror)
                != APR_SUCCESS) {
                return APR_EINVAL;
            }
        }
    }
    if (json_object_object_get_ex(body, "fields", &fields) && fields) {
        if (!json_object_is_type(fields, json_type_array)
            || !json_object_array_length(fields)) {
            return fail(perror, "fields must be a non-empty array of names");
        }
        for (i = 0; i < json_object_array_length(fields); ++i) {
            v = json_object_array_get_idx(fields, i);
            if (!v || !json_object_is_type(v, json_type_string)) {
                return fail(perror, "fields must be an array of names");
            }
            if (add_field(p, exp, json_object_get_string(v), perror)
                != APR_SUCCESS) {
                return APR_EINVAL;
            }
        }
    }
    if (json_object_object_get_ex(body, "delimiter", &v) && v) {
        if (!json_object_is_type(v, json_type_string)) {
            return fail(perror, "delimiter must be a string");
        }
        if (set_delimiter(p, exp, json_object_get_string(v), perror)) {
            return APR_EINVAL;
        }
    }
    if (json_object_object_get_ex(body, "include_deleted", &v) && v) {
        if (!json_object_is_type(v, json_type_boolean)) {
            return fail(perror, "include_deleted must be true or false");
        }
        exp->include_deleted = json_object_get_boolean(v);
    }
    return finish(p, exp, pexp, perror);
}

const char *bulkio_export_params_json(apr_pool_t *p,
                                      const bulkio_export_t *exp)
{
    /* keys in sorted order, filters in the table's: the same export gives
     * the same text */
    json_object *doc = json_object_new_object(), *fields, *filters;
    const char *text;
    int i;

    fields = json_object_new_array();
    for (i = 0; i < exp->nfields; ++i) {
        json_object_array_add(fields,
                              json_object_new_string(exp->fields[i]->name));
    }
    filters = json_object_new_object();
    for (i = 0; i < nfilters_of(exp->res); ++i) {
        if (exp->values[i]) {
            json_object_object_add(filters, exp->res->filters[i].name,
                                   json_object_new_string(exp->values[i]));
        }
    }
    if (exp->csv_safe) {
        /* only when set: the text of the other exports stays as it was */
        json_object_object_add(doc, "csv_safe", json_object_new_boolean(1));
    }
    if (exp->gzip) {
        json_object_object_add(doc, "compression",
                                json_object_new_string("gzip"));
    }
    if (exp->format == BULKIO_FMT_CSV && exp->delim != ',' && !exp->tsv) {
        char delim[2] = { exp->delim, '\0' };

        json_object_object_add(doc, "delimiter", json_object_new_string(delim));
    }
    json_object_object_add(doc, "fields", fields);
    json_object_object_add(doc, "filters", filters);
    json_object_object_add(doc, "format",
                           json_object_new_string(bulkio_export_ext(exp)));
    if (exp->include_deleted) {
        json_object_object_add(doc, "include_deleted",
                               json_object_new_boolean(1));
    }
    json_object_object_add(doc, "resource",
                           json_object_new_string(exp->res->name));
    text = apr_pstrdup(p, json_object_to_json_string_ext(
                              doc, JSON_C_TO_STRING_PLAIN));
    json_object_put(doc);
    return text;
}

int bulkio_export_gzip(const bulkio_export_t *exp)
{
    return exp->gzip;
}

bulkio_format_e bulkio_export_format(const bulkio_export_t *exp)
{
    return exp->format;
}

bulkio_resource_e bulkio_export_resource(const bulkio_export_t *exp)
{
    return (bulkio_resource_e)(exp->res - resources);
}

/* The SELECT of the resource's tombstones (rows of the export's columns:
 * the id, NULLs, and the time of deletion), of ids no live row holds,
 * without its time condition and order. The rows come after the live
 * rows: the branches of a UNION ALL run one after the other. */
static const char *tombstones_sql(apr_pool_t *p, const bulkio_export_t *exp)
{
    const char *sql = "SELECT ";
    int i;

    for (i = 0; i < exp->nfields; ++i) {
        sql = apr_pstrcat(p, sql, i == exp->id_col ? "t.external_id"
                                                   : "NULL::text", ", ", NULL);
    }
    /* the name and table come from the allow-list of resources */
    return apr_pstrcat(p, sql, TS("t.deleted_at"), " FROM bulkio_tombstones t"
                       " WHERE t.resource = '", exp->res->name, "'"
                       " AND NOT EXISTS (SELECT 1 FROM ", exp->res->name,
                       " x WHERE x.external_id = t.external_id)", NULL);
}

const char *bulkio_export_sql(apr_pool_t *p, const bulkio_export_t *exp,
                              int *pnparams, const char *const **pparams)
{
    const char **params = apr_pcalloc(p, sizeof(*params) * MAX_FILTERS);
    const char *sql = "SELECT ", *where = " WHERE ", *after = NULL;
    int i, n = 0;

    for (i = 0; i < exp->nfields; ++i) {
        sql = apr_pstrcat(p, sql, i ? ", " : "", exp->fields[i]->expr, NULL);
    }
    sql = apr_pstrcat(p, sql, exp->include_deleted ? ", NULL::text" : "",
                      " FROM ", exp->res->from, NULL);
    for (i = 0; i < nfilters_of(exp->res); ++i) {
        if (exp->values[i]) {
            params[n++] = exp->values[i];
            sql = apr_pstrcat(p, sql, where, apr_psprintf(
                              p, exp->res->filters[i].cond, n), NULL);
            where = " AND ";
            if (!strcmp(exp->res->filters[i].name, "updated_after")) {
                after = apr_psprintf(p, " AND t.deleted_at > $%d::timestamptz",
                                     n);
            }
        }
    }
    *pnparams = n;
    *pparams = params;
    sql = apr_pstrcat(p, sql, " ORDER BY ", exp->res->order, NULL);
    if (!exp->include_deleted) {
        return sql;
    }
    return apr_pstrcat(p, "(", sql, ") UNION ALL (", tombstones_sql(p, exp),
                       after ? after : "", " ORDER BY t.id)", NULL);
}

const char *bulkio_export_head(apr_pool_t *p, const bulkio_export_t *exp)
{
    const char *head = "";
    int i;

    if (exp->format == BULKIO_FMT_JSON) {
        return "[";
    }
    if (exp->format != BULKIO_FMT_CSV) {
        return "";
    }
    for (i = 0; i < exp->nfields; ++i) {
        head = apr_pstrcat(p, head, i ? apr_pstrndup(p, &exp->delim, 1) : "",
                           exp->fields[i]->name, NULL);
    }
    if (exp->include_deleted) {
        head = apr_psprintf(p, "%s%cdeleted%cdeleted_at", head, exp->delim,
                            exp->delim);
    }
    return apr_pstrcat(p, head, "\r\n", NULL);
}

const char *bulkio_export_sep(const bulkio_export_t *exp)
{
    return exp->format == BULKIO_FMT_JSON ? ",\n" : "";
}

const char *bulkio_export_tail(const bulkio_export_t *exp)
{
    return exp->format == BULKIO_FMT_JSON ? "]\n" : "";
}

/* Whether byte c must be escaped in a JSON string. */
#define JSON_ESC(c) ((unsigned char)(c) < 0x20 || (c) == '"' || (c) == '\\')

/* Whether one of the 8 bytes at s must be escaped: a byte below 0x20, a
 * quote or a backslash (bytes from 0x80 on, UTF-8, never are). */
static int json_esc8(const char *s)
{
    const apr_uint64_t ones = APR_UINT64_C(0x0101010101010101);
    apr_uint64_t v;

    memcpy(&v, s, sizeof(v));
    return (((v - ones * 0x20) | ((v ^ (ones * '"')) - ones)
             | ((v ^ (ones * '\\')) - ones)) & ~v & (ones * 0x80)) != 0;
}

/* The n bytes at s as a JSON string at o (room for 6 n + 2 bytes): quotes,
 * backslashes and control characters escaped, UTF-8 as it is, 8 bytes at a
 * time while none needs escaping.
 * @return where it ends */
static char *json_string(char *o, const char *s, apr_size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const char *end = s + n, *run;
    unsigned char c;

    *o++ = '"';
    for (;;) {
        run = s;
        while (end - s >= 8 && !json_esc8(s)) {
            s += 8;
        }
        while (s < end && !JSON_ESC(*s)) {
            ++s;
        }
        memcpy(o, run, (apr_size_t)(s - run));
        o += s - run;
        if (s == end) {
            break;
        }
        c = (unsigned char)*s++;
        *o++ = '\\';
        switch (c) {
        case '"': case '\\': *o++ = (char)c; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 0xf];
            o += 5;
            break;
        }
    }
    *o++ = '"';
    return o;
}

static const char *bool_text(const char *v)
{
    return *v == 't' ? "true" : "false";
}

/* A tombstone as JSON: {"id": ..., "deleted_at": ..., "deleted": true}. */
static void tombstone_row(const bulkio_export_t *exp, const PGresult *res,
                          int i, bulkio_buf_t *out)
{
    apr_size_t n = (apr_size_t)PQgetlength(res, i, exp->id_col);
    char *o, *start;

    o = start = bulkio_buf_reserve(out, 6 * n + 80);
    memcpy(o, "{\"id\":", 6);
    o = json_string(o + 6, PQgetvalue(res, i, exp->id_col), n);
    memcpy(o, ",\"deleted_at\":", 14);
    o = json_string(o + 14, PQgetvalue(res, i, exp->nfields),
                    (apr_size_t)PQgetlength(res, i, exp->nfields));
    memcpy(o, ",\"deleted\":true}", 16);
    o += 16;
    if (exp->format == BULKIO_FMT_NDJSON) {
        *o++ = '\n';
    }
    out->len += (apr_size_t)(o - start);
}

void bulkio_export_row(const bulkio_export_t *exp, const PGresult *res, int i,
                       bulkio_buf_t *out)
{
    apr_size_t need = 2, n;
    char *o, *start;
    const char *v;
    int c, deleted = exp->include_deleted
                     && !PQgetisnull(res, i, exp->nfields);

    if (exp->format == BULKIO_FMT_CSV) {
        for (c = 0; c < exp->nfields + 2 * exp->include_deleted; ++c) {
            if (c) {
                bulkio_buf_addc(out, exp->delim);
            }
            if (c == exp->nfields) {            /* the column deleted */
                bulkio_buf_add(out, deleted ? "true" : "false",
                               deleted ? 4 : 5);
            }
            else if (c > exp->nfields) {        /* ... and deleted_at */
                bulkio_csv_field(out, deleted ? PQgetvalue(res, i, c - 1)
                                              : NULL);
            }
            else if (!PQgetisnull(res, i, c)) {
                v = PQgetvalue(res, i, c);
                (exp->csv_safe ? bulkio_csv_field_safe_delim
                               : bulkio_csv_field_delim)(
                    out, exp->fields[c]->type == V_BOOL ? bool_text(v) : v,
                    exp->delim);
            }
        }
        bulkio_buf_add(out, "\r\n", 2);
        return;
    }
    if (deleted) {
        tombstone_row(exp, res, i, out);
        return;
    }
    /* room for the whole row at once: key, value escaped at worst, quotes
     * (or "false") for each field, and "}\n" */
    for (c = 0; c < exp->nfields; ++c) {
        need += exp->keylens[c] + 6 * (apr_size_t)PQgetlength(res, i, c) + 5;
    }
    o = start = bulkio_buf_reserve(out, need);
    for (c = 0; c < exp->nfields; ++c) {
        memcpy(o, exp->keys[c], exp->keylens[c]);
        o += exp->keylens[c];
        v = PQgetvalue(res, i, c);
        n = (apr_size_t)PQgetlength(res, i, c);
        if (PQgetisnull(res, i, c)) {
            v = "null";
            n = 4;
        }
        else if (exp->fields[c]->type == V_BOOL) {
            v = bool_text(v);
            n = strlen(v);
        }
        else if (exp->fields[c]->type != V_JSON) {
            o = json_string(o, v, n);
            continue;
        }
        memcpy(o, v, n);
        o += n;
    }
    *o++ = '}';
    if (exp->format == BULKIO_FMT_NDJSON) {
        *o++ = '\n';
    }
    out->len += (apr_size_t)(o - start);
}

const char *bulkio_export_ctype(const bulkio_export_t *exp)
{
    switch (exp->format) {
    case BULKIO_FMT_JSON: return "application/json";
    case BULKIO_FMT_CSV: return exp->tsv
                                ? "text/tab-separated-values; charset=utf-8"
                                : "text/csv; charset=utf-8";
    default: return "application/x-ndjson";
    }
}

const char *bulkio_export_ext(const bulkio_export_t *exp)
{
    return exp->tsv ? "tsv" : bulkio_format_name(exp->format);
}

apr_status_t bulkio_export_send(apr_pool_t *p, PGconn *conn,
                                const bulkio_export_t *exp)
{
    const char *sql, *const *params;
    int nparams;

    sql = bulkio_export_sql(p, exp, &nparams, &params);
    return bulkio_pq_send(conn, sql, nparams, params);
}

apr_status_t bulkio_export_stream(apr_pool_t *p, PGconn *conn,
                                  const char *sql, int nparams,
                                  const char *const *params,
                                  const bulkio_frame_t *frame,
                                  bulkio_row_fn *row, void *row_baton,
                                  bulkio_sink_fn *sink, void *sink_baton)
{
    apr_status_t rv = bulkio_pq_send(conn, sql, nparams, params);

    return rv != APR_SUCCESS ? rv : bulkio_export_rows(
        p, conn, frame, row, row_baton, sink, sink_baton);
}

apr_status_t bulkio_export_rows(apr_pool_t *p, PGconn *conn,
                                const bulkio_frame_t *frame,
                                bulkio_row_fn *row, void *row_baton,
                                bulkio_sink_fn *sink, void *sink_baton)
{
    apr_size_t sep = strlen(frame->sep);
    apr_int64_t rows = 0;
    apr_pool_t *chunk;
    bulkio_buf_t buf;
    PGresult *res;
    apr_status_t rv;
    int done = 0;

    apr_pool_create(&chunk, p);
    bulkio_buf_init(&buf, chunk, 2 * STREAM_CHUNK);
    bulkio_buf_add(&buf, frame->head, strlen(frame->head));
    /* the first bytes go out before the query has run to its end */
    rv = sink(sink_baton, &buf, 0);
    buf.len = 0;
    while (rv == APR_SUCCESS && !done) {
        res = PQgetResult(conn);
        switch (res ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
        case PGRES_SINGLE_TUPLE:
            if (rows++) {
                bulkio_buf_add(&buf, frame->sep, sep);
            }
            row(row_baton, res, 0, &buf);
            break;
        case PGRES_TUPLES_OK:
            bulkio_buf_add(&buf, frame->tail, strlen(frame->tail));
            done = 1;
            break;
        default:
            /* the query failed: it ran to its end */
            done = -1;
            break;
        }
        PQclear(res);
        if (done < 0) {
            rv = APR_EGENERAL;
        }
        else if (done || buf.len >= STREAM_CHUNK) {
            rv = sink(sink_baton, &buf, rows);
            apr_pool_clear(chunk);
            bulkio_buf_init(&buf, chunk, 2 * STREAM_CHUNK);
        }
    }
    apr_pool_destroy(chunk);
    bulkio_pq_drain(conn, !done);
    return rv;
}
