/* Unit tests of the row reader of the PostgreSQL layer: results built by
 * hand (PQmakeEmptyPGresult), no database. */

#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "test_common.h"
#include "bulkio_pq.h"

typedef struct {
    apr_int64_t id;
    const char *name;
    const char *note;
    int count;
    int flag;
    double seconds;
    const char *untouched;
} thing_t;

static const bulkio_pq_col_t thing_cols[] = {
    BULKIO_PQ_COL(thing_t, id, INT64),
    BULKIO_PQ_COL(thing_t, name, TEXT),
    BULKIO_PQ_COL(thing_t, note, TEXT),
    BULKIO_PQ_COL(thing_t, count, INT),
    BULKIO_PQ_COL(thing_t, flag, BOOL),
    BULKIO_PQ_COL(thing_t, seconds, DOUBLE),
    BULKIO_PQ_COL(thing_t, untouched, TEXT),
    BULKIO_PQ_END
};

static apr_status_t clear(void *res)
{
    PQclear(res);
    return APR_SUCCESS;
}

/* A result with the columns names (a NULL-terminated list) and nrows rows
 * of values (NULL for SQL NULL), row after row; cleared with p. */
static PGresult *result(apr_pool_t *p, const char *const *names, int nrows,
                        const char *const *values)
{
    PGresAttDesc attrs[16];
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    int n, i, c;

    assert_non_null(res);
    apr_pool_cleanup_register(p, res, clear, apr_pool_cleanup_null);
    memset(attrs, 0, sizeof(attrs));
    for (n = 0; names[n]; ++n) {
        attrs[n].name = (char *)names[n];
        attrs[n].typid = 25;   /* text */
        attrs[n].typlen = -1;
        attrs[n].atttypmod = -1;
    }
    assert_true(PQsetResultAttrs(res, n, attrs));
    for (i = 0; i < nrows; ++i) {
        for (c = 0; c < n; ++c) {
            const char *v = values[i * n + c];

            assert_true(PQsetvalue(res, i, c, (char *)v,
                                   v ? (int)strlen(v) : -1));
        }
    }
    return res;
}

/* Every type, the columns in the table's order. */
static void test_row(void **state)
{
    static const char *const names[] = {
        "id", "name", "note", "count", "flag", "seconds", NULL
    };
    static const char *const values[] = {
        "9007199254740993", "alpha", NULL, "-42", "t", "1.5"
    };
    PGresult *res = result(*state, names, 1, values);
    thing_t t;

    memset(&t, 0, sizeof(t));
    t.untouched = "kept";
    t.note = "gone";
    bulkio_pq_row(res, 0, thing_cols, &t);
    assert_true(t.id == APR_INT64_C(9007199254740993));
    assert_string_equal(t.name, "alpha");
    assert_null(t.note);
    assert_int_equal(t.count, -42);
    assert_int_equal(t.flag, 1);
    assert_true(t.seconds == 1.5);
    /* a column the result lacks leaves its field as it is */
    assert_string_equal(t.untouched, "kept");
}

/* Columns in another order and some missing; NULL numbers read as 0. */
static void test_names(void **state)
{
    static const char *const names[] = {
        "seconds", "flag", "extra", "count", "name", NULL
    };
    static const char *const values[] = {
        NULL, "f", "x", NULL, "beta"
    };
    PGresult *res = result(*state, names, 1, values);
    thing_t t;

    memset(&t, 0, sizeof(t));
    t.id = 7;
    t.seconds = 3;
    t.count = 3;
    t.flag = 1;
    bulkio_pq_row(res, 0, thing_cols, &t);
    assert_true(t.id == 7);
    assert_string_equal(t.name, "beta");
    assert_int_equal(t.count, 0);
    assert_int_equal(t.flag, 0);
    assert_true(t.seconds == 0.0);
}

/* Every row into an array of structs, each zeroed first. */
static void test_rows(void **state)
{
    static const char *const names[] = { "name", "id", "flag", NULL };
    static const char *const values[] = {
        "a", "1", "t",
        "b", "2", NULL,
        NULL, "3", "f"
    };
    apr_pool_t *p = *state;
    PGresult *res = result(p, names, 3, values);
    apr_array_header_t *rows = bulkio_pq_rows(p, res, thing_cols,
                                              sizeof(thing_t));
    const thing_t *t;

    assert_int_equal(rows->nelts, 3);
    t = &APR_ARRAY_IDX(rows, 0, thing_t);
    assert_string_equal(t->name, "a");
    assert_true(t->id == 1 && t->flag == 1);
    assert_null(t->untouched);
    t = &APR_ARRAY_IDX(rows, 1, thing_t);
    assert_string_equal(t->name, "b");
    assert_true(t->id == 2 && t->flag == 0);
    t = &APR_ARRAY_IDX(rows, 2, thing_t);
    assert_null(t->name);
    assert_true(t->id == 3 && t->flag == 0);
    /* no rows: an empty array */
    res = result(p, names, 0, NULL);
    assert_int_equal(bulkio_pq_rows(p, res, thing_cols,
                                    sizeof(thing_t))->nelts, 0);
}

/* One value read into a variable of its own (offset 0). */
static void test_scalar(void **state)
{
    static const char *const names[] = { "status", NULL };
    static const char *const values[] = { "running" };
    static const bulkio_pq_col_t status_col[] = {
        { "status", BULKIO_PQ_TEXT, 0 }, BULKIO_PQ_END
    };
    PGresult *res = result(*state, names, 1, values);
    const char *status = NULL;

    bulkio_pq_row(res, 0, status_col, &status);
    assert_string_equal(status, "running");
}

static void test_params(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(bulkio_pq_int64(p, APR_INT64_C(-9000000000)),
                        "-9000000000");
    assert_string_equal(bulkio_pq_secs(p, apr_time_from_sec(90)),
                        "90 seconds");
    assert_string_equal(bulkio_pq_error(p, NULL), "no connection");
    assert_true(bulkio_pq_broken(NULL));
    assert_false(bulkio_pq_revive(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_row),
        BULKIO_TEST(test_names),
        BULKIO_TEST(test_rows),
        BULKIO_TEST(test_scalar),
        BULKIO_TEST(test_params),
    };
    return BULKIO_RUN_TESTS(tests);
}
