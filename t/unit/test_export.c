/* Unit tests of the export core: parameters, SQL, encoders. */

#include <apr_strings.h>

#include "test_common.h"
#include "bulkio_export.h"

static apr_status_t from_json(apr_pool_t *p, const char *text,
                              bulkio_export_t **pexp, const char **perror)
{
    json_object *doc = json_tokener_parse(text);
    apr_status_t rv;

    assert_non_null(doc);
    rv = bulkio_export_from_json(p, doc, pexp, perror);
    json_object_put(doc);
    return rv;
}

static void test_json_params(void **state)
{
    apr_pool_t *p = *state;
    bulkio_export_t *exp, *again;
    const char *error, *canon;

    assert_int_equal(from_json(p, "{\"resource\": \"articles\", \"format\": "
                               "\"csv\", \"filters\": {\"status\": "
                               "\"published\"}, \"fields\": [\"id\", "
                               "\"title\", \"slug\"]}", &exp, &error),
                     APR_SUCCESS);
    canon = bulkio_export_params_json(p, exp);
    assert_string_equal(canon, "{\"fields\":[\"id\",\"title\",\"slug\"],"
                        "\"filters\":{\"status\":\"published\"},\"format\":"
                        "\"csv\",\"resource\":\"articles\"}");
    /* as PostgreSQL's jsonb gives it back */
    assert_int_equal(from_json(p, "{\"fields\": [\"id\", \"title\", \"slug\"],"
                               " \"format\": \"csv\", \"filters\": "
                               "{\"status\": \"published\"}, \"resource\": "
                               "\"articles\"}", &again, &error), APR_SUCCESS);
    assert_string_equal(bulkio_export_params_json(p, again), canon);
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"filters\": "
                               "{\"active\": false, \"role\": \"admin\"}}",
                               &exp, &error), APR_SUCCESS);
    assert_string_equal(bulkio_export_params_json(p, exp),
                        "{\"fields\":[\"id\",\"email\",\"name\",\"role\","
                        "\"active\",\"created_at\",\"updated_at\"],"
                        "\"filters\":{\"role\":\"admin\",\"active\":"
                        "\"false\"},\"format\":\"ndjson\",\"resource\":"
                        "\"users\"}");
    /* csv_safe is kept only when set: the others' text stays as it was */
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"format\": "
                               "\"csv\", \"fields\": [\"name\"], "
                               "\"csv_safe\": true}", &exp, &error),
                     APR_SUCCESS);
    canon = bulkio_export_params_json(p, exp);
    assert_string_equal(canon, "{\"csv_safe\":true,\"fields\":[\"name\"],"
                        "\"filters\":{},\"format\":\"csv\",\"resource\":"
                        "\"users\"}");
    assert_int_equal(from_json(p, canon, &again, &error), APR_SUCCESS);
    assert_string_equal(bulkio_export_params_json(p, again), canon);
}

static void test_json_errors(void **state)
{
    apr_pool_t *p = *state;
    bulkio_export_t *exp;
    const char *error;

    assert_int_equal(from_json(p, "{\"resource\": \"posts\"}", &exp, &error),
                     APR_EINVAL);
    assert_non_null(strstr(error, "users, articles, comments"));
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"x\": 1}", &exp,
                               &error), APR_EINVAL);
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"filters\": "
                               "{\"status\": \"draft\"}}", &exp, &error),
                     APR_EINVAL);
    assert_non_null(strstr(error, "role, active, created_after"));
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"fields\": []}",
                               &exp, &error), APR_EINVAL);
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"fields\": "
                               "[\"id\", \"id\"]}", &exp, &error), APR_EINVAL);
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"filters\": "
                               "{\"role\": \"boss\"}}", &exp, &error),
                     APR_EINVAL);
    assert_string_equal(error, "filter 'role' must be one of admin, author, "
                        "reader");
    assert_int_equal(from_json(p, "[1]", &exp, &error), APR_EINVAL);
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"csv_safe\": "
                               "true}", &exp, &error), APR_EINVAL);
    assert_string_equal(error, "csv_safe applies to format=csv only");
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"format\": "
                               "\"csv\", \"csv_safe\": \"yes\"}", &exp,
                               &error), APR_EINVAL);
    assert_string_equal(error, "csv_safe must be true or false");
}

static void test_args(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *args = apr_table_make(p, 4);
    const char *error, *sql, *const *params;
    bulkio_export_t *exp;
    int n;

    apr_table_add(args, "resource", "articles");
    apr_table_add(args, "fields", "slug, authorId");
    apr_table_add(args, "authorId", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
    apr_table_add(args, "status", "draft");
    apr_table_add(args, "created_after", "2024-02-29T10:00:00.5+01:00");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_SUCCESS);
    sql = bulkio_export_sql(p, exp, &n, &params);
    assert_int_equal(n, 3);
    assert_string_equal(params[0], "draft");
    assert_string_equal(params[1], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_non_null(strstr(sql, "a.status = $1 AND au.external_id = $2 AND "
                           "a.created_at > $3::timestamptz ORDER BY a.id"));
    assert_null(strstr(sql, "draft"));
    assert_string_equal(bulkio_export_head(p, exp), "");

    /* hostile values only ever travel as parameters, or are refused */
    apr_table_clear(args);
    apr_table_add(args, "resource", "users");
    apr_table_add(args, "role", "admin' OR '1'='1");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_EINVAL);
    apr_table_clear(args);
    apr_table_add(args, "resource", "users");
    apr_table_add(args, "created_before", "2024-02-30T00:00:00Z");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_EINVAL);
    apr_table_set(args, "created_before", "2024-01-01 00:00:00Z");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_EINVAL);
    apr_table_set(args, "created_before", "2023-02-28T23:59:59-05:00");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_SUCCESS);
    apr_table_add(args, "role", "admin");
    apr_table_add(args, "role", "reader");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_EINVAL);
    assert_non_null(strstr(error, "twice"));
    apr_table_clear(args);
    apr_table_add(args, "resource", "users");
    apr_table_add(args, "fields", "id,password");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_EINVAL);
    assert_string_equal(error, "unknown field 'password'; allowed: id, email,"
                        " name, role, active, created_at, updated_at");
}

/* A result of the users query, with tricky values. */
static PGresult *users_result(void)
{
    static const char *const names[] = { "id", "email", "name", "role",
                                         "active", "created_at",
                                         "updated_at" };
    PGresAttDesc attrs[7];
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    const char *row[7] = {
        "u1", "a@b.io", "Q \"x\" \\ y,\n\x01z é", "admin", "t",
        "2024-01-01T00:01:00Z", NULL
    };
    int i;

    memset(attrs, 0, sizeof(attrs));
    for (i = 0; i < 7; ++i) {
        attrs[i].name = (char *)names[i];
        attrs[i].typid = 25;
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    assert_true(PQsetResultAttrs(res, 7, attrs));
    for (i = 0; i < 7; ++i) {
        assert_true(PQsetvalue(res, 0, i, (char *)row[i],
                               row[i] ? (int)strlen(row[i]) : -1));
    }
    return res;
}

static void check_row(apr_pool_t *p, const char *format, const char *want)
{
    apr_table_t *args = apr_table_make(p, 2);
    bulkio_export_t *exp;
    const char *error;
    bulkio_buf_t buf;
    PGresult *res = users_result();

    apr_table_add(args, "resource", "users");
    apr_table_add(args, "format", format);
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_SUCCESS);
    bulkio_buf_init(&buf, p, 16);
    bulkio_export_row(exp, res, 0, &buf);
    bulkio_buf_addc(&buf, '\0');
    assert_string_equal(buf.data, want);
    PQclear(res);
}

static void test_rows(void **state)
{
    apr_pool_t *p = *state;

    check_row(p, "ndjson", "{\"id\":\"u1\",\"email\":\"a@b.io\",\"name\":"
              "\"Q \\\"x\\\" \\\\ y,\\n\\u0001z \xc3\xa9\",\"role\":\"admin\","
              "\"active\":true,\"created_at\":\"2024-01-01T00:01:00Z\","
              "\"updated_at\":null}\n");
    check_row(p, "json", "{\"id\":\"u1\",\"email\":\"a@b.io\",\"name\":"
              "\"Q \\\"x\\\" \\\\ y,\\n\\u0001z \xc3\xa9\",\"role\":\"admin\","
              "\"active\":true,\"created_at\":\"2024-01-01T00:01:00Z\","
              "\"updated_at\":null}");
    check_row(p, "csv", "u1,a@b.io,\"Q \"\"x\"\" \\ y,\n\x01z \xc3\xa9\","
              "admin,true,2024-01-01T00:01:00Z,\r\n");
}

/* The JSON string of s as the rules give it, byte by byte. */
static void json_ref(bulkio_buf_t *b, const char *s)
{
    char esc[8];

    bulkio_buf_addc(b, '"');
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            bulkio_buf_addc(b, '\\');
            bulkio_buf_addc(b, (char)c);
        }
        else if (c < 0x20) {
            apr_snprintf(esc, sizeof(esc), "\\u%04x", c);
            bulkio_buf_add(b, strcmp(esc, "\\u000a") ? esc : "\\n",
                           strlen(strcmp(esc, "\\u000a") ? esc : "\\n"));
        }
        else {
            bulkio_buf_addc(b, (char)c);
        }
    }
    bulkio_buf_addc(b, '"');
}

/* A character to escape at every place of strings of 0 to 40 bytes (the
 * encoder looks at 8 bytes at a time), between bytes that need none:
 * UTF-8, DEL, the neighbours of quote and backslash. */
static void test_escapes(void **state)
{
    static const char specials[] = "\"\\\n\x01\x1f";
    static const char filler[] = "a\xc3\xa9\x7f!#[]~ ";
    apr_pool_t *p = *state;
    apr_table_t *args = apr_table_make(p, 3);
    PGresAttDesc attr;
    bulkio_export_t *exp;
    const char *error;
    bulkio_buf_t got, want;
    PGresult *res;
    char s[48];
    int len, pos, k, j;

    apr_table_add(args, "resource", "users");
    apr_table_add(args, "fields", "name");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_SUCCESS);
    memset(&attr, 0, sizeof(attr));
    attr.name = "name";
    attr.typid = 25;
    attr.typlen = -1;
    attr.atttypmod = -1;
    for (len = 1; len <= 40; ++len) {
        for (pos = -1; pos < len; ++pos) {
            for (k = 0; k < (int)sizeof(specials) - 1; ++k) {
                for (j = 0; j < len; ++j) {
                    s[j] = filler[j % (sizeof(filler) - 1)];
                }
                if (pos >= 0) {
                    s[pos] = specials[k];
                    s[len - 1 - pos / 2] = specials[(k + 1) % 5];
                }
                s[len] = '\0';
                res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
                assert_true(PQsetResultAttrs(res, 1, &attr));
                assert_true(PQsetvalue(res, 0, 0, s, len));
                bulkio_buf_init(&got, p, 1);
                bulkio_export_row(exp, res, 0, &got);
                bulkio_buf_addc(&got, '\0');
                bulkio_buf_init(&want, p, 1);
                bulkio_buf_add(&want, "{\"name\":", 8);
                json_ref(&want, s);
                bulkio_buf_add(&want, "}\n", 3);
                assert_string_equal(got.data, want.data);
                PQclear(res);
            }
        }
    }
}

/* Delimiters, TSV and tombstones: parameters, head, SQL and rows. */
static void test_dialects(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *args = apr_table_make(p, 4);
    bulkio_export_t *exp, *again;
    const char *error, *const *params;
    bulkio_buf_t buf;
    PGresult *res = users_result();
    int n;

    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"format\": "
                               "\"csv\", \"delimiter\": \";\", \"fields\":"
                               " [\"id\", \"name\"], \"include_deleted\": "
                               "true}", &exp, &error), APR_SUCCESS);
    assert_string_equal(bulkio_export_params_json(p, exp),
                        "{\"delimiter\":\";\",\"fields\":[\"id\",\"name\"],"
                        "\"filters\":{},\"format\":\"csv\","
                        "\"include_deleted\":true,\"resource\":\"users\"}");
    assert_int_equal(from_json(p, bulkio_export_params_json(p, exp), &again,
                               &error), APR_SUCCESS);
    assert_string_equal(bulkio_export_params_json(p, again),
                        bulkio_export_params_json(p, exp));
    assert_string_equal(bulkio_export_head(p, exp),
                        "id;name;deleted;deleted_at\r\n");
    /* the tombstones come after the rows, of ids no row holds */
    assert_non_null(strstr(bulkio_export_sql(p, exp, &n, &params),
                           ") UNION ALL (SELECT t.external_id, NULL::text, "));
    assert_non_null(strstr(bulkio_export_sql(p, exp, &n, &params),
                           "NOT EXISTS (SELECT 1 FROM users x WHERE"));
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"format\": "
                               "\"tsv\"}", &exp, &error), APR_SUCCESS);
    assert_string_equal(bulkio_export_ext(exp), "tsv");
    assert_string_equal(bulkio_export_ctype(exp),
                        "text/tab-separated-values; charset=utf-8");
    bulkio_buf_init(&buf, p, 16);
    bulkio_export_row(exp, res, 0, &buf);
    bulkio_buf_addc(&buf, '\0');
    assert_string_equal(buf.data, "u1\ta@b.io\t\"Q \"\"x\"\" \\ y,\n\x01z "
                        "\xc3\xa9\"\tadmin\ttrue\t2024-01-01T00:01:00Z\t\r\n");
    PQclear(res);

    apr_table_add(args, "resource", "users");
    apr_table_add(args, "include_deleted", "true");
    apr_table_add(args, "fields", "email");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_EINVAL);
    assert_string_equal(error, "include_deleted needs the field id among the "
                        "fields");
    apr_table_set(args, "fields", "id");
    apr_table_add(args, "delimiter", ";");
    assert_int_equal(bulkio_export_from_args(p, args, &exp, &error),
                     APR_EINVAL);
    assert_string_equal(error, "delimiter applies to CSV exports only");
    assert_int_equal(from_json(p, "{\"resource\": \"users\", \"format\": "
                               "\"tsv\", \"delimiter\": \"|\"}", &exp,
                               &error), APR_EINVAL);
    assert_int_equal(from_json(p, "{\"resource\": \"users\", "
                               "\"include_deleted\": \"yes\"}", &exp,
                               &error), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_json_params),
        BULKIO_TEST(test_json_errors),
        BULKIO_TEST(test_args),
        BULKIO_TEST(test_rows),
        BULKIO_TEST(test_escapes),
        BULKIO_TEST(test_dialects),
    };
    return BULKIO_RUN_TESTS(tests);
}
