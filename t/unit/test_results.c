/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Per-record results (bulkio_results.c): a batch's entries encoded and
 * decoded back, exactly; entries that do not decode; ids that are not
 * ours; the id a failed record carries. */

#include "test_common.h"

#include <string.h>

#include <apr_strings.h>

#include "bulkio_results.h"

#define UUID_UPPER "3F0C3C51-8D0E-4A8E-9A51-1D9E4F0B7C21"
#define UUID_LOWER "3f0c3c51-8d0e-4a8e-9a51-1d9e4f0b7c21"

/* What a decode handed on: the entries as text, one a line. */
typedef struct {
    apr_pool_t *p;
    const char *text;
    int n;
} seen_t;

static void collect(void *baton, const bulkio_result_t *e)
{
    seen_t *s = baton;

    s->n++;
    s->text = apr_psprintf(s->p, "%s%" APR_INT64_T_FMT ":%" APR_INT64_T_FMT
                           ":%s:%s:%s\n", s->text, e->index, e->line,
                           bulkio_action_name(e->action),
                           e->id ? e->id : "-",
                           e->error ? bulkio_errtype_name(e->error) : "-");
}

static void test_round_trip(void **state)
{
    apr_pool_t *p = *state;
    static const bulkio_result_t in[] = {
        { 1000000, 1000002, BULKIO_ACT_INSERTED, UUID_LOWER, BULKIO_ERR_NONE },
        { 1000001, 1000003, BULKIO_ACT_UPDATED, "cm_" UUID_LOWER,
          BULKIO_ERR_NONE },
        { 1000002, 1000009, BULKIO_ACT_FAILED, NULL, BULKIO_ERR_PARSE },
        { 1000003, 1000010, BULKIO_ACT_UNCHANGED, UUID_LOWER,
          BULKIO_ERR_NONE },
        { 1000005, 1000004, BULKIO_ACT_FAILED, UUID_LOWER,
          BULKIO_ERR_NOT_FOUND },
        { 1000006, 1000011, BULKIO_ACT_DELETED, UUID_LOWER, BULKIO_ERR_NONE },
    };
    bulkio_results_t rs;
    seen_t seen = { p, "", 0 };
    size_t i;

    bulkio_results_init(&rs, p, 16);
    for (i = 0; i < sizeof(in) / sizeof(in[0]); ++i) {
        bulkio_results_add(&rs, &in[i]);
    }
    assert_int_equal(rs.count, 6);
    assert_int_equal(rs.first, 1000000);
    /* compact: deltas, one letter per action */
    assert_true(rs.buf.len < 6 * 50);
    assert_int_equal(bulkio_results_expand(rs.first,
                     apr_pstrmemdup(p, rs.buf.data, rs.buf.len), collect,
                     &seen), APR_SUCCESS);
    assert_int_equal(seen.n, 6);
    assert_string_equal(seen.text,
        "1000000:1000002:inserted:" UUID_LOWER ":-\n"
        "1000001:1000003:updated:cm_" UUID_LOWER ":-\n"
        "1000002:1000009:failed:-:PARSE_ERROR\n"
        "1000003:1000010:unchanged:" UUID_LOWER ":-\n"
        "1000005:1000004:failed:" UUID_LOWER ":NOT_FOUND_ERROR\n"
        "1000006:1000011:deleted:" UUID_LOWER ":-\n");
}

static void test_bad_entries(void **state)
{
    apr_pool_t *p = *state;
    seen_t seen = { p, "", 0 };

    assert_int_equal(bulkio_results_expand(0, "", collect, &seen),
                     APR_SUCCESS);
    assert_int_equal(seen.n, 0);
    assert_int_equal(bulkio_results_expand(5, "i1,1,x\nz1,1,\n", collect,
                                           &seen), APR_EGENERAL);
    assert_int_equal(seen.n, 1);      /* the entries before it */
    assert_string_equal(seen.text, "5:1:inserted:x:-\n");
    assert_int_equal(bulkio_results_expand(0, "f91,1,\n", collect, &seen),
                     APR_EGENERAL);   /* no such error type */
    assert_int_equal(bulkio_results_expand(0, "i1,1,no-newline", collect,
                                           &seen), APR_EGENERAL);
    assert_int_equal(bulkio_results_expand(0, "i1;1,\n", collect, &seen),
                     APR_EGENERAL);
    assert_int_equal(seen.n, 1);
}

/* An existing row's id that is not one of ours (too long for an entry,
 * or with a line break) is left out; the entries around it stay whole. */
static void test_foreign_ids(void **state)
{
    apr_pool_t *p = *state;
    char *longid = apr_palloc(p, 301);
    bulkio_result_t in[] = {
        { 7, 8, BULKIO_ACT_UPDATED, NULL, BULKIO_ERR_NONE },
        { 8, 9, BULKIO_ACT_UNCHANGED, "legacy\nkey", BULKIO_ERR_NONE },
        { 9, 10, BULKIO_ACT_INSERTED, UUID_LOWER, BULKIO_ERR_NONE },
    };
    bulkio_results_t rs;
    seen_t seen = { p, "", 0 };
    size_t i;

    memset(longid, 'k', 300);
    longid[300] = '\0';
    in[0].id = longid;
    bulkio_results_init(&rs, p, 16);
    for (i = 0; i < sizeof(in) / sizeof(in[0]); ++i) {
        bulkio_results_add(&rs, &in[i]);
    }
    assert_int_equal(bulkio_results_expand(rs.first,
                     apr_pstrmemdup(p, rs.buf.data, rs.buf.len), collect,
                     &seen), APR_SUCCESS);
    assert_string_equal(seen.text,
        "7:8:updated:-:-\n"
        "8:9:unchanged:-:-\n"
        "9:10:inserted:" UUID_LOWER ":-\n");
}

static void test_record_id(void **state)
{
    apr_pool_t *p = *state;
    json_object *o;

    o = json_tokener_parse("{\"id\": \"" UUID_UPPER "\"}");
    assert_string_equal(bulkio_results_record_id(p, o), UUID_LOWER);
    json_object_put(o);
    o = json_tokener_parse("{\"id\": \"cm_" UUID_UPPER "\"}");
    assert_string_equal(bulkio_results_record_id(p, o), "cm_" UUID_LOWER);
    json_object_put(o);
    o = json_tokener_parse("{\"id\": \"not-an-id\"}");
    assert_null(bulkio_results_record_id(p, o));
    json_object_put(o);
    o = json_tokener_parse("{\"id\": 12}");
    assert_null(bulkio_results_record_id(p, o));
    json_object_put(o);
    o = json_tokener_parse("[1]");
    assert_null(bulkio_results_record_id(p, o));
    json_object_put(o);
    assert_null(bulkio_results_record_id(p, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_round_trip),
        BULKIO_TEST(test_bad_entries),
        BULKIO_TEST(test_foreign_ids),
        BULKIO_TEST(test_record_id),
    };
    return BULKIO_RUN_TESTS(tests);
}
