/* Unit tests of the streaming import parsers: NDJSON, JSON array, CSV,
 * each plain and gzipped. */

#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <json-c/json.h>
#include <zlib.h>

#include "test_common.h"
#include "bulkio_parse.h"

#define MIB (1024 * 1024)

/* A record as collected by parse_all(), copied into the test's pool. */
typedef struct {
    apr_int64_t index;
    apr_int64_t line;
    const char *json;           /* the object, or NULL */
    const char *error;
    const char *raw;
    int strings_only;
} rec_t;

/* Non-zero when s is valid UTF-8 (decoded here by code point ranges). */
static int utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned long cp, min;
    int n, i;

    while (*s) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xe0) == 0xc0) {
            n = 1, cp = *s & 0x1f, min = 0x80;
        }
        else if ((*s & 0xf0) == 0xe0) {
            n = 2, cp = *s & 0x0f, min = 0x800;
        }
        else if ((*s & 0xf8) == 0xf0) {
            n = 3, cp = *s & 0x07, min = 0x10000;
        }
        else {
            return 0;
        }
        for (i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        s += n + 1;
    }
    return 1;
}

/* A temporary file holding len bytes of data, removed with p. */
static const char *tmp_file(apr_pool_t *p, const void *data, apr_size_t len)
{
    const char *dir;
    char *path;
    apr_file_t *f;
    apr_size_t n;

    assert_int_equal(apr_temp_dir_get(&dir, p), APR_SUCCESS);
    path = apr_pstrcat(p, dir, "/bulkio_parse_XXXXXX", NULL);
    assert_int_equal(apr_file_mktemp(&f, path, 0, p), APR_SUCCESS);
    assert_int_equal(apr_file_write_full(f, data, len, &n), APR_SUCCESS);
    return path;
}

/* data gzipped as members gzip members, end to end. */
static char *gzip_data(apr_pool_t *p, const char *data, apr_size_t len,
                       int members, apr_size_t *plen)
{
    apr_size_t cap = len + 1024 * (apr_size_t)members + 1024, part, off = 0;
    char *out = apr_palloc(p, cap);
    z_stream z;
    int m;

    *plen = 0;
    for (m = 0; m < members; m++) {
        part = m == members - 1 ? len - off : len / (apr_size_t)members;
        memset(&z, 0, sizeof(z));
        assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
                                      Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (Bytef *)data + off;
        z.avail_in = (uInt)part;
        z.next_out = (Bytef *)out + *plen;
        z.avail_out = (uInt)(cap - *plen);
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        *plen = cap - z.avail_out;
        deflateEnd(&z);
        off += part;
    }
    return out;
}

static bulkio_parser_t *open_data(apr_pool_t *p, bulkio_format_e fmt,
                                  const char *data, apr_size_t len,
                                  apr_size_t max_record)
{
    bulkio_parser_t *ps;

    assert_int_equal(bulkio_parser_open(&ps, p, tmp_file(p, data, len), fmt,
                                        max_record), APR_SUCCESS);
    return ps;
}

/* Every record up to APR_EOF, checking what holds for all records. */
static apr_array_header_t *parse_all(apr_pool_t *p, bulkio_parser_t *ps)
{
    apr_array_header_t *recs = apr_array_make(p, 16, sizeof(rec_t));
    bulkio_record_t r;
    apr_status_t rv;
    rec_t *c;

    while ((rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS) {
        assert_int_equal(r.index, recs->nelts);
        assert_true(r.line >= 1);
        assert_non_null(r.raw);
        assert_true(strlen(r.raw) <= BULKIO_RAW_MAX);
        assert_true(utf8_valid(r.raw));
        assert_true((r.obj == NULL) == (r.error != NULL));
        c = apr_array_push(recs);
        c->index = r.index;
        c->line = r.line;
        c->json = r.obj ? apr_pstrdup(p, json_object_to_json_string_ext(
                                      r.obj, JSON_C_TO_STRING_PLAIN)) : NULL;
        c->error = r.error ? apr_pstrdup(p, r.error) : NULL;
        c->raw = apr_pstrdup(p, r.raw);
        c->strings_only = r.strings_only;
    }
    assert_int_equal(rv, APR_EOF);
    assert_int_equal(bulkio_parser_next(ps, &r), APR_EOF);
    return recs;
}

static apr_array_header_t *parse_data(apr_pool_t *p, bulkio_format_e fmt,
                                      const char *data, apr_size_t len,
                                      apr_size_t max_record)
{
    return parse_all(p, open_data(p, fmt, data, len, max_record));
}

static apr_array_header_t *parse_str(apr_pool_t *p, bulkio_format_e fmt,
                                     const char *data)
{
    return parse_data(p, fmt, data, strlen(data), MIB);
}

#define REC(recs, i) (&APR_ARRAY_IDX(recs, i, rec_t))

/* Record i starts at line and is json (when error is NULL) or fails with
 * an error starting with error. */
static void expect(apr_array_header_t *recs, int i, apr_int64_t line,
                   const char *json, const char *error)
{
    rec_t *r;

    assert_true(i < recs->nelts);
    r = REC(recs, i);
    assert_int_equal(r->line, line);
    if (error) {
        assert_null(r->json);
        assert_non_null(r->error);
        if (strncmp(r->error, error, strlen(error))) {
            fail_msg("record %d: error \"%s\", expected \"%s\"", i, r->error,
                     error);
        }
    }
    else {
        assert_null(r->error);
        assert_string_equal(r->json, json);
    }
}

/* A string of n copies of s. */
static char *repeat(apr_pool_t *p, const char *s, apr_size_t n)
{
    apr_size_t len = strlen(s), i;
    char *out = apr_palloc(p, len * n + 1);

    for (i = 0; i < n; i++) {
        memcpy(out + i * len, s, len);
    }
    out[len * n] = '\0';
    return out;
}

/* ---- NDJSON ----------------------------------------------------------- */

static const char ndjson_basic[] =
    "\xef\xbb\xbf{\"a\":1}\n"
    "\n"
    "   \n"
    "{\"b\":\"x\"}\r\n"
    "\t{\"c\":[1,2]}  \r\n"
    "{\"d\":null}";

static void test_ndjson_basic(void **state)
{
    apr_pool_t *p = *state;
    bulkio_parser_t *ps = open_data(p, BULKIO_FMT_NDJSON, ndjson_basic,
                                    sizeof(ndjson_basic) - 1, MIB);
    apr_array_header_t *recs = parse_all(p, ps);

    assert_int_equal(recs->nelts, 4);
    expect(recs, 0, 1, "{\"a\":1}", NULL);
    expect(recs, 1, 4, "{\"b\":\"x\"}", NULL);
    expect(recs, 2, 5, "{\"c\":[1,2]}", NULL);
    expect(recs, 3, 6, "{\"d\":null}", NULL);
    assert_string_equal(REC(recs, 0)->raw, "{\"a\":1}");
    assert_string_equal(REC(recs, 1)->raw, "{\"b\":\"x\"}");
    assert_string_equal(REC(recs, 2)->raw, "\t{\"c\":[1,2]}");
    assert_int_equal(REC(recs, 0)->strings_only, 0);
    assert_true(bulkio_parser_offset(ps)
                == (apr_off_t)sizeof(ndjson_basic) - 1);
    assert_null(bulkio_parser_error(ps));
}

static void test_ndjson_errors(void **state)
{
    apr_pool_t *p = *state;
    static const char data[] =
        "{\"a\":1\n"                            /* 1 */
        "[1,2]\n"                               /* 2 */
        "42\n"                                  /* 3 */
        "{\"a\":1} x\n"                         /* 4 */
        "{\"a\":\"\xc0\xaf\"}\n"                /* 5: overlong */
        "{\"a\":\"\xed\xa0\x80\"}\n"            /* 6: surrogate */
        "{\"a\":\"\xf4\x90\x80\x80\"}\n"        /* 7: > U+10FFFF */
        "{\"a\":\"x\0y\"}\n"                    /* 8: NUL */
        "{\"a\":\"x\\u0000y\"}\n"               /* 9: escaped NUL */
        "{\"a\":\"\xe2\x82\"}\n"                /* 10: cut character */
        "{\"ok\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}\n" /* 11 */
        "null\n"                                /* 12 */
        "\"str\"\n"                             /* 13 */
        "{\"a\":\"\\u0000\\\\u0000\"}\n"        /* 14 */
        "{\"a\":\"\\\\u0000\"}\n";              /* 15 */
    apr_array_header_t *recs = parse_data(p, BULKIO_FMT_NDJSON, data,
                                          sizeof(data) - 1, MIB);

    assert_int_equal(recs->nelts, 15);
    expect(recs, 0, 1, NULL, "invalid JSON: unexpected end of data");
    expect(recs, 1, 2, NULL, "not a JSON object");
    expect(recs, 2, 3, NULL, "not a JSON object");
    expect(recs, 3, 4, NULL, "invalid JSON");
    expect(recs, 4, 5, NULL, "invalid UTF-8");
    expect(recs, 5, 6, NULL, "invalid UTF-8");
    expect(recs, 6, 7, NULL, "invalid UTF-8");
    expect(recs, 7, 8, NULL, "NUL byte");
    expect(recs, 8, 9, NULL, "NUL byte");
    expect(recs, 9, 10, NULL, "invalid UTF-8");
    expect(recs, 10, 11, "{\"ok\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
           NULL);
    expect(recs, 11, 12, NULL, "not a JSON object");
    expect(recs, 12, 13, NULL, "not a JSON object");
    expect(recs, 13, 14, NULL, "NUL byte");
    expect(recs, 14, 15, "{\"a\":\"\\\\u0000\"}", NULL);
    /* bad bytes show as U+FFFD, a NUL too */
    assert_string_equal(REC(recs, 4)->raw,
                        "{\"a\":\"\xef\xbf\xbd\xef\xbf\xbd\"}");
    assert_string_equal(REC(recs, 7)->raw, "{\"a\":\"x\xef\xbf\xbdy\"}");
    assert_string_equal(REC(recs, 0)->raw, "{\"a\":1");
}

static void test_ndjson_deep(void **state)
{
    apr_pool_t *p = *state;
    const char *data = apr_pstrcat(p,
        repeat(p, "[", 10000), repeat(p, "]", 10000), "\n",
        repeat(p, "{\"a\":", 10000), "1", repeat(p, "}", 10000), "\n",
        repeat(p, "[", 10000), "\n",
        "{\"ok\":1}\n", NULL);
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_NDJSON, data);

    assert_int_equal(recs->nelts, 4);
    expect(recs, 0, 1, NULL, "invalid JSON: nesting too deep");
    expect(recs, 1, 2, NULL, "invalid JSON: nesting too deep");
    expect(recs, 2, 3, NULL, "invalid JSON: nesting too deep");
    expect(recs, 3, 4, "{\"ok\":1}", NULL);
}

static void test_ndjson_long_line(void **state)
{
    apr_pool_t *p = *state;
    const char *data = apr_pstrcat(p, "{\"ok\":0}\n{\"a\":\"",
                                   repeat(p, "x", 10 * MIB), "\"}\r\n",
                                   "{\"b\":2}\n", NULL);
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_NDJSON, data);

    assert_int_equal(recs->nelts, 3);
    expect(recs, 1, 2, NULL, "record exceeds 1048576 bytes");
    expect(recs, 2, 3, "{\"b\":2}", NULL);
    assert_int_equal(strlen(REC(recs, 1)->raw), BULKIO_RAW_MAX);
    assert_memory_equal(REC(recs, 1)->raw, "{\"a\":\"xxx", 9);

    /* a line of exactly max_record bytes passes, one more fails */
    data = apr_pstrcat(p, "{\"a\":\"", repeat(p, "x", 92), "\"}\r\n",
                       "{\"a\":\"", repeat(p, "x", 93), "\"}\n", NULL);
    recs = parse_data(p, BULKIO_FMT_NDJSON, data, strlen(data), 100);
    assert_int_equal(recs->nelts, 2);
    assert_null(REC(recs, 0)->error);
    expect(recs, 1, 2, NULL, "record exceeds 100 bytes");
}

static void test_raw_truncation(void **state)
{
    apr_pool_t *p = *state;
    /* '["' then 3-byte characters: 4096 falls inside one */
    const char *data = apr_pstrcat(p, "[\"", repeat(p, "\xe2\x82\xac", 2000),
                                   "\"]\n", "[\"", repeat(p, "\xff", 3000),
                                   "\"]\n", NULL);
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_NDJSON, data);

    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 1, NULL, "not a JSON object");
    assert_int_equal(strlen(REC(recs, 0)->raw), 2 + 1364 * 3);
    expect(recs, 1, 2, NULL, "invalid UTF-8");
    assert_int_equal(strlen(REC(recs, 1)->raw), 2 + 1364 * 3);
}

/* ---- JSON array ------------------------------------------------------- */

static const char json_basic[] =
    "\xef\xbb\xbf  [\n"
    "  {\"a\":1},\n"
    "  {\"b\":\n"
    "   \"x,]}\"},\n"
    "  {\"c\":\"q\\\"\\\\\"} ,\n"
    "  {\"d\":[{\"e\":[]}]}\n"
    "]\n"
    "  \n";

static void test_json_basic(void **state)
{
    apr_pool_t *p = *state;
    bulkio_parser_t *ps = open_data(p, BULKIO_FMT_JSON, json_basic,
                                    sizeof(json_basic) - 1, MIB);
    apr_array_header_t *recs = parse_all(p, ps);

    assert_int_equal(recs->nelts, 4);
    expect(recs, 0, 2, "{\"a\":1}", NULL);
    expect(recs, 1, 3, "{\"b\":\"x,]}\"}", NULL);
    expect(recs, 2, 5, "{\"c\":\"q\\\"\\\\\"}", NULL);
    expect(recs, 3, 6, "{\"d\":[{\"e\":[]}]}", NULL);
    assert_string_equal(REC(recs, 1)->raw, "{\"b\":\n   \"x,]}\"}");
    assert_string_equal(REC(recs, 2)->raw, "{\"c\":\"q\\\"\\\\\"}");
    assert_int_equal(REC(recs, 0)->strings_only, 0);
    assert_true(bulkio_parser_offset(ps) == (apr_off_t)sizeof(json_basic) - 1);
}

static void test_json_elements(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_JSON,
        "[1, \"x\", [1,{}], null,\n"
        " {\"a\":}, {\"ok\":1},\n"
        " {\"a\":1} {\"b\":2}, , {\"ok\":2}, {\"a\":[1}, {\"ok\":3}]");

    assert_int_equal(recs->nelts, 10);
    expect(recs, 0, 1, NULL, "not a JSON object");
    expect(recs, 1, 1, NULL, "not a JSON object");
    expect(recs, 2, 1, NULL, "not a JSON object");
    expect(recs, 3, 1, NULL, "not a JSON object");
    expect(recs, 4, 2, NULL, "invalid JSON");
    expect(recs, 5, 2, "{\"ok\":1}", NULL);
    expect(recs, 6, 3, NULL, "invalid JSON");
    expect(recs, 7, 3, NULL, "invalid JSON: missing array element");
    expect(recs, 8, 3, "{\"ok\":2}", NULL);
    /* a mismatched bracket: the scanner's depth is off by one from there
     * on, so the element runs on to the end of the file */
    expect(recs, 9, 3, NULL, "truncated JSON array: missing ']'");

    recs = parse_str(p, BULKIO_FMT_JSON, "[{\"a\":1},]");
    assert_int_equal(recs->nelts, 2);
    expect(recs, 1, 1, NULL, "invalid JSON: missing array element");
}

static void test_json_structure(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *recs;

    /* not an array */
    recs = parse_str(p, BULKIO_FMT_JSON, "  \n{\"a\":1}\n{\"b\":2}\n");
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 2, NULL, "expected a JSON array");
    assert_string_equal(REC(recs, 0)->raw, "{\"a\":1}");

    /* trailing garbage */
    recs = parse_str(p, BULKIO_FMT_JSON, "[{\"a\":1}]\n\n x\ny");
    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 1, "{\"a\":1}", NULL);
    expect(recs, 1, 3, NULL, "trailing data after the JSON array");
    assert_string_equal(REC(recs, 1)->raw, "x");

    /* truncated inside an element, after one, after a ',', after '[' */
    recs = parse_str(p, BULKIO_FMT_JSON, "[{\"a\":1},\n{\"b\":");
    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 1, "{\"a\":1}", NULL);
    expect(recs, 1, 2, NULL, "invalid JSON: unexpected end of data");
    recs = parse_str(p, BULKIO_FMT_JSON, "[{\"a\":\"x}, {\"b\":1}]\n");
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 1, NULL, "invalid JSON: unexpected end of data");
    recs = parse_str(p, BULKIO_FMT_JSON, "[{\"a\":1}");
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 1, NULL, "truncated JSON array: missing ']'");
    recs = parse_str(p, BULKIO_FMT_JSON, "[{\"a\":1},\n");
    assert_int_equal(recs->nelts, 2);
    expect(recs, 1, 2, NULL, "truncated JSON array: missing ']'");
    recs = parse_str(p, BULKIO_FMT_JSON, "[");
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 1, NULL, "truncated JSON array: missing ']'");

    /* empty */
    assert_int_equal(parse_str(p, BULKIO_FMT_JSON, "[]")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_JSON, " [ \n ] \n")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_JSON, "")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_JSON, " \n\t")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_JSON, "\xef\xbb\xbf")->nelts, 0);
}

static void test_json_deep(void **state)
{
    apr_pool_t *p = *state;
    const char *data = apr_pstrcat(p, "[", repeat(p, "[", 10000),
                                   repeat(p, "]", 10000), ",\n",
                                   repeat(p, "{\"a\":", 10000), "1",
                                   repeat(p, "}", 10000), ",\n",
                                   "{\"ok\":1}]", NULL);
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_JSON, data);

    assert_int_equal(recs->nelts, 3);
    expect(recs, 0, 1, NULL, "invalid JSON: nesting too deep");
    expect(recs, 1, 2, NULL, "invalid JSON: nesting too deep");
    expect(recs, 2, 3, "{\"ok\":1}", NULL);

    recs = parse_str(p, BULKIO_FMT_JSON, apr_pstrcat(p, "[",
                     repeat(p, "[", 100000), NULL));
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 1, NULL, "invalid JSON: unexpected end of data");
}

static void test_json_long_element(void **state)
{
    apr_pool_t *p = *state;
    const char *data = apr_pstrcat(p, "[{\"a\":\"", repeat(p, "x", 10 * MIB),
                                   "\"},\n{\"b\":2}]", NULL);
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_JSON, data);

    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 1, NULL, "record exceeds 1048576 bytes");
    expect(recs, 1, 2, "{\"b\":2}", NULL);
}

static void test_json_200k(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t cap = 200000 * 32, len = 0;
    char *data = apr_palloc(p, cap);
    bulkio_parser_t *ps;
    bulkio_record_t r;
    apr_status_t rv;
    long i, n = 0, ok = 0;

    data[len++] = '[';
    for (i = 0; i < 200000; i++) {
        len += apr_snprintf(data + len, cap - len, "%s{\"id\":%ld}%s",
                            i ? "," : "", i, i % 10 ? "" : "\n");
    }
    data[len++] = ']';
    ps = open_data(p, BULKIO_FMT_JSON, data, len, MIB);
    while ((rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS) {
        assert_int_equal(r.index, n);
        if (r.obj && json_object_get_int(json_object_object_get(r.obj, "id"))
                     == n) {
            ok++;
        }
        n++;
    }
    assert_int_equal(rv, APR_EOF);
    assert_int_equal(n, 200000);
    assert_int_equal(ok, 200000);
    assert_true(bulkio_parser_offset(ps) == (apr_off_t)len);
}

/* ---- CSV -------------------------------------------------------------- */

static const char csv_basic[] =
    "\xef\xbb\xbf id , email,name ,extra\r\n"
    "1,a@x.io,\"Smith, J\",\r\n"
    "\r\n"
    "2,b@x.io,\"multi\r\nline \"\"q\"\"\",e\r\n"
    "3,,,\n"
    "\n"
    "\"4\",\"c@x.io\",\"\",\"\"";

static void test_csv_basic(void **state)
{
    apr_pool_t *p = *state;
    bulkio_parser_t *ps = open_data(p, BULKIO_FMT_CSV, csv_basic,
                                    sizeof(csv_basic) - 1, MIB);
    apr_array_header_t *recs = parse_all(p, ps);

    assert_int_equal(recs->nelts, 4);
    expect(recs, 0, 2, "{\"id\":\"1\",\"email\":\"a@x.io\",\"name\":"
           "\"Smith, J\"}", NULL);
    expect(recs, 1, 4, "{\"id\":\"2\",\"email\":\"b@x.io\",\"name\":"
           "\"multi\\r\\nline \\\"q\\\"\",\"extra\":\"e\"}", NULL);
    expect(recs, 2, 6, "{\"id\":\"3\"}", NULL);
    expect(recs, 3, 8, "{\"id\":\"4\",\"email\":\"c@x.io\"}", NULL);
    assert_string_equal(REC(recs, 0)->raw, "1,a@x.io,\"Smith, J\",");
    assert_string_equal(REC(recs, 1)->raw,
                        "2,b@x.io,\"multi\r\nline \"\"q\"\"\",e");
    assert_int_equal(REC(recs, 0)->strings_only, 1);
    assert_true(bulkio_parser_offset(ps) == (apr_off_t)sizeof(csv_basic) - 1);
}

static void test_csv_errors(void **state)
{
    apr_pool_t *p = *state;
    static const char data[] =
        "a,b,c\n"               /* 1 */
        "1,2\n"                 /* 2 */
        "1,x\"y,3\n"            /* 3 */
        "4,5,6\n"               /* 4 */
        "\"7\"x,8,\"9\n"        /* 5 */
        "1,2,3,4\r\n"           /* 6 */
        "\xff,1,2\n"            /* 7 */
        "x,\0,y\n"              /* 8 */
        "10,11,12\n"            /* 9 */
        ",,\n"                  /* 10 */
        "13,\"open,15\n"        /* 11 */
        "16,17,18\n";           /* 12 */
    apr_array_header_t *recs = parse_data(p, BULKIO_FMT_CSV, data,
                                          sizeof(data) - 1, MIB);

    assert_int_equal(recs->nelts, 10);
    expect(recs, 0, 2, NULL, "row has 2 fields, header has 3");
    expect(recs, 1, 3, NULL, "stray quote in an unquoted field");
    expect(recs, 2, 4, "{\"a\":\"4\",\"b\":\"5\",\"c\":\"6\"}", NULL);
    expect(recs, 3, 5, NULL, "unexpected character after a closing quote");
    expect(recs, 4, 6, NULL, "row has 4 fields, header has 3");
    expect(recs, 5, 7, NULL, "invalid UTF-8");
    expect(recs, 6, 8, NULL, "NUL byte");
    expect(recs, 7, 9, "{\"a\":\"10\",\"b\":\"11\",\"c\":\"12\"}", NULL);
    expect(recs, 8, 10, "{}", NULL);
    expect(recs, 9, 11, NULL, "unterminated quoted field");
    assert_string_equal(REC(recs, 9)->raw, "13,\"open,15\n16,17,18\n");
    assert_string_equal(REC(recs, 3)->raw, "\"7\"x,8,\"9");
}

static void test_csv_runaway_quote(void **state)
{
    apr_pool_t *p = *state;
    static const char data[] =
        "a,b\n"                                         /* 1 */
        "1,\"never closed\n"                            /* 2 */
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"            /* 3 */
        "yyyyyyyyyyyyyyyyyyyy\",\"\n"                    /* 4: over 64 */
        "5,6\r\n"                                       /* 5 */
        "7,\"8\"\n";                                    /* 6 */
    apr_array_header_t *recs = parse_data(p, BULKIO_FMT_CSV, data,
                                          sizeof(data) - 1, 64);

    assert_int_equal(recs->nelts, 3);
    expect(recs, 0, 2, NULL, "record exceeds 64 bytes");
    expect(recs, 1, 5, "{\"a\":\"5\",\"b\":\"6\"}", NULL);
    expect(recs, 2, 6, "{\"a\":\"7\",\"b\":\"8\"}", NULL);
}

static void test_csv_long_row(void **state)
{
    apr_pool_t *p = *state;
    /* one 10 MB line: a quoted field full of commas and "" escapes */
    const char *data = apr_pstrcat(p, "a,b\n\"",
                                   repeat(p, "x,\"\"", 10 * MIB / 4),
                                   "\",1\n2,3\n", NULL);
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_CSV, data);

    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 2, NULL, "record exceeds 1048576 bytes");
    expect(recs, 1, 3, "{\"a\":\"2\",\"b\":\"3\"}", NULL);
}

static void test_csv_header(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *recs;

    assert_int_equal(parse_str(p, BULKIO_FMT_CSV, "a,b\n")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_CSV, "a,b")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_CSV, "\xef\xbb\xbf"
                               "a,b\r\n\r\n")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_CSV, "")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_CSV, "\n\n")->nelts, 0);

    /* a later duplicate wins, even when its cell is empty; a column with
     * an empty name is ignored */
    recs = parse_str(p, BULKIO_FMT_CSV, "a,b, a ,\n1,2,3,4\n1,2,,4\n");
    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 2, "{\"b\":\"2\",\"a\":\"3\"}", NULL);
    expect(recs, 1, 3, "{\"b\":\"2\"}", NULL);

    /* a bad header is one error, then nothing */
    recs = parse_str(p, BULKIO_FMT_CSV, "\n\"a,b\nc\n1,2\n");
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 2, NULL, "invalid CSV header: unterminated quoted field");
    recs = parse_str(p, BULKIO_FMT_CSV, "a,b\xc0\n1,2\n");
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 1, NULL, "invalid CSV header: invalid UTF-8");
}

/* ---- common ----------------------------------------------------------- */

static void test_empty_files(void **state)
{
    apr_pool_t *p = *state;

    assert_int_equal(parse_str(p, BULKIO_FMT_NDJSON, "")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_NDJSON, "\n \r\n\t\n")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_NDJSON, "\xef\xbb\xbf")->nelts,
                     0);
    assert_int_equal(parse_str(p, BULKIO_FMT_JSON, "")->nelts, 0);
    assert_int_equal(parse_str(p, BULKIO_FMT_CSV, "")->nelts, 0);
}

static void assert_same(apr_array_header_t *a, apr_array_header_t *b)
{
    int i;

    assert_int_equal(a->nelts, b->nelts);
    for (i = 0; i < a->nelts; i++) {
        assert_int_equal(REC(a, i)->index, REC(b, i)->index);
        assert_int_equal(REC(a, i)->line, REC(b, i)->line);
        assert_string_equal(REC(a, i)->raw, REC(b, i)->raw);
        if (REC(a, i)->json) {
            assert_string_equal(REC(a, i)->json, REC(b, i)->json);
        }
        else {
            assert_null(REC(b, i)->json);
            assert_string_equal(REC(a, i)->error, REC(b, i)->error);
        }
    }
}

/* Parsing data gzipped (one member, or three) gives the same records. */
static void check_gzip(apr_pool_t *p, bulkio_format_e fmt, const char *data,
                       apr_size_t len)
{
    apr_array_header_t *plain = parse_data(p, fmt, data, len, MIB);
    bulkio_parser_t *ps;
    const char *gz;
    apr_size_t gzlen;
    int members;

    assert_true(plain->nelts > 0);
    for (members = 1; members <= 3; members += 2) {
        gz = gzip_data(p, data, len, members, &gzlen);
        ps = open_data(p, fmt, gz, gzlen, MIB);
        assert_same(plain, parse_all(p, ps));
        assert_true(bulkio_parser_offset(ps) == (apr_off_t)gzlen);
    }
}

static void test_gzip(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t cap = 300000 * 40, len = 0;
    char *big = apr_palloc(p, cap);
    long i;

    check_gzip(p, BULKIO_FMT_NDJSON, ndjson_basic, sizeof(ndjson_basic) - 1);
    check_gzip(p, BULKIO_FMT_JSON, json_basic, sizeof(json_basic) - 1);
    check_gzip(p, BULKIO_FMT_CSV, csv_basic, sizeof(csv_basic) - 1);
    /* several blocks, records across block boundaries */
    for (i = 0; i < 300000; i++) {
        len += apr_snprintf(big + len, cap - len,
                            "{\"id\":%ld,\"x\":\"%s\"}\n", i,
                            i % 7 ? "a" : "bb\\u00e9");
    }
    check_gzip(p, BULKIO_FMT_NDJSON, big, len);
}

static void test_csv_block_edge(void **state)
{
    apr_pool_t *p = *state;
    /* the first row's CR is the last byte of the first 64 KiB block */
    const char *data = apr_pstrcat(p, "a,b\r\n1,",
                                   repeat(p, "x", 65536 - 8), "\r\n",
                                   "2,y\r\n", NULL);
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_CSV, data);

    assert_int_equal(data[65535], '\r');
    assert_int_equal(recs->nelts, 2);
    assert_null(REC(recs, 0)->error);
    assert_int_equal(strlen(REC(recs, 0)->json), 65536 - 8 + 16);
    expect(recs, 1, 3, "{\"a\":\"2\",\"b\":\"y\"}", NULL);
    check_gzip(p, BULKIO_FMT_CSV, data, strlen(data));
}

static void test_gzip_corrupt(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t cap = 100000 * 24, len = 0, gzlen;
    char *data = apr_palloc(p, cap), *gz;
    bulkio_parser_t *ps;
    bulkio_record_t r;
    apr_status_t rv;
    long i;

    for (i = 0; i < 100000; i++) {
        len += apr_snprintf(data + len, cap - len, "{\"id\":%ld}\n", i * 7919);
    }
    gz = gzip_data(p, data, len, 1, &gzlen);

    /* flipped bytes in the middle: fatal, and it stays fatal */
    gz[gzlen / 2] ^= 0x55;
    gz[gzlen / 2 + 1] ^= 0xaa;
    ps = open_data(p, BULKIO_FMT_NDJSON, gz, gzlen, MIB);
    while ((rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS) {
    }
    assert_int_not_equal(rv, APR_EOF);
    assert_non_null(bulkio_parser_error(ps));
    assert_int_equal(bulkio_parser_next(ps, &r), rv);
    assert_null(r.obj);

    /* truncated */
    gz = gzip_data(p, data, len, 1, &gzlen);
    ps = open_data(p, BULKIO_FMT_NDJSON, gz, gzlen - 4, MIB);
    while ((rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS) {
    }
    assert_int_equal(rv, APR_EINCOMPLETE);
    assert_string_equal(bulkio_parser_error(ps), "truncated gzip stream");

    /* garbage after a member */
    memcpy(gz + gzlen, "garbage!", 8);
    ps = open_data(p, BULKIO_FMT_NDJSON, gz, gzlen + 8, MIB);
    while ((rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS) {
    }
    assert_int_not_equal(rv, APR_EOF);

    /* just the magic */
    assert_int_not_equal(bulkio_parser_open(&ps, p,
                         tmp_file(p, "\x1f\x8b", 2), BULKIO_FMT_CSV, MIB),
                         APR_SUCCESS);
}

/* A gzip stream that goes bad after some good data (here a wrong CRC at
 * the end of its only member): the records inflated before the fault all
 * come out, then the fatal error.  They used to be dropped with the block
 * that held the fault, so how many came out depended on how the file was
 * cut into reads (found by fuzzing with small blocks). */
static void test_gzip_corrupt_tail(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t cap = 200 * 24, len = 0, gzlen;
    char *data = apr_palloc(p, cap), *gz;
    bulkio_parser_t *ps;
    bulkio_record_t r;
    apr_status_t rv;
    long i, n = 0;

    for (i = 0; i < 200; i++) {
        len += apr_snprintf(data + len, cap - len, "{\"id\":%ld}\n", i);
    }
    gz = gzip_data(p, data, len, 1, &gzlen);
    gz[gzlen - 8] ^= 0xff;                      /* the CRC-32 */
    ps = open_data(p, BULKIO_FMT_NDJSON, gz, gzlen, MIB);
    while ((rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS) {
        assert_non_null(r.obj);
        assert_int_equal(r.index, n);
        n++;
    }
    assert_int_equal(n, 200);
    assert_int_equal(rv, APR_EGENERAL);
    assert_string_equal(bulkio_parser_error(ps),
                        "corrupt gzip stream: incorrect data check");
    assert_int_equal(bulkio_parser_next(ps, &r), APR_EGENERAL);
}

/* A gzip stream cut off inside a member: every complete line that the
 * part present inflates to comes out before the "truncated" error.  The
 * cuts tried are those whose data ends near the end of the first 64 KiB
 * block; at one of them the last match used to straddle the block end and
 * its tail, held back by zlib for want of room, was lost. */
static void test_gzip_truncated_tail(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t cap = 700 * 100, len = 0, gzlen, cut, n, tried = 0;
    char *data = apr_palloc(p, cap), *gz, *out = apr_palloc(p, cap);
    bulkio_parser_t *ps;
    bulkio_record_t r;
    apr_status_t rv;
    z_stream z;
    long i, lines, recs;

    for (i = 0; i < 700; i++) {
        len += apr_snprintf(data + len, cap - len,
                            "{\"id\":%ld,\"name\":\"%s\"}\n", i,
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    }
    gz = gzip_data(p, data, len, 1, &gzlen);
    for (cut = 20; cut < gzlen - 8; cut++) {
        memset(&z, 0, sizeof(z));
        assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
        z.next_in = (Bytef *)gz;
        z.avail_in = (uInt)cut;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)cap;
        inflate(&z, Z_SYNC_FLUSH);
        n = cap - z.avail_out;
        inflateEnd(&z);
        if (n + 400 < 65536 || n > 65536 + 400) {
            continue;
        }
        tried++;
        for (lines = 0, i = 0; i < (long)n; i++) {
            lines += out[i] == '\n';
        }
        ps = open_data(p, BULKIO_FMT_NDJSON, gz, cut, MIB);
        recs = 0;
        while ((rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS) {
            assert_non_null(r.obj);
            recs++;
        }
        assert_int_equal(rv, APR_EINCOMPLETE);
        assert_int_equal(recs, lines);
    }
    assert_true(tried >= 10);
}

static void test_open_errors(void **state)
{
    apr_pool_t *p = *state;
    bulkio_parser_t *ps;
    const char *path = tmp_file(p, "{}\n", 3);

    assert_int_equal(bulkio_parser_open(&ps, p, path, BULKIO_FMT_UNKNOWN,
                                        MIB), APR_EINVAL);
    assert_int_equal(bulkio_parser_open(&ps, p, path, BULKIO_FMT_NDJSON, 0),
                     APR_EINVAL);
    assert_true(APR_STATUS_IS_ENOENT(bulkio_parser_open(&ps, p,
                "/nonexistent/bulkio.ndjson", BULKIO_FMT_NDJSON, MIB)));
    assert_int_equal(bulkio_parser_open(&ps, p, path, BULKIO_FMT_NDJSON, MIB),
                     APR_SUCCESS);
}

/* BulkIOMaxInflatedSize: the records wholly before the bound come out,
 * then the file fails with APR_ENOSPC; without the bound it parses. */
static void test_gzip_inflate_limit(void **state)
{
    apr_pool_t *p = *state;
    const char *line = "{\"a\":1}\n";
    apr_size_t n = 200000, len = strlen(line) * n, gzlen, i;
    char *data = apr_palloc(p, len + 1);
    const char *gz;
    bulkio_parser_t *ps;
    bulkio_record_t r;
    apr_status_t rv;

    for (i = 0; i < n; ++i) {
        memcpy(data + i * strlen(line), line, strlen(line));
    }
    gz = gzip_data(p, data, len, 1, &gzlen);
    assert_true(gzlen < len / 20);

    ps = open_data(p, BULKIO_FMT_NDJSON, gz, gzlen, MIB);
    bulkio_parser_limit_inflated(ps, 1 << 20);     /* 1 MiB of 1.6 MB */
    for (i = 0; (rv = bulkio_parser_next(ps, &r)) == APR_SUCCESS; ++i) {
        assert_non_null(r.obj);
    }
    assert_int_equal(rv, APR_ENOSPC);
    assert_int_equal(i, (1 << 20) / strlen(line));
    assert_string_equal(bulkio_parser_error(ps),
                        "the file inflates past 1048576 bytes");
    assert_int_equal(bulkio_parser_next(ps, &r), APR_ENOSPC);

    ps = open_data(p, BULKIO_FMT_NDJSON, gz, gzlen, MIB);
    bulkio_parser_limit_inflated(ps, (apr_off_t)len);   /* exactly fits */
    assert_int_equal(parse_all(p, ps)->nelts, (int)n);
}

/* ---- CSV dialects and charsets ---------------------------------------- */

/* Records of data read with the dialect of the options given. */
static apr_array_header_t *parse_dialect(apr_pool_t *p, const char *data,
                                         apr_size_t len, const char *delim,
                                         const char *columns,
                                         const char *charset)
{
    bulkio_parser_t *ps = open_data(p, BULKIO_FMT_CSV, data, len, MIB);
    bulkio_dialect_t d;

    assert_null(bulkio_dialect_parse(p, &d, delim, columns, charset));
    bulkio_parser_set_dialect(ps, &d);
    return parse_all(p, ps);
}

/* a and b hold the same objects at the same lines. */
static void assert_same_objects(apr_array_header_t *a, apr_array_header_t *b)
{
    int i;

    assert_int_equal(a->nelts, b->nelts);
    for (i = 0; i < a->nelts; i++) {
        assert_int_equal(REC(a, i)->line, REC(b, i)->line);
        assert_non_null(REC(b, i)->json);
        assert_string_equal(REC(a, i)->json, REC(b, i)->json);
    }
}

/* The comma file's rows, with delimiter c (detected, and given). */
static void check_delimiter(apr_pool_t *p, char c, const char *name,
                            apr_array_header_t *comma)
{
    char *data = apr_pstrdup(p, "id,email,\"name, with; | \t all\"\r\n"
                             "1,a@x.io,\"Smith, J; | x\"\r\n"
                             "2,b@x.io,\r\n");
    char *q;
    int inq = 0;

    for (q = data; *q; ++q) {
        inq ^= *q == '"';
        if (!inq && *q == ',') {
            *q = c;
        }
    }
    assert_same_objects(comma, parse_dialect(p, data, strlen(data), NULL,
                                             NULL, NULL));
    assert_same_objects(comma, parse_dialect(p, data, strlen(data), name,
                                             NULL, NULL));
}

static void test_csv_delimiters(void **state)
{
    apr_pool_t *p = *state;
    static const char comma[] = "id,email,\"name, with; | \t all\"\r\n"
                                "1,a@x.io,\"Smith, J; | x\"\r\n"
                                "2,b@x.io,\r\n";
    apr_array_header_t *recs = parse_str(p, BULKIO_FMT_CSV, comma);

    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 2, "{\"id\":\"1\",\"email\":\"a@x.io\",\"name, with; | "
           "\\t all\":\"Smith, J; | x\"}", NULL);
    check_delimiter(p, ',', ",", recs);
    check_delimiter(p, ';', ";", recs);
    check_delimiter(p, '\t', "tab", recs);
    check_delimiter(p, '\t', "\t", recs);
    check_delimiter(p, '|', "pipe", recs);

    /* a tie goes to ','; a header of one name: ',' */
    recs = parse_dialect(p, "a;b,c\n1;2,3\n", 12, NULL, NULL, NULL);
    expect(recs, 0, 2, "{\"a;b\":\"1;2\",\"c\":\"3\"}", NULL);
    recs = parse_dialect(p, "\n\nemail\nx;y\n", 13, NULL, NULL, NULL);
    expect(recs, 0, 4, "{\"email\":\"x;y\"}", NULL);
    /* the delimiter given wins over what the header suggests */
    recs = parse_dialect(p, "a;b,c\n1;2,3\n", 12, ";", NULL, NULL);
    expect(recs, 0, 2, "{\"a\":\"1\",\"b,c\":\"2,3\"}", NULL);
    /* gzipped, detected */
    {
        static const char semi[] = "a;b\n1;2\n";
        apr_size_t gzlen;
        const char *gz = gzip_data(p, semi, sizeof(semi) - 1, 1, &gzlen);

        recs = parse_dialect(p, gz, gzlen, NULL, NULL, NULL);
        assert_int_equal(recs->nelts, 1);
        expect(recs, 0, 2, "{\"a\":\"1\",\"b\":\"2\"}", NULL);
    }
}

static void test_csv_columns(void **state)
{
    apr_pool_t *p = *state;
    static const char data[] = " E-Mail ;Full Name;ROLE\n"
                               "a@x.io;Ann;admin\n";
    apr_array_header_t *recs;

    /* names match ignoring case and blanks; unmapped ones lower-cased */
    recs = parse_dialect(p, data, sizeof(data) - 1, NULL,
                         "e-mail:email, FULL NAME :name", NULL);
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 2, "{\"email\":\"a@x.io\",\"name\":\"Ann\",\"role\":"
           "\"admin\"}", NULL);
    recs = parse_dialect(p, data, sizeof(data) - 1, ";",
                         "{\"E-MAIL\": \"email\", \"Full Name\": \"name\"}",
                         NULL);
    expect(recs, 0, 2, "{\"email\":\"a@x.io\",\"name\":\"Ann\",\"role\":"
           "\"admin\"}", NULL);
    /* a mapped name the header lacks: the header fails, naming it */
    recs = parse_dialect(p, data, sizeof(data) - 1, NULL,
                         "Mail:email,Full Name:name", NULL);
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 1, NULL, "invalid CSV header: columns maps mail, which "
           "the header lacks (it has: e-mail, full name, role;");
    /* a header of 100,000 columns: the message names the first ones */
    {
        const char *wide = apr_pstrcat(p, repeat(p, "col,", 100000), "x\n",
                                       NULL);

        recs = parse_dialect(p, wide, strlen(wide), ",", "mail:email", NULL);
        assert_int_equal(recs->nelts, 1);
        assert_non_null(strstr(REC(recs, 0)->error, "(it has: col, col, "));
        assert_non_null(strstr(REC(recs, 0)->error, ", ...; names match"));
        assert_true(strlen(REC(recs, 0)->error) < 400);
    }
}

static void test_dialect_options(void **state)
{
    apr_pool_t *p = *state;
    bulkio_dialect_t d, back;

    assert_null(bulkio_dialect_parse(p, &d, NULL, NULL, NULL));
    assert_null(bulkio_dialect_json(p, &d));
    assert_null(bulkio_dialect_parse(p, &d, "Semicolon",
                                     "E-Mail:email,Full Name:name", "CP1252"));
    assert_int_equal(d.delimiter, ';');
    assert_int_equal(d.charset, BULKIO_CHARSET_WINDOWS_1252);
    assert_string_equal(bulkio_dialect_json(p, &d),
                        "{\"charset\":\"windows-1252\",\"columns\":{\"e-mail\":"
                        "\"email\",\"full name\":\"name\"},\"delimiter\":\";\"}");
    bulkio_dialect_from_json(p, &back, bulkio_dialect_json(p, &d));
    assert_string_equal(bulkio_dialect_json(p, &back),
                        bulkio_dialect_json(p, &d));
    bulkio_dialect_from_json(p, &back, "{}");
    assert_null(bulkio_dialect_json(p, &back));

    assert_string_equal(bulkio_dialect_parse(p, &d, ":", NULL, NULL),
                        "unknown delimiter; allowed: " BULKIO_DELIMITER_NAMES);
    assert_string_equal(bulkio_dialect_parse(p, &d, NULL, NULL, "utf-16"),
                        "unknown charset; allowed: " BULKIO_CHARSET_NAMES);
    assert_non_null(bulkio_dialect_parse(p, &d, NULL, "email", NULL));
    assert_non_null(bulkio_dialect_parse(p, &d, NULL, "a:,b:c", NULL));
    assert_string_equal(bulkio_dialect_parse(p, &d, NULL, "A:x, a :y", NULL),
                        "columns: the header 'a' is mapped twice");
    assert_string_equal(bulkio_dialect_parse(p, &d, NULL, "a:x,b:x", NULL),
                        "columns: the field 'x' is mapped twice");
    assert_non_null(bulkio_dialect_parse(p, &d, NULL, "{\"a\":1}", NULL));
    assert_non_null(bulkio_dialect_parse(p, &d, NULL, "{\"a\":", NULL));

    assert_true(bulkio_format_is_tsv("Text/Tab-Separated-Values; x=1", NULL));
    assert_true(bulkio_format_is_tsv(NULL, "users.TSV.gz"));
    assert_false(bulkio_format_is_tsv("text/csv", "users.csv"));
    assert_int_equal(bulkio_format_from_filename("a.tsv"), BULKIO_FMT_CSV);
}

static void test_charsets(void **state)
{
    apr_pool_t *p = *state;
    /* "€uro", "café", an undefined byte, and a quoted field over lines */
    static const char data[] = "n\xe4me,x\r\n"
                               "\x80uro,caf\xe9\r\n"
                               "\x81,\"a\r\n\x9f\"\r\n";
    apr_array_header_t *recs;

    recs = parse_dialect(p, data, sizeof(data) - 1, NULL, NULL,
                         "windows-1252");
    assert_int_equal(recs->nelts, 2);
    expect(recs, 0, 2, "{\"n\xc3\xa4me\":\"\xe2\x82\xacuro\",\"x\":"
           "\"caf\xc3\xa9\"}", NULL);
    expect(recs, 1, 3, "{\"n\xc3\xa4me\":\"\xc2\x81\",\"x\":\"a\\r\\n"
           "\xc5\xb8\"}", NULL);
    assert_string_equal(REC(recs, 0)->raw, "\xe2\x82\xacuro,caf\xc3\xa9");
    recs = parse_dialect(p, data, sizeof(data) - 1, NULL, NULL, "latin1");
    expect(recs, 0, 2, "{\"n\xc3\xa4me\":\"\xc2\x80uro\",\"x\":"
           "\"caf\xc3\xa9\"}", NULL);
    /* as UTF-8 the header fails, saying what to do */
    recs = parse_dialect(p, data, sizeof(data) - 1, NULL, NULL, NULL);
    assert_int_equal(recs->nelts, 1);
    expect(recs, 0, 1, NULL, "invalid CSV header: invalid UTF-8: if the "
           "file is Windows-1252 or Latin-1");
    assert_non_null(strstr(REC(recs, 0)->error, "charset=windows-1252"));
    /* a NUL stays an error */
    recs = parse_dialect(p, "a\nx\0y\n", 6, NULL, NULL, "windows-1252");
    expect(recs, 0, 2, NULL, "NUL byte");
    /* NDJSON too */
    {
        bulkio_parser_t *ps;
        bulkio_dialect_t d;

        ps = open_data(p, BULKIO_FMT_NDJSON, "{\"a\":\"\xe9\"}\n", 10, MIB);
        assert_null(bulkio_dialect_parse(p, &d, NULL, NULL, "iso-8859-1"));
        bulkio_parser_set_dialect(ps, &d);
        recs = parse_all(p, ps);
        expect(recs, 0, 1, "{\"a\":\"\xc3\xa9\"}", NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_ndjson_basic),
        BULKIO_TEST(test_ndjson_errors),
        BULKIO_TEST(test_ndjson_deep),
        BULKIO_TEST(test_ndjson_long_line),
        BULKIO_TEST(test_raw_truncation),
        BULKIO_TEST(test_json_basic),
        BULKIO_TEST(test_json_elements),
        BULKIO_TEST(test_json_structure),
        BULKIO_TEST(test_json_deep),
        BULKIO_TEST(test_json_long_element),
        BULKIO_TEST(test_json_200k),
        BULKIO_TEST(test_csv_basic),
        BULKIO_TEST(test_csv_errors),
        BULKIO_TEST(test_csv_runaway_quote),
        BULKIO_TEST(test_csv_long_row),
        BULKIO_TEST(test_csv_block_edge),
        BULKIO_TEST(test_csv_header),
        BULKIO_TEST(test_csv_delimiters),
        BULKIO_TEST(test_csv_columns),
        BULKIO_TEST(test_dialect_options),
        BULKIO_TEST(test_charsets),
        BULKIO_TEST(test_empty_files),
        BULKIO_TEST(test_gzip),
        BULKIO_TEST(test_gzip_inflate_limit),
        BULKIO_TEST(test_gzip_corrupt),
        BULKIO_TEST(test_gzip_corrupt_tail),
        BULKIO_TEST(test_gzip_truncated_tail),
        BULKIO_TEST(test_open_errors),
    };

    return BULKIO_RUN_TESTS(tests);
}
