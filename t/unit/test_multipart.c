/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "test_common.h"
#include "bulkio_multipart.h"

#define BOUNDARY "AaB03x"
#define CRLF "\r\n"
#define DISP(name) "Content-Disposition: form-data; name=\"" name "\"" CRLF

/* Records the callbacks as a transcript: <B name|filename|type>data<E>. */
typedef struct {
    char *buf;
    size_t len, cap;
    const char *only;       /* when set, the data of other parts is skipped */
    int fail_begin;         /* fail the n-th part_begin (1-based) */
    int fail_data;          /* fail the n-th part_data */
    int begins, datas, ends;
} rec_t;

static apr_status_t rec_cleanup(void *data)
{
    free(((rec_t *)data)->buf);
    return APR_SUCCESS;
}

static void rec_add(rec_t *r, const char *s, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf) {
            abort();
        }
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

static void rec_str(rec_t *r, const char *s)
{
    s = s ? s : "(null)";
    rec_add(r, s, strlen(s));
}

static apr_status_t rec_begin(void *baton, const char *name,
                              const char *filename, const char *content_type,
                              int *want_data)
{
    rec_t *r = baton;

    if (++r->begins == r->fail_begin) {
        return APR_EGENERAL;
    }
    rec_str(r, "<B ");
    rec_str(r, name);
    rec_str(r, "|");
    rec_str(r, filename);
    rec_str(r, "|");
    rec_str(r, content_type);
    rec_str(r, ">");
    if (r->only && (!name || strcmp(name, r->only))) {
        *want_data = 0;
    }
    return APR_SUCCESS;
}

static apr_status_t rec_data(void *baton, const char *data, apr_size_t len)
{
    rec_t *r = baton;

    assert_true(len > 0);
    if (++r->datas == r->fail_data) {
        return APR_ENOSPC;
    }
    rec_add(r, data, len);
    return APR_SUCCESS;
}

static apr_status_t rec_end(void *baton)
{
    rec_t *r = baton;

    ++r->ends;
    rec_str(r, "<E>");
    return APR_SUCCESS;
}

static const bulkio_mp_cb_t rec_cb = { rec_begin, rec_data, rec_end };

static rec_t *rec_new(apr_pool_t *p)
{
    rec_t *r = apr_pcalloc(p, sizeof(*r));

    apr_pool_cleanup_register(p, r, rec_cleanup, apr_pool_cleanup_null);
    return r;
}

/* Parse body in chunks of chunk bytes (0: whole); the finish status. */
static apr_status_t parse(apr_pool_t *p, const char *boundary,
                          const char *body, size_t len, size_t chunk,
                          rec_t *r)
{
    bulkio_mp_t *mp = bulkio_mp_create(p, boundary, &rec_cb, r);
    apr_status_t rv;
    size_t off, n;

    assert_non_null(mp);
    for (off = 0; off < len; off += n) {
        n = (chunk && len - off > chunk) ? chunk : len - off;
        if ((rv = bulkio_mp_feed(mp, body + off, n)) != APR_SUCCESS) {
            /* errors stick */
            assert_int_equal(bulkio_mp_feed(mp, "x", 1), rv);
            assert_int_equal(bulkio_mp_finish(mp), rv);
            return rv;
        }
    }
    return bulkio_mp_finish(mp);
}

static void assert_transcript(rec_t *r, const char *expect, size_t len)
{
    assert_int_equal(r->len, len);
    if (len) {
        assert_memory_equal(r->buf, expect, len);
    }
}

/*
 * Parse body whole, split in two at every position, and in chunks of
 * every size up to 16 (1-byte feeds included): the transcript never varies.
 */
static void check_body(apr_pool_t *p, const char *boundary, const char *body,
                       size_t len, const char *expect, size_t expect_len)
{
    apr_pool_t *sub;
    bulkio_mp_t *mp;
    rec_t *r;
    size_t i;

    for (i = 0; i <= len; ++i) {
        assert_int_equal(apr_pool_create(&sub, p), APR_SUCCESS);
        r = rec_new(sub);
        mp = bulkio_mp_create(sub, boundary, &rec_cb, r);
        assert_int_equal(bulkio_mp_feed(mp, body, i), APR_SUCCESS);
        assert_int_equal(bulkio_mp_feed(mp, body + i, len - i), APR_SUCCESS);
        assert_int_equal(bulkio_mp_finish(mp), APR_SUCCESS);
        assert_transcript(r, expect, expect_len);
        apr_pool_destroy(sub);
    }
    for (i = 0; i <= 16; ++i) {
        assert_int_equal(apr_pool_create(&sub, p), APR_SUCCESS);
        r = rec_new(sub);
        assert_int_equal(parse(sub, boundary, body, len, i, r), APR_SUCCESS);
        assert_transcript(r, expect, expect_len);
        apr_pool_destroy(sub);
    }
}

#define CHECK_BODY(p, boundary, body, expect) \
    check_body(p, boundary, body, sizeof(body) - 1, expect, sizeof(expect) - 1)

static const char simple_body[] =
    "--" BOUNDARY CRLF
    DISP("field")
    CRLF
    "hello" CRLF
    "--" BOUNDARY CRLF
    "Content-Disposition: form-data; name=\"file\"; filename=\"x.csv\"" CRLF
    "Content-Type: Text/CSV; charset=utf-8" CRLF
    CRLF
    "a,b" CRLF "1,2" CRLF
    CRLF
    "--" BOUNDARY "--" CRLF;

static const char simple_expect[] =
    "<B field|(null)|(null)>hello<E>"
    "<B file|x.csv|text/csv>a,b\r\n1,2\r\n<E>";

static void test_simple(void **state)
{
    apr_pool_t *p = *state;
    rec_t *r = rec_new(p);

    assert_int_equal(parse(p, BOUNDARY, simple_body, sizeof(simple_body) - 1,
                           0, r), APR_SUCCESS);
    assert_transcript(r, simple_expect, sizeof(simple_expect) - 1);
    assert_int_equal(r->begins, 2);
    assert_int_equal(r->ends, 2);
}

static void test_every_split(void **state)
{
    CHECK_BODY(*state, BOUNDARY, simple_body, simple_expect);
}

static void test_boundary_split(void **state)
{
    apr_pool_t *p = *state;
    rec_t *r = rec_new(p);
    bulkio_mp_t *mp = bulkio_mp_create(p, BOUNDARY, &rec_cb, r);
    static const char *pieces[] = {
        "-", "-AaB", "03x\r", "\n" DISP("f") "\r\nda", "ta\r", "\n-",
        "-AaB03", "x-", "-"
    };
    static const char expect[] = "<B f|(null)|(null)>data<E>";
    size_t i;

    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); ++i) {
        assert_int_equal(bulkio_mp_feed(mp, pieces[i], strlen(pieces[i])),
                         APR_SUCCESS);
    }
    assert_int_equal(bulkio_mp_finish(mp), APR_SUCCESS);
    assert_transcript(r, expect, sizeof(expect) - 1);
}

static void test_near_boundary(void **state)
{
    static const char body[] =
        "--" BOUNDARY CRLF
        DISP("f")
        CRLF
        "a\r\n--AaB03X\r\n--AaB03\r\r\n--AaB0\r\n-\r\r" CRLF "--" BOUNDARY CRLF
        DISP("g")
        CRLF
        "\r\n--AaB03"
        CRLF "--" BOUNDARY "--";
    static const char expect[] =
        "<B f|(null)|(null)>a\r\n--AaB03X\r\n--AaB03\r\r\n--AaB0\r\n-\r\r"
        "<E><B g|(null)|(null)>\r\n--AaB03<E>";

    CHECK_BODY(*state, BOUNDARY, body, expect);
}

static void test_binary(void **state)
{
    apr_pool_t *p = *state;
    static const char head[] = "--" BOUNDARY CRLF DISP("bin") CRLF;
    static const char tail[] = CRLF "--" BOUNDARY "--" CRLF;
    char data[256 + 12], *body, *expect;
    size_t i, body_len, expect_len;

    for (i = 0; i < 256; ++i) {
        data[i] = (char)i;
    }
    memcpy(data + 256, "\0\r\n--AaB\0\r\n\r", 12);
    body_len = sizeof(head) - 1 + sizeof(data) + sizeof(tail) - 1;
    body = apr_palloc(p, body_len);
    memcpy(body, head, sizeof(head) - 1);
    memcpy(body + sizeof(head) - 1, data, sizeof(data));
    memcpy(body + sizeof(head) - 1 + sizeof(data), tail, sizeof(tail) - 1);
    expect_len = strlen("<B bin|(null)|(null)>") + sizeof(data) + 3;
    expect = apr_palloc(p, expect_len);
    memcpy(expect, "<B bin|(null)|(null)>", 21);
    memcpy(expect + 21, data, sizeof(data));
    memcpy(expect + 21 + sizeof(data), "<E>", 3);
    check_body(p, BOUNDARY, body, body_len, expect, expect_len);
}

static void test_only_file(void **state)
{
    apr_pool_t *p = *state;
    static const char body[] =
        "--" BOUNDARY CRLF
        DISP("comment")
        CRLF
        "skip me\r\n--not it" CRLF
        "--" BOUNDARY CRLF
        "Content-Disposition: form-data; name=\"file\"; filename=\"d.csv\"" CRLF
        CRLF
        "keep me" CRLF
        "--" BOUNDARY CRLF
        DISP("other")
        CRLF
        "skip me too" CRLF
        "--" BOUNDARY "--";
    static const char expect[] =
        "<B comment|(null)|(null)><E>"
        "<B file|d.csv|(null)>keep me<E>"
        "<B other|(null)|(null)><E>";
    size_t chunk;
    rec_t *r;

    for (chunk = 0; chunk < 8; ++chunk) {
        r = rec_new(p);
        r->only = "file";
        assert_int_equal(parse(p, BOUNDARY, body, sizeof(body) - 1, chunk, r),
                         APR_SUCCESS);
        assert_transcript(r, expect, sizeof(expect) - 1);
    }
}

static void test_missing_close(void **state)
{
    apr_pool_t *p = *state;
    static const char body[] =
        "--" BOUNDARY CRLF DISP("f") CRLF "data" CRLF "--" BOUNDARY CRLF;
    static const char *bodies[] = {
        "",
        "just a preamble",
        "--" BOUNDARY,
        "--" BOUNDARY "-",
        "--" BOUNDARY CRLF DISP("f"),
        "--" BOUNDARY CRLF DISP("f") CRLF "data",
        "--" BOUNDARY CRLF DISP("f") CRLF "data" CRLF "--" BOUNDARY,
        "--" BOUNDARY CRLF DISP("f") CRLF "data" CRLF "--" BOUNDARY "-",
    };
    size_t i;
    rec_t *r = rec_new(p);

    assert_int_equal(parse(p, BOUNDARY, body, sizeof(body) - 1, 0, r),
                     APR_INCOMPLETE);
    assert_int_equal(r->ends, 1);
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); ++i) {
        assert_int_equal(parse(p, BOUNDARY, bodies[i], strlen(bodies[i]), 0,
                               rec_new(p)), APR_INCOMPLETE);
    }
}

static void test_content_type(void **state)
{
    apr_pool_t *p = *state;
    char long_b[80];
    const char *b;
    static const struct {
        const char *ct, *boundary;
    } good[] = {
        { "multipart/form-data; boundary=AaB03x", "AaB03x" },
        { "Multipart/Form-Data;BOUNDARY=abc", "abc" },
        { " multipart/form-data ; charset=utf-8 ; boundary = \"a b:c?=\" ;",
          "a b:c?=" },
        { "multipart/form-data; boundary=\"q\\x\"; x=y", "qx" },
        { "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk",
          "----WebKitFormBoundary7MA4YWxk" },
    };
    static const char *bad[] = {
        "multipart/form-data",
        "multipart/form-data;",
        "multipart/form-data; charset=utf-8",
        "multipart/mixed; boundary=abc",
        "text/plain; boundary=abc",
        "multipart/form-datax; boundary=abc",
        "multipart/form-data boundary=abc",
        "multipart/form-data; boundary",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"abc",
        "multipart/form-data; boundary=\"ab \"",
        "multipart/form-data; boundary=a!b",
        "multipart/form-data; boundary=\"a\rb\"",
        "multipart/form-data; boundary=\"a\xc3\xa9\"",
        "multipart/form-data; boundary=a; boundary=a",
        "multipart/form-data; boundary=a b",
        "",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
        b = NULL;
        assert_int_equal(bulkio_mp_boundary(p, good[i].ct, &b), APR_SUCCESS);
        assert_string_equal(b, good[i].boundary);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        assert_int_equal(bulkio_mp_boundary(p, bad[i], &b), APR_EINVAL);
    }
    assert_int_equal(bulkio_mp_boundary(p, NULL, &b), APR_EINVAL);

    memset(long_b, 'b', sizeof(long_b));
    long_b[70] = '\0';
    assert_int_equal(bulkio_mp_boundary(p, apr_pstrcat(p,
                         "multipart/form-data; boundary=", long_b, NULL), &b),
                     APR_SUCCESS);
    assert_int_equal(strlen(b), 70);
    assert_non_null(bulkio_mp_create(p, long_b, &rec_cb, NULL));
    long_b[70] = 'b';
    long_b[71] = '\0';
    assert_int_equal(bulkio_mp_boundary(p, apr_pstrcat(p,
                         "multipart/form-data; boundary=", long_b, NULL), &b),
                     APR_EINVAL);
    assert_null(bulkio_mp_create(p, long_b, &rec_cb, NULL));
    assert_null(bulkio_mp_create(p, "", &rec_cb, NULL));
    assert_null(bulkio_mp_create(p, "a\r\nb", &rec_cb, NULL));
    assert_null(bulkio_mp_create(p, NULL, &rec_cb, NULL));
}

static void test_quoted_boundary(void **state)
{
    apr_pool_t *p = *state;
    const char *b;
    static const char body[] =
        "--a b:c=?" CRLF DISP("f") CRLF "x" CRLF "--a b:c=?--";
    static const char expect[] = "<B f|(null)|(null)>x<E>";

    assert_int_equal(bulkio_mp_boundary(p, "multipart/form-data; "
                                        "boundary=\"a b:c=?\"", &b),
                     APR_SUCCESS);
    assert_string_equal(b, "a b:c=?");
    check_body(p, b, body, sizeof(body) - 1, expect, sizeof(expect) - 1);
}

/* A one-part body whose header block (blank line included) is hdrs. */
static const char *one_part(apr_pool_t *p, const char *hdrs)
{
    return apr_pstrcat(p, "--" BOUNDARY CRLF, hdrs, "data" CRLF
                       "--" BOUNDARY "--" CRLF, NULL);
}

static apr_status_t parse_str(apr_pool_t *p, const char *body, rec_t *r)
{
    return parse(p, BOUNDARY, body, strlen(body), 0, r ? r : rec_new(p));
}

static void test_header_limits(void **state)
{
    apr_pool_t *p = *state;
    char *pad = apr_palloc(p, 9001);
    const char *hdrs;
    int i;

    /* the header block, with its line ends, may be 8192 bytes */
    memset(pad, 'a', 9000);
    pad[8181] = '\0';
    hdrs = apr_pstrcat(p, "X-Pad: ", pad, CRLF CRLF, NULL);
    assert_int_equal(strlen(hdrs), BULKIO_MP_MAX_HEADER);
    assert_int_equal(parse_str(p, one_part(p, hdrs), NULL), APR_SUCCESS);
    pad[8181] = 'a';
    pad[8182] = '\0';
    hdrs = apr_pstrcat(p, "X-Pad: ", pad, CRLF CRLF, NULL);
    assert_int_equal(parse_str(p, one_part(p, hdrs), NULL), APR_EINVAL);
    pad[8182] = 'a';
    pad[9000] = '\0';
    assert_int_equal(parse_str(p, one_part(p, apr_pstrcat(p, DISP("f"),
                         "X-Pad: ", pad, CRLF CRLF, NULL)), NULL),
                     APR_EINVAL);
    /* an endless header line */
    assert_int_equal(parse_str(p, apr_pstrcat(p, "--" BOUNDARY CRLF "X: ",
                                              pad, NULL), NULL), APR_EINVAL);

    /* 64 header lines, but not 65 */
    hdrs = "";
    for (i = 0; i < 64; ++i) {
        hdrs = apr_pstrcat(p, hdrs, "X-H: 1" CRLF, NULL);
    }
    assert_int_equal(parse_str(p, one_part(p, apr_pstrcat(p, hdrs, CRLF, NULL)),
                               NULL), APR_SUCCESS);
    assert_int_equal(parse_str(p, one_part(p, apr_pstrcat(p, hdrs,
                         "X-H: 1" CRLF CRLF, NULL)), NULL), APR_EINVAL);
}

static void test_bad_headers(void **state)
{
    apr_pool_t *p = *state;
    static const char *bad[] = {
        "no colon" CRLF CRLF,
        ": no name" CRLF CRLF,
        "Bad Name: x" CRLF CRLF,
        "Name : x" CRLF CRLF,
        DISP("f") " folded" CRLF CRLF,
        "X: a\rb" CRLF CRLF,
        "X: a\x01" CRLF CRLF,
        "Content-Disposition: attachment; name=\"f\"" CRLF CRLF,
        "Content-Disposition: form-data; name=\"f" CRLF CRLF,
        "Content-Disposition: form-data; name=\"f\\" CRLF CRLF,
        "Content-Disposition: form-data; name=\"f\"; name=\"g\"" CRLF CRLF,
        "Content-Disposition: form-data; name=a b" CRLF CRLF,
        "Content-Disposition: form-data; name" CRLF CRLF,
        "Content-Disposition: form-data name=a" CRLF CRLF,
        "Content-Disposition: form-data; filename=a; filename=b" CRLF CRLF,
        DISP("f") DISP("g") CRLF,
        "Content-Disposition: form-data" CRLF DISP("g") CRLF,
        "Content-Type: text" CRLF CRLF,
        "Content-Type: text/" CRLF CRLF,
        "Content-Type: text/plain garbage" CRLF CRLF,
        "Content-Type: text/plain" CRLF "Content-Type: text/csv" CRLF CRLF,
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        assert_int_equal(parse_str(p, one_part(p, bad[i]), NULL), APR_EINVAL);
    }
    /* a NUL in a header line */
    assert_int_equal(parse(p, BOUNDARY, "--" BOUNDARY CRLF "X: a\0b" CRLF CRLF,
                           sizeof("--" BOUNDARY CRLF "X: a\0b" CRLF CRLF) - 1,
                           0, rec_new(p)), APR_EINVAL);
    /* garbage after a delimiter's boundary */
    assert_int_equal(parse_str(p, "--" BOUNDARY "x" CRLF CRLF "data" CRLF
                               "--" BOUNDARY "--", NULL), APR_EINVAL);
    assert_int_equal(parse_str(p, "--" BOUNDARY " x" CRLF, NULL), APR_EINVAL);
    assert_int_equal(parse_str(p, "--" BOUNDARY "\r-", NULL), APR_EINVAL);
    assert_int_equal(parse_str(p, "--" BOUNDARY "-x", NULL), APR_EINVAL);
    assert_int_equal(bulkio_mp_feed(bulkio_mp_create(p, BOUNDARY, NULL, NULL),
                                    NULL, 1), APR_EINVAL);
}

static void test_header_forms(void **state)
{
    apr_pool_t *p = *state;
    static const struct {
        const char *hdrs, *expect;
    } cases[] = {
        { "content-disposition:FORM-DATA;NAME=f;FileName=\"a b.csv\"" CRLF
          "CONTENT-TYPE:  Application/Octet-Stream  " CRLF CRLF,
          "<B f|a b.csv|application/octet-stream>data<E>" },
        { "Content-Disposition: form-data; name=\"a\\\"b\"; "
          "filename=\"x\\\\y.csv\"; filename*=UTF-8''z.csv" CRLF CRLF,
          "<B a\"b|y.csv|(null)>data<E>" },
        { "Content-Disposition: form-data; name=\"\"; filename=\"\"" CRLF CRLF,
          "<B ||(null)>data<E>" },
        { "Content-Disposition: form-data; name=\"f\";" CRLF
          "X-Other: whatever; \"x" CRLF CRLF,
          "<B f|(null)|(null)>data<E>" },
        { "Content-Disposition:\tform-data\t;\tname=\"f\"\t" CRLF
          "Content-Type: text/csv;charset=\"utf-8\"" CRLF CRLF,
          "<B f|(null)|text/csv>data<E>" },
        { "Content-Disposition: form-data; name=\"\xc3\xa9t\xc3\xa9\"" CRLF
          CRLF,
          "<B \xc3\xa9t\xc3\xa9|(null)|(null)>data<E>" },
        { CRLF, "<B (null)|(null)|(null)>data<E>" },
    };
    size_t i;
    rec_t *r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        r = rec_new(p);
        assert_int_equal(parse_str(p, one_part(p, cases[i].hdrs), r),
                         APR_SUCCESS);
        rec_add(r, "", 1);
        assert_string_equal(r->buf, cases[i].expect);
    }
}

static void test_filename_path(void **state)
{
    apr_pool_t *p = *state;
    static const struct {
        const char *param, *expect;
    } cases[] = {
        { "\"../../etc/passwd\"", "passwd" },
        { "\"..\\\\..\\\\windows\\\\win.ini\"", "win.ini" },
        { "\"/abs/path/x.csv\"", "x.csv" },
        { "\"C:\\\\Users\\\\me\\\\x.csv\"", "x.csv" },
        { "\"a/..\"", "" },
        { "\"..\"", "" },
        { "\".\"", "" },
        { "\"dir/\"", "" },
        { "\"...\"", "..." },
        { "x.csv", "x.csv" },
    };
    size_t i;
    rec_t *r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        r = rec_new(p);
        assert_int_equal(parse_str(p, one_part(p, apr_pstrcat(p,
                             "Content-Disposition: form-data; name=file; "
                             "filename=", cases[i].param, CRLF CRLF, NULL)),
                             r), APR_SUCCESS);
        rec_add(r, "", 1);
        assert_string_equal(r->buf, apr_pstrcat(p, "<B file|", cases[i].expect,
                                                "|(null)>data<E>", NULL));
    }
}

static void test_preamble_epilogue(void **state)
{
    static const char body[] =
        "This is the preamble.  --" BOUNDARY " is not a delimiter here" CRLF
        "\r\n--AaB03\r\n-" CRLF
        "--" BOUNDARY " \t " CRLF
        DISP("f")
        CRLF
        "x" CRLF
        "--" BOUNDARY "--  " CRLF
        "This is the epilogue.\r\n--" BOUNDARY CRLF DISP("g") CRLF "y"
        CRLF "--" BOUNDARY "--" CRLF "\0\xff";
    static const char expect[] = "<B f|(null)|(null)>x<E>";

    CHECK_BODY(*state, BOUNDARY, body, expect);
}

static void test_lf_only(void **state)
{
    static const char body[] =
        "--" BOUNDARY "\n"
        "Content-Disposition: form-data; name=\"f\"\n"
        "Content-Type: text/csv\n"
        "\n"
        "a\nb" CRLF
        "--" BOUNDARY "\t\n"
        "\n"
        "\n" CRLF
        "--" BOUNDARY "--";
    static const char expect[] =
        "<B f|(null)|text/csv>a\nb<E><B (null)|(null)|(null)>\n<E>";

    CHECK_BODY(*state, BOUNDARY, body, expect);
}

static void test_empty_parts(void **state)
{
    static const char body[] =
        "--" BOUNDARY CRLF DISP("a") CRLF
        CRLF "--" BOUNDARY CRLF DISP("b") CRLF
        CRLF "--" BOUNDARY "--";
    static const char expect[] =
        "<B a|(null)|(null)><E><B b|(null)|(null)><E>";
    static const char no_parts[] = "--" BOUNDARY "--" CRLF;

    CHECK_BODY(*state, BOUNDARY, body, expect);
    CHECK_BODY(*state, BOUNDARY, no_parts, "");
}

static void test_nested(void **state)
{
    static const char body[] =
        "--" BOUNDARY CRLF
        DISP("files")
        "Content-Type: multipart/mixed; boundary=BbC04y" CRLF
        CRLF
        "--BbC04y" CRLF
        "Content-Disposition: file; filename=\"f1.txt\"" CRLF
        CRLF
        "one" CRLF
        "--BbC04y--" CRLF
        "--" BOUNDARY "--";
    static const char expect[] =
        "<B files|(null)|multipart/mixed>"
        "--BbC04y" CRLF
        "Content-Disposition: file; filename=\"f1.txt\"" CRLF
        CRLF
        "one" CRLF
        "--BbC04y--"
        "<E>";

    CHECK_BODY(*state, BOUNDARY, body, expect);
}

static void test_too_many_parts(void **state)
{
    apr_pool_t *p = *state;
    static const char part[] = "--" BOUNDARY CRLF DISP("f") CRLF "x" CRLF;
    static const char close[] = "--" BOUNDARY "--";
    bulkio_mp_t *mp;
    rec_t *r = rec_new(p);
    int i;

    mp = bulkio_mp_create(p, BOUNDARY, &rec_cb, r);
    for (i = 0; i < BULKIO_MP_MAX_PARTS; ++i) {
        assert_int_equal(bulkio_mp_feed(mp, part, sizeof(part) - 1),
                         APR_SUCCESS);
    }
    assert_int_equal(bulkio_mp_feed(mp, close, sizeof(close) - 1),
                     APR_SUCCESS);
    assert_int_equal(bulkio_mp_finish(mp), APR_SUCCESS);
    assert_int_equal(r->ends, BULKIO_MP_MAX_PARTS);

    r = rec_new(p);
    mp = bulkio_mp_create(p, BOUNDARY, &rec_cb, r);
    for (i = 0; i < BULKIO_MP_MAX_PARTS; ++i) {
        assert_int_equal(bulkio_mp_feed(mp, part, sizeof(part) - 1),
                         APR_SUCCESS);
    }
    assert_int_equal(bulkio_mp_feed(mp, part, sizeof(part) - 1), APR_EINVAL);
    assert_int_equal(r->begins, BULKIO_MP_MAX_PARTS);
}

static void test_callback_error(void **state)
{
    apr_pool_t *p = *state;
    rec_t *r = rec_new(p);
    bulkio_mp_t *mp;
    size_t i;

    /* part_data fails: nothing more is called, the error sticks */
    r->fail_data = 1;
    assert_int_equal(parse(p, BOUNDARY, simple_body, sizeof(simple_body) - 1,
                           0, r), APR_ENOSPC);
    assert_int_equal(r->begins, 1);
    assert_int_equal(r->datas, 1);
    assert_int_equal(r->ends, 0);

    /* part_begin of the second part fails, even in 1-byte feeds */
    r = rec_new(p);
    r->fail_begin = 2;
    mp = bulkio_mp_create(p, BOUNDARY, &rec_cb, r);
    for (i = 0; i < sizeof(simple_body) - 1; ++i) {
        if (bulkio_mp_feed(mp, simple_body + i, 1) != APR_SUCCESS) {
            break;
        }
    }
    assert_true(i < sizeof(simple_body) - 1);
    assert_int_equal(bulkio_mp_feed(mp, simple_body + i + 1, 1), APR_EGENERAL);
    assert_int_equal(bulkio_mp_finish(mp), APR_EGENERAL);
    assert_int_equal(r->begins, 2);
    assert_int_equal(r->ends, 1);
    rec_add(r, "", 1);
    assert_string_equal(r->buf, "<B field|(null)|(null)>hello<E>");
}

/* The 50 MB part: data is hashed, never stored. */
typedef struct {
    apr_uint64_t hash;
    apr_size_t bytes;
    int begins, ends;
} sum_t;

static apr_uint64_t fnv1a(apr_uint64_t h, const char *data, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        h = (h ^ (unsigned char)data[i]) * APR_UINT64_C(0x100000001b3);
    }
    return h;
}

static apr_status_t sum_begin(void *baton, const char *name,
                              const char *filename, const char *content_type,
                              int *want_data)
{
    sum_t *s = baton;

    (void)want_data;
    assert_string_equal(name, "file");
    assert_string_equal(filename, "big.bin");
    assert_string_equal(content_type, "application/octet-stream");
    ++s->begins;
    return APR_SUCCESS;
}

static apr_status_t sum_data(void *baton, const char *data, apr_size_t len)
{
    sum_t *s = baton;

    s->hash = fnv1a(s->hash, data, len);
    s->bytes += len;
    return APR_SUCCESS;
}

static apr_status_t sum_end(void *baton)
{
    ++((sum_t *)baton)->ends;
    return APR_SUCCESS;
}

static void test_large_part(void **state)
{
    apr_pool_t *p = *state;
    static const bulkio_mp_cb_t cb = { sum_begin, sum_data, sum_end };
    static const char boundary[] = "----bulkioTestBoundary0123456789";
    const char *head = apr_pstrcat(p, "--", boundary, CRLF
        "Content-Disposition: form-data; name=\"file\"; filename=\"big.bin\""
        CRLF "Content-Type: application/octet-stream" CRLF CRLF, NULL);
    const char *tail = apr_pstrcat(p, CRLF "--", boundary, "--" CRLF, NULL);
    const apr_size_t total = 50 * 1024 * 1024, chunk = 64 * 1024;
    const apr_size_t slack = strlen(boundary) + 4;
    char *buf = apr_palloc(p, chunk);
    apr_uint64_t x = APR_UINT64_C(0x9e3779b97f4a7c15);
    apr_uint64_t expect = APR_UINT64_C(0xcbf29ce484222325);
    sum_t s = { APR_UINT64_C(0xcbf29ce484222325), 0, 0, 0 };
    bulkio_mp_t *mp = bulkio_mp_create(p, boundary, &cb, &s);
    apr_size_t fed, i;

    assert_int_equal(bulkio_mp_feed(mp, head, strlen(head)), APR_SUCCESS);
    for (fed = 0; fed < total; fed += chunk) {
        for (i = 0; i < chunk; i += 8) {
            /* xorshift64 */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(buf + i, &x, 8);
        }
        expect = fnv1a(expect, buf, chunk);
        assert_int_equal(bulkio_mp_feed(mp, buf, chunk), APR_SUCCESS);
        /* everything but a possible delimiter prefix was passed on */
        assert_true(s.bytes <= fed + chunk);
        assert_true(s.bytes + slack >= fed + chunk);
    }
    assert_int_equal(bulkio_mp_feed(mp, tail, strlen(tail)), APR_SUCCESS);
    assert_int_equal(bulkio_mp_finish(mp), APR_SUCCESS);
    assert_int_equal(s.bytes, total);
    assert_true(s.hash == expect);
    assert_int_equal(s.begins, 1);
    assert_int_equal(s.ends, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_simple),
        BULKIO_TEST(test_every_split),
        BULKIO_TEST(test_boundary_split),
        BULKIO_TEST(test_near_boundary),
        BULKIO_TEST(test_binary),
        BULKIO_TEST(test_only_file),
        BULKIO_TEST(test_missing_close),
        BULKIO_TEST(test_content_type),
        BULKIO_TEST(test_quoted_boundary),
        BULKIO_TEST(test_header_limits),
        BULKIO_TEST(test_bad_headers),
        BULKIO_TEST(test_header_forms),
        BULKIO_TEST(test_filename_path),
        BULKIO_TEST(test_preamble_epilogue),
        BULKIO_TEST(test_lf_only),
        BULKIO_TEST(test_empty_parts),
        BULKIO_TEST(test_nested),
        BULKIO_TEST(test_too_many_parts),
        BULKIO_TEST(test_callback_error),
        BULKIO_TEST(test_large_part),
    };
    return BULKIO_RUN_TESTS(tests);
}
