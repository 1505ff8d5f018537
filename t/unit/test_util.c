/* Unit tests of the core helpers: sizes, durations, ids, formats. */

#include <apr_file_io.h>
#include <apr_strings.h>

#include "test_common.h"
#include "bulkio_format.h"
#include "bulkio_spool.h"
#include "bulkio_util.h"

static void test_parse_size(void **state)
{
    apr_off_t v;

    (void)state;
    assert_int_equal(bulkio_parse_size("1024", &v), APR_SUCCESS);
    assert_int_equal(v, 1024);
    assert_int_equal(bulkio_parse_size("1M", &v), APR_SUCCESS);
    assert_int_equal(v, 1 << 20);
    assert_int_equal(bulkio_parse_size("10G", &v), APR_SUCCESS);
    assert_true(v == (apr_off_t)10 << 30);
    assert_int_equal(bulkio_parse_size("512kb", &v), APR_SUCCESS);
    assert_int_equal(v, 512 << 10);
    assert_int_equal(bulkio_parse_size("", &v), APR_EINVAL);
    assert_int_equal(bulkio_parse_size("-1", &v), APR_EINVAL);
    assert_int_equal(bulkio_parse_size("1X", &v), APR_EINVAL);
    assert_int_equal(bulkio_parse_size("1 M", &v), APR_EINVAL);
    assert_int_equal(bulkio_parse_size("99999999999T", &v), APR_EINVAL);
    assert_int_equal(bulkio_parse_size("99999999999999999999", &v),
                     APR_EINVAL);
}

static void test_parse_interval(void **state)
{
    apr_interval_time_t t;

    (void)state;
    assert_int_equal(bulkio_parse_interval("30", &t), APR_SUCCESS);
    assert_true(t == apr_time_from_sec(30));
    assert_int_equal(bulkio_parse_interval("1s", &t), APR_SUCCESS);
    assert_true(t == apr_time_from_sec(1));
    assert_int_equal(bulkio_parse_interval("250ms", &t), APR_SUCCESS);
    assert_true(t == 250000);
    assert_int_equal(bulkio_parse_interval("24h", &t), APR_SUCCESS);
    assert_true(t == apr_time_from_sec(86400));
    assert_int_equal(bulkio_parse_interval("7d", &t), APR_SUCCESS);
    assert_true(t == apr_time_from_sec(7 * 86400));
    assert_int_equal(bulkio_parse_interval("5w", &t), APR_EINVAL);
    assert_int_equal(bulkio_parse_interval("h", &t), APR_EINVAL);
    assert_int_equal(bulkio_parse_interval("9999999999999999d", &t),
                     APR_EINVAL);
}

static void test_uuid(void **state)
{
    apr_pool_t *p = *state;
    const char *a = bulkio_uuid_new(p), *b = bulkio_uuid_new(p);

    assert_true(bulkio_is_uuid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_true(bulkio_is_uuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
    assert_false(bulkio_is_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"));
    assert_false(bulkio_is_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111"));
    assert_false(bulkio_is_uuid("a0eebc999c0b-4ef8-bb6d-6bb9bd380a11--"));
    assert_false(bulkio_is_uuid("../../../../etc/passwd"));
    assert_false(bulkio_is_uuid(""));
    assert_false(bulkio_is_uuid(NULL));
}

static void test_format_names(void **state)
{
    bulkio_format_e f;

    (void)state;
    assert_int_equal(bulkio_format_from_name("NDJSON"), BULKIO_FMT_NDJSON);
    assert_int_equal(bulkio_format_from_name("csv"), BULKIO_FMT_CSV);
    assert_int_equal(bulkio_format_from_name("xml"), BULKIO_FMT_UNKNOWN);
    assert_int_equal(bulkio_format_from_name(NULL), BULKIO_FMT_UNKNOWN);
    assert_string_equal(bulkio_format_name(BULKIO_FMT_JSON), "json");
    assert_int_equal(bulkio_format_from_type("text/csv; charset=utf-8", &f),
                     BULKIO_CT_FORMAT);
    assert_int_equal(f, BULKIO_FMT_CSV);
    assert_int_equal(bulkio_format_from_type("Application/X-NDJSON", &f),
                     BULKIO_CT_FORMAT);
    assert_int_equal(f, BULKIO_FMT_NDJSON);
    assert_int_equal(bulkio_format_from_type("application/octet-stream", &f),
                     BULKIO_CT_GENERIC);
    assert_int_equal(f, BULKIO_FMT_UNKNOWN);
    assert_int_equal(bulkio_format_from_type(NULL, &f), BULKIO_CT_GENERIC);
    assert_int_equal(bulkio_format_from_type("application/jsonx", &f),
                     BULKIO_CT_UNSUPPORTED);
    assert_int_equal(bulkio_format_from_type("image/png", &f),
                     BULKIO_CT_UNSUPPORTED);
    assert_int_equal(bulkio_format_from_filename("a.CSV"), BULKIO_FMT_CSV);
    assert_int_equal(bulkio_format_from_filename("a.ndjson.gz"),
                     BULKIO_FMT_NDJSON);
    assert_int_equal(bulkio_format_from_filename("a.jsonl"), BULKIO_FMT_NDJSON);
    assert_int_equal(bulkio_format_from_filename("a.json"), BULKIO_FMT_JSON);
    assert_int_equal(bulkio_format_from_filename(".json"), BULKIO_FMT_UNKNOWN);
    assert_int_equal(bulkio_format_from_filename("json"), BULKIO_FMT_UNKNOWN);
    assert_int_equal(bulkio_format_from_filename(NULL), BULKIO_FMT_UNKNOWN);
    assert_true(bulkio_is_resource("users"));
    assert_false(bulkio_is_resource("Users"));
    assert_false(bulkio_is_resource(NULL));
}

#define SNIFF(s) bulkio_format_sniff((const unsigned char *)(s), sizeof(s) - 1)

static void test_sniff(void **state)
{
    (void)state;
    assert_int_equal(SNIFF("  [ {\"a\":1} ]"), BULKIO_FMT_JSON);
    assert_int_equal(SNIFF("\xef\xbb\xbf{\"a\":1}\n"), BULKIO_FMT_NDJSON);
    assert_int_equal(SNIFF("\xef\xbb\xbf" "email,name\r\nx,y"), BULKIO_FMT_CSV);
    assert_int_equal(SNIFF(""), BULKIO_FMT_UNKNOWN);
    assert_int_equal(SNIFF(" \r\n\t"), BULKIO_FMT_UNKNOWN);
    assert_int_equal(SNIFF("\x01\x02"), BULKIO_FMT_UNKNOWN);
}

/* Write data to a spool file, keep it, and return its path. */
static const char *spool_file(apr_pool_t *p, const void *data, apr_size_t len)
{
    bulkio_spool_t *s;
    unsigned char md[BULKIO_SHA256_LEN];
    const char *dir;

    assert_int_equal(apr_temp_dir_get(&dir, p), APR_SUCCESS);
    assert_int_equal(bulkio_spool_create(&s, p, dir), APR_SUCCESS);
    assert_int_equal(bulkio_spool_write(s, data, len), APR_SUCCESS);
    assert_int_equal(bulkio_spool_close(s, md), APR_SUCCESS);
    assert_int_equal(bulkio_spool_size(s), len);
    assert_int_equal(bulkio_spool_keep(s, apr_pstrcat(p, bulkio_spool_path(s),
                                                      ".kept", NULL)),
                     APR_SUCCESS);
    return bulkio_spool_path(s);
}

static void test_spool_and_sniff_gzip(void **state)
{
    apr_pool_t *p = *state, *sub;
    /* gzip of "[{\"a\":1}]\n" */
    static const unsigned char gz[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x8b,
        0xae, 0x56, 0x4a, 0x54, 0xb2, 0x32, 0xac, 0x8d, 0xe5, 0x02, 0x00,
        0x61, 0xc0, 0x91, 0x1c, 0x0a, 0x00, 0x00, 0x00
    };
    const char *path, *gone;
    bulkio_spool_t *s;
    apr_finfo_t fi;
    const char *dir;

    path = spool_file(p, gz, sizeof(gz));
    assert_int_equal(bulkio_format_sniff_file(p, path), BULKIO_FMT_JSON);
    apr_file_remove(path, p);
    path = spool_file(p, "id,email\n", 9);
    assert_int_equal(bulkio_format_sniff_file(p, path), BULKIO_FMT_CSV);
    apr_file_remove(path, p);
    assert_int_equal(bulkio_format_sniff_file(p, "/nonexistent/x"),
                     BULKIO_FMT_UNKNOWN);

    /* a spool file not kept is gone with its pool */
    apr_pool_create(&sub, p);
    assert_int_equal(apr_temp_dir_get(&dir, p), APR_SUCCESS);
    assert_int_equal(bulkio_spool_create(&s, sub, dir), APR_SUCCESS);
    assert_int_equal(bulkio_spool_write(s, "abc", 3), APR_SUCCESS);
    gone = apr_pstrdup(p, bulkio_spool_path(s));
    assert_int_equal(apr_stat(&fi, gone, APR_FINFO_SIZE, p), APR_SUCCESS);
    apr_pool_destroy(sub);
    assert_int_not_equal(apr_stat(&fi, gone, APR_FINFO_SIZE, p), APR_SUCCESS);
}

static void test_spool_digest(void **state)
{
    apr_pool_t *p = *state;
    bulkio_spool_t *s;
    unsigned char md[BULKIO_SHA256_LEN];
    const char *dir;

    assert_int_equal(apr_temp_dir_get(&dir, p), APR_SUCCESS);
    assert_int_equal(bulkio_spool_create(&s, p, dir), APR_SUCCESS);
    assert_int_equal(bulkio_spool_write(s, "ab", 2), APR_SUCCESS);
    assert_int_equal(bulkio_spool_write(s, "c", 1), APR_SUCCESS);
    assert_int_equal(bulkio_spool_close(s, md), APR_SUCCESS);
    /* SHA-256("abc") */
    assert_string_equal(bulkio_hex(p, md, sizeof(md)),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* The file backend through the spool's interface: begun, kept under a
 * name in its directory, read back in order, its head and ETag; a
 * discarded kept file is gone. */
static void test_spool_backend_file(void **state)
{
    apr_pool_t *p = *state;
    bulkio_spool_conf_t conf = { BULKIO_SPOOL_FILE, NULL };
    unsigned char md[BULKIO_SHA256_LEN];
    bulkio_spool_reader_t *rd;
    const unsigned char *head;
    bulkio_spool_t *s;
    char buf[4], all[16];
    apr_size_t n, len = 0;
    apr_time_t mtime;
    apr_finfo_t fi;
    const char *name;

    assert_int_equal(bulkio_spool_kind("file"), BULKIO_SPOOL_FILE);
    assert_int_equal(bulkio_spool_kind("Database"), BULKIO_SPOOL_DATABASE);
    assert_int_equal(bulkio_spool_kind("s3"), -1);
    assert_int_equal(apr_temp_dir_get(&conf.dir, p), APR_SUCCESS);
    assert_int_equal(bulkio_spool_begin(&s, p, &conf, NULL, 0), APR_SUCCESS);
    assert_int_equal(bulkio_spool_write(s, "id,email\n", 9), APR_SUCCESS);
    assert_int_equal(bulkio_spool_close(s, md), APR_SUCCESS);
    head = bulkio_spool_head(s, &n);
    assert_int_equal(bulkio_format_sniff_head(head, n), BULKIO_FMT_CSV);
    name = apr_psprintf(p, "bulkio-test-%" APR_PID_T_FMT, getpid());
    assert_int_equal(bulkio_spool_keep(s, name), APR_SUCCESS);
    assert_string_equal(bulkio_spool_path(s),
                        apr_pstrcat(p, conf.dir, "/", name, NULL));
    assert_ptr_equal(bulkio_spool_conn(s), NULL);
    assert_int_equal(bulkio_spool_commit(s), APR_SUCCESS);

    assert_int_equal(bulkio_spool_open(&rd, p, bulkio_spool_path(s), NULL,
                                       BULKIO_SPOOL_OWN_CONN), APR_SUCCESS);
    assert_int_equal(bulkio_spool_reader_size(rd), 9);
    for (;;) {
        n = sizeof(buf);
        if (bulkio_spool_read(rd, buf, &n) == APR_EOF) {
            break;
        }
        memcpy(all + len, buf, n);
        len += n;
    }
    assert_int_equal(len, 9);
    assert_memory_equal(all, "id,email\n", 9);
    assert_true(bulkio_spool_etag(rd, &mtime)[0] == '"');
    assert_true(mtime > 0);

    /* discarded after it was kept (its job was not created): gone */
    bulkio_spool_discard(s);
    assert_int_not_equal(apr_stat(&fi, bulkio_spool_path(s), APR_FINFO_SIZE,
                                  p), APR_SUCCESS);
    /* removal stays inside the directory it is given */
    assert_int_equal(bulkio_spool_remove(p, "/etc/passwd", conf.dir, NULL),
                     APR_SUCCESS);
    assert_int_equal(apr_stat(&fi, "/etc/passwd", APR_FINFO_SIZE, p),
                     APR_SUCCESS);
}

/* The error report's cells: formulas are defused, other cells are as
 * bulkio_csv_field() writes them. */
static void test_csv_field_safe(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"" },
        { "+1", "'+1" },
        { "-2+3", "'-2+3" },
        { "@SUM(A1)", "'@SUM(A1)" },
        { "\tx", "'\tx" },
        { "\rx", "\"'\rx\"" },
        { "a=b", "a=b" },
        { "plain", "plain" },
        { " =lead", "\" =lead\"" },
        { "", "" },
    };
    apr_pool_t *p = *state;
    bulkio_buf_t b;
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        bulkio_buf_init(&b, p, 4);
        bulkio_csv_field_safe(&b, cases[i].in);
        bulkio_buf_addc(&b, '\0');
        assert_string_equal(b.data, cases[i].out);
        /* the data exports' encoder leaves the cell as it is */
        bulkio_buf_init(&b, p, 4);
        bulkio_csv_field(&b, cases[i].in);
        bulkio_buf_addc(&b, '\0');
        if (cases[i].in[0] == '=') {
            assert_string_equal(b.data, "\"=HYPERLINK(\"\"http://x\"\")\"");
        }
    }
    bulkio_buf_init(&b, p, 4);
    bulkio_csv_field_safe(&b, NULL);
    assert_int_equal(b.len, 0);
}

static void test_buf_reserve(void **state)
{
    apr_pool_t *p = *state;
    bulkio_buf_t b;
    char *o;

    bulkio_buf_init(&b, p, 4);
    bulkio_buf_add(&b, "abc", 3);
    o = bulkio_buf_reserve(&b, 10);
    assert_true(b.cap >= 13);
    assert_ptr_equal(o, b.data + 3);
    memcpy(o, "defg", 4);
    b.len += 4;
    bulkio_buf_addc(&b, '\0');
    assert_string_equal(b.data, "abcdefg");
    assert_ptr_equal(bulkio_buf_reserve(&b, 0), b.data + b.len);
}

static void test_args_unknown(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *args = apr_table_make(p, 4);
    static const char *const some[] = { "format", "limit", NULL };
    static const char *const none[] = { NULL };

    assert_null(bulkio_args_unknown(p, args, none));
    apr_table_add(args, "limit", "3");
    assert_null(bulkio_args_unknown(p, args, some));
    assert_string_equal(bulkio_args_unknown(p, args, none),
                        "unknown parameter 'limit'; allowed: none");
    apr_table_add(args, "Format", "csv");
    assert_string_equal(bulkio_args_unknown(p, args, some),
                        "unknown parameter 'Format'; allowed: format, limit");
}

static void test_text_clean(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(bulkio_text_clean(p, "day 1.csv", 255), "day 1.csv");
    /* valid UTF-8 stays; a stray byte, a control character, an overlong
     * form and a surrogate become '?' */
    assert_string_equal(bulkio_text_clean(p, "\xc3\xa9" "t\xc3\xa9", 255),
                        "\xc3\xa9" "t\xc3\xa9");
    assert_string_equal(bulkio_text_clean(p, "a\xe9" "b\tc\x1b", 255), "a?b?c?");
    assert_string_equal(bulkio_text_clean(p, "\xc0\xaf", 255), "??");
    assert_string_equal(bulkio_text_clean(p, "\xed\xa0\x80", 255), "???");
    assert_string_equal(bulkio_text_clean(p, "\xf0\x9f\x98\x80", 255),
                        "\xf0\x9f\x98\x80");
    /* cut between characters */
    assert_string_equal(bulkio_text_clean(p, "ab\xc3\xa9", 3), "ab");
    assert_string_equal(bulkio_text_clean(p, "abcdef", 4), "abcd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_parse_size),
        BULKIO_TEST(test_buf_reserve),
        BULKIO_TEST(test_parse_interval),
        BULKIO_TEST(test_uuid),
        BULKIO_TEST(test_format_names),
        BULKIO_TEST(test_sniff),
        BULKIO_TEST(test_spool_and_sniff_gzip),
        BULKIO_TEST(test_spool_digest),
        BULKIO_TEST(test_spool_backend_file),
        BULKIO_TEST(test_csv_field_safe),
        BULKIO_TEST(test_args_unknown),
        BULKIO_TEST(test_text_clean),
    };
    return BULKIO_RUN_TESTS(tests);
}
