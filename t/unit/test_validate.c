/* Unit tests of the record validator and the record/verdict names. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <json-c/json.h>

#include "test_common.h"
#include "bulkio_record.h"
#include "bulkio_validate.h"

#define NCOLS_MAX 8

/* What the validator must leave alone when a record fails. */
static const char sentinel[] = "<untouched>";

typedef struct {
    apr_pool_t *p;
    const char *cols[NCOLS_MAX];
    bulkio_verdict_t v;
} vstate_t;

/* A test with the validator state of setup() in *state. */
#define VTEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static int setup(void **state)
{
    apr_pool_t *p;
    vstate_t *st;

    apr_pool_create(&p, NULL);
    st = apr_pcalloc(p, sizeof(*st));
    st->p = p;
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    vstate_t *st = *state;

    apr_pool_destroy(st->p);
    return 0;
}

/* Validate obj as a record of res. */
static void run_obj(vstate_t *st, bulkio_resource_e res, int csv,
                    json_object *obj)
{
    bulkio_record_t rec;
    int i;

    memset(&rec, 0, sizeof(rec));
    rec.obj = obj;
    rec.strings_only = csv;
    rec.line = 1;
    for (i = 0; i < NCOLS_MAX; ++i) {
        st->cols[i] = sentinel;
    }
    st->v.type = BULKIO_ERR_DUPLICATE;
    st->v.field = sentinel;
    st->v.message = sentinel;
    bulkio_validate(st->p, res, &rec, st->cols, &st->v);
}

/* Validate the JSON text json as a record of res. */
static void run(vstate_t *st, bulkio_resource_e res, int csv,
                const char *json)
{
    json_object *obj = json_tokener_parse(json);

    if (!obj) {
        fail_msg("test JSON does not parse: %s", json);
    }
    run_obj(st, res, csv, obj);
    json_object_put(obj);
}

/* json must validate; returns the columns. */
static const char **ok(vstate_t *st, bulkio_resource_e res, int csv,
                       const char *json)
{
    int i, n = bulkio_validate_ncols(res);

    run(st, res, csv, json);
    if (st->v.type != BULKIO_ERR_NONE) {
        fail_msg("%.300s: unexpected error on %s: %s", json,
                 st->v.field ? st->v.field : "-",
                 st->v.message ? st->v.message : "-");
    }
    assert_null(st->v.field);
    assert_null(st->v.message);
    for (i = 0; i < n; ++i) {
        assert_ptr_not_equal(st->cols[i], sentinel);
    }
    for (; i < NCOLS_MAX; ++i) {
        assert_ptr_equal(st->cols[i], sentinel);
    }
    return st->cols;
}

/* json must fail validation on field; returns the message. */
static const char *bad(vstate_t *st, bulkio_resource_e res, int csv,
                       const char *json, const char *field)
{
    int i;

    run(st, res, csv, json);
    if (st->v.type != BULKIO_ERR_VALIDATION) {
        fail_msg("%.300s: expected a VALIDATION_ERROR on %s, got type %d",
                 json, field, (int)st->v.type);
    }
    if (!st->v.field || strcmp(st->v.field, field)) {
        fail_msg("%.300s: error on %s (%s), expected one on %s", json,
                 st->v.field ? st->v.field : "-", st->v.message, field);
    }
    assert_non_null(st->v.message);
    assert_true(strlen(st->v.message) > strlen(field));
    for (i = 0; i < NCOLS_MAX; ++i) {
        assert_ptr_equal(st->cols[i], sentinel);
    }
    return st->v.message;
}

#define U_OK(j)      ok(st, BULKIO_RES_USERS, 0, (j))
#define U_BAD(j, f)  bad(st, BULKIO_RES_USERS, 0, (j), (f))
#define UC_OK(j)     ok(st, BULKIO_RES_USERS, 1, (j))
#define UC_BAD(j, f) bad(st, BULKIO_RES_USERS, 1, (j), (f))
#define A_OK(j)      ok(st, BULKIO_RES_ARTICLES, 0, (j))
#define A_BAD(j, f)  bad(st, BULKIO_RES_ARTICLES, 0, (j), (f))
#define AC_OK(j)     ok(st, BULKIO_RES_ARTICLES, 1, (j))
#define AC_BAD(j, f) bad(st, BULKIO_RES_ARTICLES, 1, (j), (f))
#define C_OK(j)      ok(st, BULKIO_RES_COMMENTS, 0, (j))
#define C_BAD(j, f)  bad(st, BULKIO_RES_COMMENTS, 0, (j), (f))
#define CC_OK(j)     ok(st, BULKIO_RES_COMMENTS, 1, (j))

#define FMT(...)     apr_psprintf(st->p, __VA_ARGS__)

#define UUID_LC "5864905b-ec8c-4fa6-8ba7-545d13f29b4e"
#define UUID_UC "5864905B-EC8C-4FA6-8BA7-545D13F29B4E"
#define UUID_MX "5864905b-EC8C-4fa6-8Ba7-545d13F29b4E"

/* An article with everything required, plus the JSON members extra. */
#define ARTICLE(extra) \
    "{\"slug\":\"hello-world\",\"title\":\"T\",\"body\":\"B\"," \
    "\"author_id\":\"u-1\"" extra "}"

/* A comment with everything required, plus the JSON members extra. */
#define COMMENT(extra) \
    "{\"article_id\":\"a-1\",\"user_id\":\"u-1\",\"body\":\"hi\"" extra "}"

/* unit repeated n times. */
static char *rep(apr_pool_t *p, const char *unit, int n)
{
    apr_size_t ul = strlen(unit);
    char *s = apr_palloc(p, ul * (apr_size_t)n + 1), *d = s;
    int i;

    for (i = 0; i < n; ++i, d += ul) {
        memcpy(d, unit, ul);
    }
    *d = '\0';
    return s;
}

/* The normalized created_at of a user record whose created_at is ts. */
static const char *ts_ok(vstate_t *st, const char *ts)
{
    return U_OK(FMT("{\"email\":\"a@b.co\",\"created_at\":\"%s\"}", ts))[5];
}

static void ts_bad(vstate_t *st, const char *ts)
{
    U_BAD(FMT("{\"email\":\"a@b.co\",\"created_at\":\"%s\"}", ts),
          "created_at");
}

static void test_names(void **state)
{
    (void)state;
    assert_null(bulkio_errtype_name(BULKIO_ERR_NONE));
    assert_string_equal(bulkio_errtype_name(BULKIO_ERR_PARSE), "PARSE_ERROR");
    assert_string_equal(bulkio_errtype_name(BULKIO_ERR_VALIDATION),
                        "VALIDATION_ERROR");
    assert_string_equal(bulkio_errtype_name(BULKIO_ERR_FOREIGN_KEY),
                        "FOREIGN_KEY_ERROR");
    assert_string_equal(bulkio_errtype_name(BULKIO_ERR_DUPLICATE),
                        "DUPLICATE_ERROR");
    assert_null(bulkio_errtype_name((bulkio_errtype_e)42));

    assert_int_equal(bulkio_resource_from_name("users"), BULKIO_RES_USERS);
    assert_int_equal(bulkio_resource_from_name("articles"),
                     BULKIO_RES_ARTICLES);
    assert_int_equal(bulkio_resource_from_name("comments"),
                     BULKIO_RES_COMMENTS);
    assert_int_equal(bulkio_resource_from_name("Users"), -1);
    assert_int_equal(bulkio_resource_from_name("user"), -1);
    assert_int_equal(bulkio_resource_from_name(""), -1);
    assert_int_equal(bulkio_resource_from_name(NULL), -1);

    assert_string_equal(bulkio_resource_name(BULKIO_RES_USERS), "users");
    assert_string_equal(bulkio_resource_name(BULKIO_RES_ARTICLES),
                        "articles");
    assert_string_equal(bulkio_resource_name(BULKIO_RES_COMMENTS),
                        "comments");
    assert_null(bulkio_resource_name((bulkio_resource_e)3));
}

static void test_columns(void **state)
{
    static const char *const users[] = {
        "external_id", "email", "name", "role", "active", "created_at",
        "updated_at"
    };
    static const char *const articles[] = {
        "external_id", "slug", "title", "body", "author_id", "tags",
        "published_at", "status"
    };
    static const char *const comments[] = {
        "external_id", "article_id", "user_id", "body", "created_at"
    };
    const char *const *names;
    int i;

    (void)state;
    assert_int_equal(bulkio_validate_ncols(BULKIO_RES_USERS), 7);
    assert_int_equal(bulkio_validate_ncols(BULKIO_RES_ARTICLES), 8);
    assert_int_equal(bulkio_validate_ncols(BULKIO_RES_COMMENTS), 5);
    assert_int_equal(bulkio_validate_ncols((bulkio_resource_e)7), 0);
    assert_null(bulkio_validate_colnames((bulkio_resource_e)7));
    names = bulkio_validate_colnames(BULKIO_RES_USERS);
    for (i = 0; i < 7; ++i) {
        assert_string_equal(names[i], users[i]);
    }
    names = bulkio_validate_colnames(BULKIO_RES_ARTICLES);
    for (i = 0; i < 8; ++i) {
        assert_string_equal(names[i], articles[i]);
    }
    names = bulkio_validate_colnames(BULKIO_RES_COMMENTS);
    for (i = 0; i < 5; ++i) {
        assert_string_equal(names[i], comments[i]);
    }
}

static void test_not_an_object(void **state)
{
    vstate_t *st = *state;
    json_object *arr = json_tokener_parse("[1,2]");

    run_obj(st, BULKIO_RES_USERS, 0, arr);
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_non_null(st->v.message);
    assert_ptr_equal(st->cols[0], sentinel);
    json_object_put(arr);

    run_obj(st, BULKIO_RES_ARTICLES, 0, NULL);
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);

    run(st, (bulkio_resource_e)9, 0, "{\"email\":\"a@b.co\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_ptr_equal(st->cols[0], sentinel);
}

static void test_users_defaults(void **state)
{
    vstate_t *st = *state;
    const char **c;

    c = U_OK("{\"email\":\"a@b.co\"}");
    assert_null(c[0]);
    assert_string_equal(c[1], "a@b.co");
    assert_null(c[2]);
    assert_string_equal(c[3], "reader");
    assert_string_equal(c[4], "t");
    assert_null(c[5]);
    assert_null(c[6]);

    /* null and "" are absent too; unknown fields are ignored */
    c = U_OK("{\"id\":null,\"email\":\"a@b.co\",\"name\":\"\",\"role\":null,"
             "\"active\":\"\",\"created_at\":null,\"updated_at\":\"\","
             "\"extra\":[1,{\"x\":2}],\"nickname\":5}");
    assert_null(c[0]);
    assert_null(c[2]);
    assert_string_equal(c[3], "reader");
    assert_string_equal(c[4], "t");
    assert_null(c[5]);
    assert_null(c[6]);

    /* the same from CSV: empty cells */
    c = UC_OK("{\"id\":\"\",\"email\":\"a@b.co\",\"name\":\"\",\"role\":\"\","
              "\"active\":\"\",\"created_at\":\"\",\"updated_at\":\"\"}");
    assert_null(c[0]);
    assert_null(c[2]);
    assert_string_equal(c[3], "reader");
    assert_string_equal(c[4], "t");
    assert_null(c[5]);
    assert_null(c[6]);
}

static void test_users_full(void **state)
{
    vstate_t *st = *state;
    const char **c;

    c = U_OK("{\"id\":\"" UUID_UC "\","
             "\"email\":\"Jane.Doe+x@Mail.Example.ORG\","
             "\"name\":\"Jane \\\"JD\\\" Doe\",\"role\":\"admin\","
             "\"active\":false,\"created_at\":\"2024-01-01T00:01:00Z\","
             "\"updated_at\":\"2024-01-01T02:06:00.5+02:00\"}");
    assert_string_equal(c[0], UUID_LC);
    assert_string_equal(c[1], "Jane.Doe+x@Mail.Example.ORG");
    assert_string_equal(c[2], "Jane \"JD\" Doe");
    assert_string_equal(c[3], "admin");
    assert_string_equal(c[4], "f");
    assert_string_equal(c[5], "2024-01-01 00:01:00.000000+00");
    assert_string_equal(c[6], "2024-01-01 00:06:00.500000+00");

    c = UC_OK("{\"id\":\"" UUID_MX "\",\"email\":\"u@test.org\","
              "\"name\":\"User 1\",\"role\":\"author\",\"active\":\"FALSE\","
              "\"created_at\":\"2024-01-01T00:01:00Z\"}");
    assert_string_equal(c[0], UUID_LC);
    assert_string_equal(c[3], "author");
    assert_string_equal(c[4], "f");
    assert_null(c[6]);
}

static void test_id(void **state)
{
    vstate_t *st = *state;
    static const char *const bad_ids[] = {
        "123", "5864905bec8c4fa68ba7545d13f29b4e",
        "5864905b-ec8c-4fa6-8ba7-545d13f29b4", /* 35 */
        "5864905b-ec8c-4fa6-8ba7-545d13f29b4ee", /* 37 */
        "5864905g-ec8c-4fa6-8ba7-545d13f29b4e",
        "5864905b_ec8c-4fa6-8ba7-545d13f29b4e",
        "{5864905b-ec8c-4fa6-8ba7-545d13f29b4e}",
        " 5864905b-ec8c-4fa6-8ba7-545d13f29b4e",
        "5864905b-ec8c-4fa6-8ba7-545d13f29b4e ",
        "5864905-bec8c-4fa6-8ba7-545d13f29b4e",
        "cm_" UUID_LC, /* users have no cm_ ids */
        "a-missing-12510", NULL
    };
    const char *const *id;

    for (id = bad_ids; *id; ++id) {
        U_BAD(FMT("{\"id\":\"%s\",\"email\":\"a@b.co\"}", *id), "id");
        A_BAD(FMT(ARTICLE(",\"id\":\"%s\""), *id), "id");
    }
    U_BAD("{\"id\":5,\"email\":\"a@b.co\"}", "id");
    U_BAD("{\"id\":true,\"email\":\"a@b.co\"}", "id");
    U_BAD("{\"id\":[\"" UUID_LC "\"],\"email\":\"a@b.co\"}", "id");
    U_BAD("{\"id\":{},\"email\":\"a@b.co\"}", "id");
    U_BAD("{\"id\":\"" UUID_LC "\\u0000\",\"email\":\"a@b.co\"}", "id");

    assert_string_equal(U_OK("{\"id\":\"" UUID_LC "\","
                             "\"email\":\"a@b.co\"}")[0], UUID_LC);
    assert_string_equal(A_OK(ARTICLE(",\"id\":\"" UUID_MX "\""))[0], UUID_LC);
    assert_string_equal(C_OK(COMMENT(",\"id\":\"" UUID_UC "\""))[0], UUID_LC);

    /* comments: cm_<uuid>, the prefix exactly lower-case */
    assert_string_equal(C_OK(COMMENT(",\"id\":\"cm_" UUID_LC "\""))[0],
                        "cm_" UUID_LC);
    assert_string_equal(C_OK(COMMENT(",\"id\":\"cm_" UUID_UC "\""))[0],
                        "cm_" UUID_LC);
    assert_string_equal(CC_OK(COMMENT(",\"id\":\"cm_" UUID_MX "\""))[0],
                        "cm_" UUID_LC);
    C_BAD(COMMENT(",\"id\":\"CM_" UUID_LC "\""), "id");
    C_BAD(COMMENT(",\"id\":\"Cm_" UUID_LC "\""), "id");
    C_BAD(COMMENT(",\"id\":\"cm-" UUID_LC "\""), "id");
    C_BAD(COMMENT(",\"id\":\"cm_\""), "id");
    C_BAD(COMMENT(",\"id\":\"cm_cm_" UUID_LC "\""), "id");
    C_BAD(COMMENT(",\"id\":\"cm_" UUID_LC "0\""), "id");
    C_BAD(COMMENT(",\"id\":\"cm_5864905bec8c4fa68ba7545d13f29b4e\""), "id");
    C_BAD(COMMENT(",\"id\":\"xcm_" UUID_LC "\""), "id");
    C_BAD(COMMENT(",\"id\":42"), "id");
    assert_null(C_OK(COMMENT(",\"id\":\"\""))[0]);
}

static void test_email(void **state)
{
    vstate_t *st = *state;
    static const char *const good[] = {
        "a@b.co", "x@y.io", "first.last+tag@sub.example.com",
        "UPPER@EXAMPLE.COM", "o'neil@ex-ample.museum", "1@2.ab",
        "j\\u00f6rg@m\\u00fcller.de", NULL
    };
    static const char *const bad_emails[] = {
        "foo@bar", "a@b..com", "a@.com", "@b.com", "a@", "ab.com",
        "a@@b.com", "a@b@c.com", "a b@c.com", "a@b.com ", " a@b.com",
        "a\\t@b.com", "a@b.com\\n", "a@b\\r.com", "a@b.c", "a@b.c0m",
        "a@b.co1", "a@b.com.", "a@b.c-m", "a@.", "a@b.", "@", ".@.",
        "a@b.\\u00e9\\u00e9", "a@b.co\\u000b", NULL
    };
    const char *const *e;
    const char *local;

    for (e = good; *e; ++e) {
        U_OK(FMT("{\"email\":\"%s\"}", *e));
        UC_OK(FMT("{\"email\":\"%s\"}", *e));
    }
    for (e = bad_emails; *e; ++e) {
        assert_string_equal(U_BAD(FMT("{\"email\":\"%s\"}", *e), "email"),
                            "email is not a valid address");
        UC_BAD(FMT("{\"email\":\"%s\"}", *e), "email");
    }
    assert_string_equal(U_BAD("{\"name\":\"x\"}", "email"),
                        "email is required");
    U_BAD("{\"email\":null}", "email");
    U_BAD("{\"email\":\"\"}", "email");
    UC_BAD("{\"email\":\"\"}", "email");
    U_BAD("{\"email\":5}", "email");
    U_BAD("{\"email\":true}", "email");
    U_BAD("{\"email\":[\"a@b.co\"]}", "email");
    U_BAD("{\"email\":{\"a\":\"a@b.co\"}}", "email");
    U_BAD("{\"email\":\"a@b.co\\u0000x\"}", "email");
    U_BAD("{\"email\":\"a\\u0000@b.co\"}", "email");

    /* at most 254 characters */
    local = rep(st->p, "a", 254 - 5);
    assert_string_equal(U_OK(FMT("{\"email\":\"%s@b.co\"}", local))[1],
                        FMT("%s@b.co", local));
    local = rep(st->p, "a", 255 - 5);
    assert_string_equal(U_BAD(FMT("{\"email\":\"%s@b.co\"}", local), "email"),
                        "email must be at most 254 characters");
    /* counted in characters, not bytes */
    local = rep(st->p, "\\u00e9", 254 - 5);
    U_OK(FMT("{\"email\":\"%s@b.co\"}", local));
    local = rep(st->p, "\\u20ac", 255 - 5);
    U_BAD(FMT("{\"email\":\"%s@b.co\"}", local), "email");
    local = rep(st->p, "a", 100000);
    U_BAD(FMT("{\"email\":\"%s@b.co\"}", local), "email");
}

static void test_name(void **state)
{
    vstate_t *st = *state;
    const char *s;

    s = rep(st->p, "n", 255);
    assert_string_equal(U_OK(FMT("{\"email\":\"a@b.co\",\"name\":\"%s\"}",
                                 s))[2], s);
    s = rep(st->p, "n", 256);
    assert_string_equal(U_BAD(FMT("{\"email\":\"a@b.co\",\"name\":\"%s\"}",
                                  s), "name"),
                        "name must be at most 255 characters");
    /* multi-byte characters count as one */
    s = rep(st->p, "\\u00e9", 255);
    assert_int_equal(strlen(U_OK(FMT("{\"email\":\"a@b.co\",\"name\":\"%s\"}",
                                     s))[2]), 510);
    s = rep(st->p, "\\ud83d\\ude00", 255); /* 4-byte characters */
    U_OK(FMT("{\"email\":\"a@b.co\",\"name\":\"%s\"}", s));
    s = rep(st->p, "\\u00e9", 256);
    U_BAD(FMT("{\"email\":\"a@b.co\",\"name\":\"%s\"}", s), "name");
    s = rep(st->p, "\\ud83d\\ude00", 256);
    U_BAD(FMT("{\"email\":\"a@b.co\",\"name\":\"%s\"}", s), "name");
    /* as given: whitespace kept */
    assert_string_equal(U_OK("{\"email\":\"a@b.co\",\"name\":\"  x \\t\"}")[2],
                        "  x \t");
    U_BAD("{\"email\":\"a@b.co\",\"name\":7}", "name");
    U_BAD("{\"email\":\"a@b.co\",\"name\":false}", "name");
    U_BAD("{\"email\":\"a@b.co\",\"name\":[\"x\"]}", "name");
    U_BAD("{\"email\":\"a@b.co\",\"name\":\"x\\u0000y\"}", "name");
}

static void test_role(void **state)
{
    vstate_t *st = *state;
    static const char *const roles[] = { "admin", "author", "reader", NULL };
    static const char *const bad_roles[] = {
        "Admin", "ADMIN", "manager", " admin", "admin ", "adm", "admins",
        "reader\\u0000", NULL
    };
    const char *const *r;

    for (r = roles; *r; ++r) {
        assert_string_equal(U_OK(FMT("{\"email\":\"a@b.co\",\"role\":\"%s\"}",
                                     *r))[3], *r);
        assert_string_equal(UC_OK(FMT("{\"email\":\"a@b.co\",\"role\":\"%s\"}",
                                      *r))[3], *r);
    }
    for (r = bad_roles; *r; ++r) {
        U_BAD(FMT("{\"email\":\"a@b.co\",\"role\":\"%s\"}", *r), "role");
        UC_BAD(FMT("{\"email\":\"a@b.co\",\"role\":\"%s\"}", *r), "role");
    }
    assert_string_equal(U_BAD("{\"email\":\"a@b.co\",\"role\":\"manager\"}",
                              "role"),
                        "role must be one of admin, author, reader");
    U_BAD("{\"email\":\"a@b.co\",\"role\":1}", "role");
    U_BAD("{\"email\":\"a@b.co\",\"role\":[\"admin\"]}", "role");
}

static void test_active(void **state)
{
    vstate_t *st = *state;
    static const char *const csv_true[] = { "true", "TRUE", "True", "tRuE",
                                            NULL };
    static const char *const csv_false[] = { "false", "FALSE", "False", NULL };
    static const char *const csv_bad[] = {
        "yes", "no", "1", "0", "t", "f", " true", "true ", "truee", "fals",
        "on", "null", NULL
    };
    const char *const *b;

    assert_string_equal(U_OK("{\"email\":\"a@b.co\",\"active\":true}")[4], "t");
    assert_string_equal(U_OK("{\"email\":\"a@b.co\",\"active\":false}")[4],
                        "f");
    /* JSON: strings are the wrong type, whatever they say */
    U_BAD("{\"email\":\"a@b.co\",\"active\":\"yes\"}", "active");
    U_BAD("{\"email\":\"a@b.co\",\"active\":\"true\"}", "active");
    U_BAD("{\"email\":\"a@b.co\",\"active\":\"false\"}", "active");
    U_BAD("{\"email\":\"a@b.co\",\"active\":1}", "active");
    U_BAD("{\"email\":\"a@b.co\",\"active\":0}", "active");
    U_BAD("{\"email\":\"a@b.co\",\"active\":[true]}", "active");
    U_BAD("{\"email\":\"a@b.co\",\"active\":{}}", "active");

    for (b = csv_true; *b; ++b) {
        assert_string_equal(UC_OK(FMT("{\"email\":\"a@b.co\",\"active\":"
                                      "\"%s\"}", *b))[4], "t");
    }
    for (b = csv_false; *b; ++b) {
        assert_string_equal(UC_OK(FMT("{\"email\":\"a@b.co\",\"active\":"
                                      "\"%s\"}", *b))[4], "f");
    }
    for (b = csv_bad; *b; ++b) {
        UC_BAD(FMT("{\"email\":\"a@b.co\",\"active\":\"%s\"}", *b), "active");
    }
}

static void test_timestamps(void **state)
{
    vstate_t *st = *state;
    static const char *const malformed[] = {
        "2024-01-01T00:00:00",            /* no offset */
        "2024-01-01 00:00:00Z",           /* space for T */
        "2024-01-01T00:00Z",
        "2024-01-01",
        "2024-1-01T00:00:00Z",
        "24-01-01T00:00:00Z",
        "02024-01-01T00:00:00Z",
        "2024-01-01T0:00:00Z",
        "2024/01/01T00:00:00Z",
        "2024-01-01T00:00:00+0200",
        "2024-01-01T00:00:00+02",
        "2024-01-01T00:00:00+2:00",
        "2024-01-01T00:00:00 +02:00",
        "2024-01-01T00:00:00Z ",
        " 2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00ZZ",
        "2024-01-01T00:00:00+02:00Z",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00.1234567890Z", /* 10 fraction digits */
        "2024-01-01T00:00:00,5Z",
        "2024-01-01T00:00:00UTC",
        "2024-01-01T00:00:00GMT",
        "2024-01-01X00:00:00Z",
        "2024-0a-01T00:00:00Z",
        "-024-01-01T00:00:00Z",
        "+024-01-01T00:00:00Z",
        "2024-01-01T00:00:00-",
        "1704067200",
        "yesterday",
        "2024-01-01T00:00:00Z\\u0000",
        NULL
    };
    static const char *const out_of_range[] = {
        "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z",
        "2024-01-00T00:00:00Z", "2024-01-32T00:00:00Z",
        "2024-04-31T00:00:00Z", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2024-02-30T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z",
        "2024-01-01T23:59:60Z", "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+05:60", "2024-01-01T00:00:00-99:00",
        "0000-06-01T00:00:00Z",
        "0001-01-01T00:30:00+01:00",      /* UTC before year 1 */
        "9999-12-31T23:30:00-01:00",      /* UTC after year 9999 */
        NULL
    };
    const char *const *t;

    assert_string_equal(ts_ok(st, "2024-01-01T00:01:00Z"),
                        "2024-01-01 00:01:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-01-01t00:01:00z"),
                        "2024-01-01 00:01:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-06-15T12:30:45+02:00"),
                        "2024-06-15 10:30:45.000000+00");
    assert_string_equal(ts_ok(st, "2024-06-15T12:30:45-05:30"),
                        "2024-06-15 18:00:45.000000+00");
    assert_string_equal(ts_ok(st, "2024-06-15T12:30:45+00:00"),
                        "2024-06-15 12:30:45.000000+00");
    assert_string_equal(ts_ok(st, "2024-06-15T12:30:45-00:00"),
                        "2024-06-15 12:30:45.000000+00");
    assert_string_equal(ts_ok(st, "2024-06-15T00:00:00+23:59"),
                        "2024-06-14 00:01:00.000000+00");
    /* day, month and year rollover */
    assert_string_equal(ts_ok(st, "2024-06-15T20:00:00-05:00"),
                        "2024-06-16 01:00:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-01-01T00:30:00+01:00"),
                        "2023-12-31 23:30:00.000000+00");
    assert_string_equal(ts_ok(st, "2023-12-31T23:00:00-01:00"),
                        "2024-01-01 00:00:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-04-30T22:00:00-03:00"),
                        "2024-05-01 01:00:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-05-01T01:00:00+03:00"),
                        "2024-04-30 22:00:00.000000+00");
    /* leap days */
    assert_string_equal(ts_ok(st, "2024-02-29T12:00:00Z"),
                        "2024-02-29 12:00:00.000000+00");
    assert_string_equal(ts_ok(st, "2000-02-29T12:00:00Z"),
                        "2000-02-29 12:00:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-03-01T00:30:00+01:00"),
                        "2024-02-29 23:30:00.000000+00");
    assert_string_equal(ts_ok(st, "2023-03-01T00:30:00+01:00"),
                        "2023-02-28 23:30:00.000000+00");
    assert_string_equal(ts_ok(st, "2100-03-01T00:30:00+01:00"),
                        "2100-02-28 23:30:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-02-28T23:30:00-01:00"),
                        "2024-02-29 00:30:00.000000+00");
    assert_string_equal(ts_ok(st, "2024-02-29T23:30:00-01:00"),
                        "2024-03-01 00:30:00.000000+00");
    assert_string_equal(ts_ok(st, "2023-02-28T23:30:00-01:00"),
                        "2023-03-01 00:30:00.000000+00");
    /* fractions: padded, extra digits truncated */
    assert_string_equal(ts_ok(st, "2024-01-01T00:00:00.5Z"),
                        "2024-01-01 00:00:00.500000+00");
    assert_string_equal(ts_ok(st, "2024-01-01T00:00:00.000001Z"),
                        "2024-01-01 00:00:00.000001+00");
    assert_string_equal(ts_ok(st, "2024-01-01T00:00:00.1234567Z"),
                        "2024-01-01 00:00:00.123456+00");
    assert_string_equal(ts_ok(st, "2024-01-01T00:00:00.999999999+01:00"),
                        "2023-12-31 23:00:00.999999+00");
    /* the edges of the year range */
    assert_string_equal(ts_ok(st, "0001-01-01T00:00:00Z"),
                        "0001-01-01 00:00:00.000000+00");
    assert_string_equal(ts_ok(st, "0001-01-01T23:00:00+01:00"),
                        "0001-01-01 22:00:00.000000+00");
    assert_string_equal(ts_ok(st, "9999-12-31T23:59:59.999999Z"),
                        "9999-12-31 23:59:59.999999+00");
    assert_string_equal(ts_ok(st, "2024-12-31T23:59:59+23:59"),
                        "2024-12-31 00:00:59.000000+00");

    for (t = malformed; *t; ++t) {
        ts_bad(st, *t);
    }
    for (t = out_of_range; *t; ++t) {
        ts_bad(st, *t);
    }

    /* every timestamp field, from JSON and CSV, checked and typed */
    U_BAD("{\"email\":\"a@b.co\",\"created_at\":1704067200}", "created_at");
    U_BAD("{\"email\":\"a@b.co\",\"updated_at\":\"2024-01-01\"}",
          "updated_at");
    U_BAD("{\"email\":\"a@b.co\",\"updated_at\":true}", "updated_at");
    assert_string_equal(UC_OK("{\"email\":\"a@b.co\",\"updated_at\":"
                              "\"2024-01-01T00:05:00+00:05\"}")[6],
                        "2024-01-01 00:00:00.000000+00");
    UC_BAD("{\"email\":\"a@b.co\",\"updated_at\":\"2024-01-01 00:05:00Z\"}",
           "updated_at");
    A_BAD(ARTICLE(",\"status\":\"published\",\"published_at\":"
                  "\"2024-01-01T00:00:00\""), "published_at");
    A_BAD(ARTICLE(",\"status\":\"published\",\"published_at\":5"),
          "published_at");
    C_BAD(COMMENT(",\"created_at\":\"2024-02-30T00:00:00Z\""), "created_at");
    C_BAD(COMMENT(",\"created_at\":[]"), "created_at");
    assert_string_equal(C_OK(COMMENT(",\"created_at\":"
                                     "\"2024-01-01T01:00:00+01:00\""))[4],
                        "2024-01-01 00:00:00.000000+00");
    assert_null(C_OK(COMMENT(""))[4]);
}

static void test_articles_basic(void **state)
{
    vstate_t *st = *state;
    const char **c;

    c = A_OK(ARTICLE(""));
    assert_null(c[0]);
    assert_string_equal(c[1], "hello-world");
    assert_string_equal(c[2], "T");
    assert_string_equal(c[3], "B");
    assert_string_equal(c[4], "u-1");
    assert_string_equal(c[5], "{}");
    assert_null(c[6]);
    assert_string_equal(c[7], "draft");

    c = A_OK("{\"id\":\"" UUID_UC "\",\"slug\":\"a1-b2-3\",\"title\":\" \","
             "\"body\":\"Body\\ntext\",\"author_id\":\"a-missing-12510\","
             "\"tags\":[\"x\",\"y\"],\"published_at\":"
             "\"2024-01-01T00:00:00+01:00\",\"status\":\"published\","
             "\"views\":12}");
    assert_string_equal(c[0], UUID_LC);
    assert_string_equal(c[1], "a1-b2-3");
    assert_string_equal(c[2], " ");
    assert_string_equal(c[3], "Body\ntext");
    assert_string_equal(c[4], "a-missing-12510");
    assert_string_equal(c[5], "{\"x\",\"y\"}");
    assert_string_equal(c[6], "2023-12-31 23:00:00.000000+00");
    assert_string_equal(c[7], "published");

    /* status */
    assert_string_equal(A_OK(ARTICLE(",\"status\":\"draft\""))[7], "draft");
    assert_string_equal(A_OK(ARTICLE(",\"status\":\"published\""))[7],
                        "published");
    assert_null(A_OK(ARTICLE(",\"status\":\"published\""))[6]);
    assert_string_equal(A_BAD(ARTICLE(",\"status\":\"Published\""), "status"),
                        "status must be one of draft, published");
    A_BAD(ARTICLE(",\"status\":\"archived\""), "status");
    A_BAD(ARTICLE(",\"status\":1"), "status");
    A_BAD(ARTICLE(",\"status\":true"), "status");

    /* a draft, explicit or by default, has no published_at */
    assert_string_equal(
        A_BAD(ARTICLE(",\"status\":\"draft\",\"published_at\":"
                      "\"2024-01-01T00:00:00Z\""), "published_at"),
        "published_at is not allowed on a draft");
    A_BAD(ARTICLE(",\"published_at\":\"2024-01-01T00:00:00Z\""),
          "published_at");
    AC_BAD(ARTICLE(",\"status\":\"\",\"published_at\":"
                   "\"2024-01-01T00:00:00Z\""), "published_at");
    /* ...while an empty published_at is absent */
    A_OK(ARTICLE(",\"status\":\"draft\",\"published_at\":\"\""));
    A_OK(ARTICLE(",\"status\":\"draft\",\"published_at\":null"));

    /* title, body, author_id: required, strings */
    assert_string_equal(A_BAD("{\"slug\":\"s\",\"body\":\"B\","
                              "\"author_id\":\"u\"}", "title"),
                        "title is required");
    A_BAD("{\"slug\":\"s\",\"title\":\"\",\"body\":\"B\",\"author_id\":\"u\"}",
          "title");
    A_BAD("{\"slug\":\"s\",\"title\":null,\"body\":\"B\",\"author_id\":\"u\"}",
          "title");
    A_BAD("{\"slug\":\"s\",\"title\":1,\"body\":\"B\",\"author_id\":\"u\"}",
          "title");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"author_id\":\"u\"}", "body");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"body\":\"\",\"author_id\":\"u\"}",
          "body");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"body\":{},\"author_id\":\"u\"}",
          "body");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"body\":\"B\"}", "author_id");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"body\":\"B\",\"author_id\":\"\"}",
          "author_id");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"body\":\"B\",\"author_id\":12}",
          "author_id");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"body\":\"B\",\"author_id\":"
          "[\"u\"]}", "author_id");
    A_BAD("{\"slug\":\"s\",\"title\":\"T\",\"body\":\"B\",\"author_id\":"
          "false}", "author_id");
    /* any string at all is left to the writer's foreign-key check */
    assert_string_equal(A_OK("{\"slug\":\"s\",\"title\":\"T\",\"body\":\"B\","
                             "\"author_id\":\"  not an id \"}")[4],
                        "  not an id ");
}

static void test_slug(void **state)
{
    vstate_t *st = *state;
    static const char *const good[] = {
        "a", "0", "hello-world", "a1-b2-3", "2024-recap", "x-y-z-1-2-3",
        NULL
    };
    static const char *const bad_slugs[] = {
        "Hello World", "Hello-World", "hello world", "hello--world",
        "-hello", "hello-", "-", "hello_world", "hello.world", "h\\u00e9llo",
        "hello\\n", " hello", "hello/world", "HELLO", NULL
    };
    const char *const *s;
    const char *slug;

    for (s = good; *s; ++s) {
        assert_string_equal(A_OK(FMT("{\"slug\":\"%s\",\"title\":\"T\","
                                     "\"body\":\"B\",\"author_id\":\"u\"}",
                                     *s))[1], *s);
    }
    for (s = bad_slugs; *s; ++s) {
        A_BAD(FMT("{\"slug\":\"%s\",\"title\":\"T\",\"body\":\"B\","
                  "\"author_id\":\"u\"}", *s), "slug");
        AC_BAD(FMT("{\"slug\":\"%s\",\"title\":\"T\",\"body\":\"B\","
                   "\"author_id\":\"u\"}", *s), "slug");
    }
    assert_string_equal(A_BAD("{\"title\":\"T\",\"body\":\"B\","
                              "\"author_id\":\"u\"}", "slug"),
                        "slug is required");
    A_BAD("{\"slug\":\"\",\"title\":\"T\",\"body\":\"B\",\"author_id\":\"u\"}",
          "slug");
    A_BAD("{\"slug\":7,\"title\":\"T\",\"body\":\"B\",\"author_id\":\"u\"}",
          "slug");
    A_BAD("{\"slug\":[\"a\"],\"title\":\"T\",\"body\":\"B\","
          "\"author_id\":\"u\"}", "slug");

    /* at most 255 characters */
    slug = FMT("%s-%s", rep(st->p, "a", 200), rep(st->p, "b", 54));
    assert_int_equal(strlen(slug), 255);
    A_OK(FMT("{\"slug\":\"%s\",\"title\":\"T\",\"body\":\"B\","
             "\"author_id\":\"u\"}", slug));
    slug = FMT("%s-%s", rep(st->p, "a", 200), rep(st->p, "b", 55));
    assert_string_equal(A_BAD(FMT("{\"slug\":\"%s\",\"title\":\"T\","
                                  "\"body\":\"B\",\"author_id\":\"u\"}",
                                  slug), "slug"),
                        "slug must be at most 255 characters");
}

static void test_tags(void **state)
{
    vstate_t *st = *state;

    /* JSON arrays */
    assert_string_equal(A_OK(ARTICLE(",\"tags\":[]"))[5], "{}");
    assert_string_equal(A_OK(ARTICLE(",\"tags\":null"))[5], "{}");
    assert_string_equal(A_OK(ARTICLE(",\"tags\":\"\""))[5], "{}");
    assert_string_equal(A_OK(ARTICLE(",\"tags\":[\"a\"]"))[5], "{\"a\"}");
    assert_string_equal(A_OK(ARTICLE(",\"tags\":[\"a\",\"b \\\"c\\\"\"]"))[5],
                        "{\"a\",\"b \\\"c\\\"\"}");
    assert_string_equal(A_OK(ARTICLE(",\"tags\":[\"back\\\\slash\","
                                     "\"{x,y}\",\" sp \",\"\","
                                     "\"NULL\",\"\\u00e9t\\u00e9\"]"))[5],
                        "{\"back\\\\slash\",\"{x,y}\",\" sp \",\"\","
                        "\"NULL\",\"\xc3\xa9t\xc3\xa9\"}");
    A_BAD(ARTICLE(",\"tags\":[\"a\",1]"), "tags");
    A_BAD(ARTICLE(",\"tags\":[\"a\",null]"), "tags");
    A_BAD(ARTICLE(",\"tags\":[[\"a\"]]"), "tags");
    A_BAD(ARTICLE(",\"tags\":[{}]"), "tags");
    A_BAD(ARTICLE(",\"tags\":[true]"), "tags");
    A_BAD(ARTICLE(",\"tags\":[\"a\\u0000b\"]"), "tags");
    /* JSON: a string is the wrong type, even one that looks like a list */
    A_BAD(ARTICLE(",\"tags\":\"a;b\""), "tags");
    A_BAD(ARTICLE(",\"tags\":\"[\\\"a\\\"]\""), "tags");
    A_BAD(ARTICLE(",\"tags\":5"), "tags");
    A_BAD(ARTICLE(",\"tags\":{\"a\":\"b\"}"), "tags");

    /* CSV: JSON array text */
    assert_string_equal(
        AC_OK(ARTICLE(",\"tags\":\"[\\\"a\\\",\\\"b\\\"]\""))[5],
        "{\"a\",\"b\"}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\" [ \\\"a;b\\\" , "
                                      "\\\"q\\\\\\\"\\\" ] \\r\\n\""))[5],
                        "{\"a;b\",\"q\\\"\"}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\"[]\""))[5], "{}");
    AC_BAD(ARTICLE(",\"tags\":\"[\\\"a\\\"\""), "tags");
    AC_BAD(ARTICLE(",\"tags\":\"[\\\"a\\\",1]\""), "tags");
    AC_BAD(ARTICLE(",\"tags\":\"[\\\"a\\\"] x\""), "tags");
    AC_BAD(ARTICLE(",\"tags\":\"[\\\"a\\\"][\\\"b\\\"]\""), "tags");
    AC_BAD(ARTICLE(",\"tags\":\"[a, b]\""), "tags");
    AC_BAD(ARTICLE(",\"tags\":\"['a']\""), "tags");
    AC_BAD(ARTICLE(",\"tags\":\"[\""), "tags");
    AC_BAD(ARTICLE(",\"tags\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\""),
           "tags");
    AC_BAD(ARTICLE(",\"tags\":\"[\\\"a\\\\u0000\\\"]\""), "tags");

    /* CSV: ';'-separated lists, trimmed, empty items dropped */
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\"a;b\""))[5],
                        "{\"a\",\"b\"}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\"solo\""))[5], "{\"solo\"}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\" a b ; ;\\tc\\t;;\""))[5],
                        "{\"a b\",\"c\"}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\";\""))[5], "{}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\" ;  ; \""))[5], "{}");
    assert_string_equal(
        AC_OK(ARTICLE(",\"tags\":\"say \\\"hi\\\";c:\\\\d\""))[5],
        "{\"say \\\"hi\\\"\",\"c:\\\\d\"}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\"a,b;c\""))[5],
                        "{\"a,b\",\"c\"}");
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":\"x[1];y\""))[5],
                        "{\"x[1]\",\"y\"}");
    /* an array is fine from CSV too */
    assert_string_equal(AC_OK(ARTICLE(",\"tags\":[\"z\"]"))[5], "{\"z\"}");
    AC_BAD(ARTICLE(",\"tags\":\"a\\u0000;b\""), "tags");
}

static void test_comments(void **state)
{
    vstate_t *st = *state;
    const char **c;
    const char *body;

    c = C_OK(COMMENT(""));
    assert_null(c[0]);
    assert_string_equal(c[1], "a-1");
    assert_string_equal(c[2], "u-1");
    assert_string_equal(c[3], "hi");
    assert_null(c[4]);
    c = C_OK("{\"article_id\":\"a-missing-12510\",\"user_id\":\"" UUID_UC "\","
             "\"body\":\"  padded  \\n\"}");
    assert_string_equal(c[1], "a-missing-12510");
    assert_string_equal(c[2], UUID_UC);      /* references pass as given */
    assert_string_equal(c[3], "  padded  \n");
    c = CC_OK(COMMENT(",\"created_at\":\"2024-01-01T00:00:00Z\""));
    assert_string_equal(c[4], "2024-01-01 00:00:00.000000+00");

    assert_string_equal(C_BAD("{\"user_id\":\"u\",\"body\":\"b\"}",
                              "article_id"), "article_id is required");
    C_BAD("{\"article_id\":\"\",\"user_id\":\"u\",\"body\":\"b\"}",
          "article_id");
    C_BAD("{\"article_id\":1,\"user_id\":\"u\",\"body\":\"b\"}", "article_id");
    C_BAD("{\"article_id\":[],\"user_id\":\"u\",\"body\":\"b\"}",
          "article_id");
    C_BAD("{\"article_id\":\"a\",\"body\":\"b\"}", "user_id");
    C_BAD("{\"article_id\":\"a\",\"user_id\":null,\"body\":\"b\"}", "user_id");
    C_BAD("{\"article_id\":\"a\",\"user_id\":2.5,\"body\":\"b\"}", "user_id");
    C_BAD("{\"article_id\":\"a\",\"user_id\":true,\"body\":\"b\"}", "user_id");
    assert_string_equal(C_BAD("{\"article_id\":\"a\",\"user_id\":\"u\"}",
                              "body"), "body is required");
    C_BAD("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"\"}", "body");
    C_BAD("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":3}", "body");
    C_BAD("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":[\"b\"]}", "body");

    /* blank after trimming */
    assert_string_equal(C_BAD(COMMENT(",\"body\":\" \""), "body"),
                        "body must not be blank");
    C_BAD("{\"article_id\":\"a\",\"user_id\":\"u\","
          "\"body\":\" \\t\\n\\u000b\\f\\r \"}", "body");
    /* U+00A0 is not ASCII whitespace: a word */
    C_OK("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"\\u00a0\"}");

    /* 500 words */
    body = FMT("%sw", rep(st->p, "w ", 499));
    C_OK(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body));
    body = FMT("  %s\\t\\n", rep(st->p, "word\\t\\n ", 500));
    C_OK(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body));
    body = FMT("%sw", rep(st->p, "w ", 500));
    assert_string_equal(C_BAD(FMT("{\"article_id\":\"a\",\"user_id\":\"u\","
                                  "\"body\":\"%s\"}", body), "body"),
                        "body must be at most 500 words");
    body = rep(st->p, "w\\r", 501);
    C_BAD(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body),
          "body");

    /* 10,000 characters, untrimmed, multi-byte counted as one */
    body = rep(st->p, "x", 10000);
    C_OK(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body));
    body = rep(st->p, "x", 10001);
    assert_string_equal(C_BAD(FMT("{\"article_id\":\"a\",\"user_id\":\"u\","
                                  "\"body\":\"%s\"}", body), "body"),
                        "body must be at most 10000 characters");
    body = FMT("x%s", rep(st->p, " ", 9999));
    C_OK(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body));
    body = FMT("x%s", rep(st->p, " ", 10000));
    C_BAD(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body),
          "body");
    body = rep(st->p, "\\u00e9", 10000);
    c = C_OK(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}",
                 body));
    assert_int_equal(strlen(c[3]), 20000);
    body = rep(st->p, "\\u20ac", 10001);
    C_BAD(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body),
          "body");
    body = rep(st->p, "\\ud83d\\ude00", 10000);
    C_OK(FMT("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"%s\"}", body));
    C_BAD("{\"article_id\":\"a\",\"user_id\":\"u\",\"body\":\"a\\u0000b\"}",
          "body");
}

static void test_first_field_wins(void **state)
{
    vstate_t *st = *state;

    U_BAD("{\"id\":\"bad\",\"email\":\"bad\",\"name\":5,\"role\":\"x\","
          "\"active\":\"x\",\"created_at\":\"x\",\"updated_at\":\"x\"}", "id");
    U_BAD("{\"email\":\"bad\",\"name\":5,\"role\":\"x\",\"active\":\"x\","
          "\"created_at\":\"x\",\"updated_at\":\"x\"}", "email");
    U_BAD("{\"role\":\"x\",\"email\":\"a@b.co\",\"name\":5}", "name");
    U_BAD("{\"active\":\"x\",\"role\":\"x\",\"email\":\"a@b.co\"}", "role");
    U_BAD("{\"updated_at\":\"x\",\"active\":\"x\",\"email\":\"a@b.co\"}",
          "active");
    U_BAD("{\"updated_at\":\"x\",\"created_at\":\"x\",\"email\":\"a@b.co\"}",
          "created_at");
    UC_BAD("{\"role\":\"manager\",\"email\":\"foo@bar\"}", "email");

    A_BAD("{\"status\":\"x\",\"tags\":1,\"author_id\":1,\"body\":1,"
          "\"title\":1,\"slug\":\"Hello World\",\"id\":\"x\"}", "id");
    A_BAD("{\"status\":\"x\",\"tags\":1,\"author_id\":1,\"body\":1,"
          "\"title\":1,\"slug\":\"Hello World\"}", "slug");
    A_BAD("{\"status\":\"x\",\"tags\":1,\"author_id\":1,\"body\":1,"
          "\"slug\":\"s\"}", "title");
    A_BAD("{\"status\":\"x\",\"tags\":1,\"author_id\":1,\"title\":\"T\","
          "\"slug\":\"s\"}", "body");
    A_BAD("{\"status\":\"x\",\"tags\":1,\"body\":\"B\",\"title\":\"T\","
          "\"slug\":\"s\"}", "author_id");
    A_BAD(ARTICLE(",\"status\":\"x\",\"published_at\":\"x\",\"tags\":1"),
          "tags");
    A_BAD(ARTICLE(",\"status\":\"x\",\"published_at\":\"x\""),
          "published_at");
    /* a bad status is reported before the draft rule needs it */
    A_BAD(ARTICLE(",\"status\":\"x\",\"published_at\":"
                  "\"2024-01-01T00:00:00Z\""), "status");

    C_BAD("{\"id\":\"x\",\"created_at\":\"x\"}", "id");
    C_BAD("{\"created_at\":\"x\",\"body\":\" \",\"user_id\":1}", "article_id");
    C_BAD("{\"created_at\":\"x\",\"body\":\" \",\"user_id\":1,"
          "\"article_id\":\"a\"}", "user_id");
    C_BAD("{\"created_at\":\"x\",\"body\":\" \",\"user_id\":\"u\","
          "\"article_id\":\"a\"}", "body");
    C_BAD(COMMENT(",\"created_at\":\"x\""), "created_at");
}

/* Hand-built records: strings_only with odd bytes, and other edges. */
static void test_hostile(void **state)
{
    vstate_t *st = *state;
    json_object *obj = json_object_new_object();
    static const char bytes[] = "\xff\xfe\x80\x80\x80 \xc3";
    char *big;

    /* invalid UTF-8 must not crash anything (it is counted, not trusted) */
    json_object_object_add(obj, "email", json_object_new_string("a@b.co"));
    json_object_object_add(obj, "name",
                           json_object_new_string_len(bytes,
                                                      sizeof(bytes) - 1));
    run_obj(st, BULKIO_RES_USERS, 1, obj);
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    json_object_put(obj);

    obj = json_object_new_object();
    json_object_object_add(obj, "article_id", json_object_new_string("a"));
    json_object_object_add(obj, "user_id", json_object_new_string("u"));
    json_object_object_add(obj, "body",
                           json_object_new_string_len(bytes,
                                                      sizeof(bytes) - 1));
    json_object_object_add(obj, "created_at",
                           json_object_new_string_len("2024-01-01T00:00:00Z",
                                                      19));
    run_obj(st, BULKIO_RES_COMMENTS, 1, obj);
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.field, "created_at");
    json_object_put(obj);

    /* a megabyte of continuation bytes and of garbage everywhere */
    big = apr_palloc(st->p, 1 << 20);
    memset(big, 0x80, 1 << 20);
    obj = json_object_new_object();
    json_object_object_add(obj, "email", json_object_new_string("a@b.co"));
    json_object_object_add(obj, "name",
                           json_object_new_string_len(big, 1 << 20));
    run_obj(st, BULKIO_RES_USERS, 1, obj);
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.field, "name");
    json_object_put(obj);

    memset(big, '-', 1 << 20);
    obj = json_object_new_object();
    json_object_object_add(obj, "slug",
                           json_object_new_string_len(big, 1 << 20));
    run_obj(st, BULKIO_RES_ARTICLES, 1, obj);
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.field, "slug");
    json_object_put(obj);

    memset(big, '[', 1 << 20);
    obj = json_object_new_object();
    json_object_object_add(obj, "slug", json_object_new_string("s"));
    json_object_object_add(obj, "title", json_object_new_string("t"));
    json_object_object_add(obj, "body", json_object_new_string("b"));
    json_object_object_add(obj, "author_id", json_object_new_string("u"));
    json_object_object_add(obj, "tags",
                           json_object_new_string_len(big, 1 << 20));
    run_obj(st, BULKIO_RES_ARTICLES, 1, obj);
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.field, "tags");
    json_object_put(obj);

    memset(big, ';', 1 << 20);
    obj = json_object_new_object();
    json_object_object_add(obj, "slug", json_object_new_string("s"));
    json_object_object_add(obj, "title", json_object_new_string("t"));
    json_object_object_add(obj, "body", json_object_new_string("b"));
    json_object_object_add(obj, "author_id", json_object_new_string("u"));
    json_object_object_add(obj, "tags",
                           json_object_new_string_len(big, 1 << 20));
    run_obj(st, BULKIO_RES_ARTICLES, 1, obj);
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    assert_string_equal(st->cols[5], "{}");
    json_object_put(obj);

    /* a comment id of the right length with a NUL in the prefix */
    obj = json_object_new_object();
    json_object_object_add(obj, "id",
                           json_object_new_string_len("cm\0" UUID_LC, 39));
    json_object_object_add(obj, "article_id", json_object_new_string("a"));
    json_object_object_add(obj, "user_id", json_object_new_string("u"));
    json_object_object_add(obj, "body", json_object_new_string("b"));
    run_obj(st, BULKIO_RES_COMMENTS, 1, obj);
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.field, "id");
    json_object_put(obj);

    /* strings_only with a non-string value: the wrong type still */
    UC_BAD("{\"email\":\"a@b.co\",\"active\":7}", "active");
    UC_BAD("{\"email\":[]}", "email");
    AC_BAD(ARTICLE(",\"tags\":3"), "tags");
}

/* The conformance file of the original assignment, committed with the
 * tests; make runs the unit tests from the top of the checkout. */
#define USERS_HUGE "t/data/users_huge.csv"

static void test_users_huge(void **state)
{
    vstate_t *st = *state;
    char line[4096], *names[16], *cells[16], *s, *e;
    int ncols = 0, n, i, rows = 0, okc = 0, email = 0, role = 0, other = 0;
    int no_id = 0;
    apr_pool_t *rp;
    FILE *f;

    f = fopen(USERS_HUGE, "rb");
    assert_non_null(f);
    apr_pool_create(&rp, st->p);
    while (fgets(line, sizeof(line), f)) {
        bulkio_record_t rec;
        json_object *obj;

        e = line + strlen(line);
        assert_true(e > line && e[-1] == '\n');
        assert_true(e - 1 > line && e[-2] == '\r');
        e[-2] = '\0';
        for (n = 0, s = line; n < 16; ++n) {
            cells[n] = s;
            if (!(s = strchr(s, ','))) {
                ++n;
                break;
            }
            *s++ = '\0';
        }
        if (!ncols) {
            ncols = n;
            for (i = 0; i < n; ++i) {
                names[i] = apr_pstrdup(st->p, cells[i]);
            }
            assert_int_equal(ncols, 7);
            assert_string_equal(names[0], "id");
            continue;
        }
        assert_int_equal(n, ncols);
        obj = json_object_new_object();
        for (i = 0; i < n; ++i) {
            json_object_object_add(obj, names[i],
                                   json_object_new_string(cells[i]));
        }
        memset(&rec, 0, sizeof(rec));
        rec.obj = obj;
        rec.strings_only = 1;
        rec.index = rows++;
        bulkio_validate(rp, BULKIO_RES_USERS, &rec, st->cols, &st->v);
        if (st->v.type == BULKIO_ERR_NONE) {
            ++okc;
            no_id += !st->cols[0];
        }
        else if (st->v.type == BULKIO_ERR_VALIDATION
                 && !strcmp(st->v.field, "email")) {
            ++email;
        }
        else if (st->v.type == BULKIO_ERR_VALIDATION
                 && !strcmp(st->v.field, "role")) {
            ++role;
        }
        else {
            print_message("row %d: %s\n", rows, st->v.message);
            ++other;
        }
        json_object_put(obj);
        apr_pool_clear(rp);
    }
    fclose(f);
    assert_int_equal(rows, 10000);
    assert_int_equal(email, 201);
    assert_int_equal(role, 99);
    assert_int_equal(other, 0);
    assert_int_equal(okc, 9700);
    assert_true(no_id > 0);
}

/* Validate json as a record of res in mode; the presence bits. */
static unsigned int run_mode(vstate_t *st, bulkio_resource_e res,
                             bulkio_mode_e mode, int csv, const char *json)
{
    json_object *obj = json_tokener_parse(json);
    bulkio_record_t rec;
    unsigned int pres = 0xdead;

    if (!obj) {
        fail_msg("test JSON does not parse: %s", json);
    }
    memset(&rec, 0, sizeof(rec));
    rec.obj = obj;
    rec.strings_only = csv;
    st->v.type = BULKIO_ERR_DUPLICATE;
    bulkio_validate_mode(st->p, res, mode, &rec, st->cols, &pres, &st->v);
    json_object_put(obj);
    return pres;
}

#define UID "00000000-0000-4000-8000-000000000001"

static void test_mode_names(void **state)
{
    (void)state;
    assert_int_equal(bulkio_mode_from_name(NULL), BULKIO_MODE_UPSERT);
    assert_int_equal(bulkio_mode_from_name("delete"), BULKIO_MODE_DELETE);
    assert_int_equal(bulkio_mode_from_name("merge"), -1);
    assert_string_equal(bulkio_mode_name(BULKIO_MODE_REPLACE), "replace");
    assert_null(bulkio_mode_name((bulkio_mode_e)9));
    assert_string_equal(bulkio_errtype_name(BULKIO_ERR_NOT_FOUND),
                        "NOT_FOUND_ERROR");
}

/* Partial records: what they do not carry is neither required nor set. */
static void test_partial_presence(void **state)
{
    vstate_t *st = *state;
    unsigned int pres;

    /* an update by id needs only the id */
    pres = run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_UPSERT, 0,
                    "{\"id\":\"" UID "\",\"name\":\"N\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    assert_int_equal(pres, 1u << 0 | 1u << 2);
    assert_null(st->cols[1]);                 /* email: not carried */
    assert_string_equal(st->cols[2], "N");
    assert_string_equal(st->cols[3], "reader"); /* the default, for an
                                                   insert */
    /* replace and insert: every column is set, email required */
    pres = run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_REPLACE, 0,
                    "{\"id\":\"" UID "\",\"name\":\"N\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.message, "email is required");
    pres = run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_INSERT, 0,
                    "{\"email\":\"a@b.co\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    assert_int_equal(pres, (1u << 7) - 1);
    /* explicit null: carried, the default or NULL; null on a required
     * field fails */
    pres = run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_UPSERT, 0,
                    "{\"id\":\"" UID "\",\"name\":null,\"role\":null}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    assert_int_equal(pres, 1u << 0 | 1u << 2 | 1u << 3);
    assert_null(st->cols[2]);
    assert_string_equal(st->cols[3], "reader");
    run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_UPSERT, 0,
             "{\"id\":\"" UID "\",\"email\":null}");
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.message, "email is required");
    /* CSV: an empty cell is absent, \N is null */
    pres = run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_UPSERT, 1,
                    "{\"id\":\"" UID "\",\"email\":\"\",\"name\":\"\\\\N\","
                    "\"active\":\"\\\\N\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    assert_int_equal(pres, 1u << 0 | 1u << 2 | 1u << 4);
    assert_null(st->cols[2]);
    assert_string_equal(st->cols[4], "t");
    /* from NDJSON the text \N is a name like any other */
    run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_UPSERT, 0,
             "{\"id\":\"" UID "\",\"name\":\"\\\\N\"}");
    assert_string_equal(st->cols[2], "\\N");
    /* a field carried is checked as always */
    run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_UPSERT, 0,
             "{\"id\":\"" UID "\",\"role\":\"boss\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.field, "role");
}

static void test_partial_articles(void **state)
{
    vstate_t *st = *state;
    unsigned int pres;

    pres = run_mode(st, BULKIO_RES_ARTICLES, BULKIO_MODE_UPDATE, 0,
                    "{\"slug\":\"a-b\",\"published_at\":"
                    "\"2024-01-01T00:00:00Z\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);   /* status not carried */
    assert_int_equal(pres, 1u << 1 | 1u << 6);
    run_mode(st, BULKIO_RES_ARTICLES, BULKIO_MODE_UPDATE, 0,
             "{\"slug\":\"a-b\",\"status\":\"draft\",\"published_at\":"
             "\"2024-01-01T00:00:00Z\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.field, "published_at");
    /* an update names its row */
    run_mode(st, BULKIO_RES_ARTICLES, BULKIO_MODE_UPDATE, 0,
             "{\"title\":\"T\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_VALIDATION);
    assert_string_equal(st->v.message, "id or slug is required");
    run_mode(st, BULKIO_RES_COMMENTS, BULKIO_MODE_UPDATE, 0,
             "{\"body\":\"B\"}");
    assert_string_equal(st->v.message, "id is required");
    /* upsert leaves a record without a key to the database (it inserts) */
    run_mode(st, BULKIO_RES_COMMENTS, BULKIO_MODE_UPSERT, 0,
             "{\"body\":\"B\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    assert_null(st->cols[1]);
}

static void test_delete_key(void **state)
{
    vstate_t *st = *state;

    run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_DELETE, 0,
             "{\"id\":\"" UID "\",\"email\":\"bad\",\"role\":\"x\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);   /* only the id read */
    assert_string_equal(st->cols[0], UID);
    assert_null(st->cols[1]);
    assert_null(st->cols[3]);
    run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_DELETE, 0,
             "{\"email\":\"A@B.co\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
    assert_null(st->cols[0]);
    assert_string_equal(st->cols[1], "A@B.co");
    run_mode(st, BULKIO_RES_USERS, BULKIO_MODE_DELETE, 0,
             "{\"email\":\"nope\"}");
    assert_string_equal(st->v.field, "email");
    run_mode(st, BULKIO_RES_ARTICLES, BULKIO_MODE_DELETE, 0, "{}");
    assert_string_equal(st->v.message, "id or slug is required");
    run_mode(st, BULKIO_RES_COMMENTS, BULKIO_MODE_DELETE, 0,
             "{\"id\":\"cm_" UID "\"}");
    assert_int_equal(st->v.type, BULKIO_ERR_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        VTEST(test_names),
        VTEST(test_columns),
        VTEST(test_not_an_object),
        VTEST(test_users_defaults),
        VTEST(test_users_full),
        VTEST(test_id),
        VTEST(test_email),
        VTEST(test_name),
        VTEST(test_role),
        VTEST(test_active),
        VTEST(test_timestamps),
        VTEST(test_articles_basic),
        VTEST(test_slug),
        VTEST(test_tags),
        VTEST(test_comments),
        VTEST(test_first_field_wins),
        VTEST(test_hostile),
        VTEST(test_users_huge),
        VTEST(test_mode_names),
        VTEST(test_partial_presence),
        VTEST(test_partial_articles),
        VTEST(test_delete_key),
    };
    return BULKIO_RUN_TESTS(tests);
}
