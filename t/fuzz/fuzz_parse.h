/* The body of the NDJSON, JSON-array and CSV targets.
 *
 * The parsers read a file.  The input goes into a memfd that the parser
 * opens by its /proc path, and read() is wrapped here (the sanitizer's
 * own read interceptor is a weak symbol) so that, while a parser runs,
 * each read returns at most the next chunk size: the file arrives cut at
 * points derived from the input.  Every input is parsed twice, whole and
 * cut, and the two runs must produce the same records. */

#ifndef FUZZ_PARSE_H
#define FUZZ_PARSE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <apr_strings.h>
#include <json-c/json.h>

#include "bulkio_parse.h"
#include "fuzz_common.h"

/* The sanitizer runtime's read(), which checks the buffer. */
extern ssize_t __interceptor_read(int fd, void *buf, size_t count);

static fuzz_split_t *fuzz_reads;        /* set while a parser runs */

ssize_t read(int fd, void *buf, size_t count)
{
    size_t n;

    if (fuzz_reads && count > 0) {
        n = fuzz_split_next(fuzz_reads);
        if (count > n) {
            count = n;
        }
    }
    return __interceptor_read(fd, buf, count);
}

static int fuzz_fd = -1;
static char fuzz_path[64];

/* Parse the file at fuzz_path; a digest of everything the parser said. */
static uint64_t fuzz_parse_run(apr_pool_t *p, bulkio_format_e fmt,
                               apr_size_t max_record, fuzz_split_t *split,
                               size_t len, int gzip)
{
    bulkio_parser_t *ps;
    bulkio_record_t rec;
    apr_status_t rv, again;
    uint64_t h = FUZZ_HASH_INIT;
    apr_int64_t n = 0, line = 0;
    const char *json;

    fuzz_reads = split;
    rv = bulkio_parser_open(&ps, p, fuzz_path, fmt, max_record);
    if (rv == APR_SUCCESS) {
        while ((rv = bulkio_parser_next(ps, &rec)) == APR_SUCCESS) {
            /* each record takes at least one byte of the file */
            FUZZ_CHECK(gzip || (size_t)n <= len);
            FUZZ_CHECK(rec.index == n);
            FUZZ_CHECK(rec.line >= line && rec.line >= 1);
            FUZZ_CHECK((rec.obj == NULL) != (rec.error == NULL));
            FUZZ_CHECK(rec.raw && strlen(rec.raw) <= BULKIO_RAW_MAX);
            FUZZ_CHECK(rec.strings_only == (fmt == BULKIO_FMT_CSV));
            FUZZ_CHECK(gzip || bulkio_parser_offset(ps) <= (apr_off_t)len);
            if (rec.obj) {
                FUZZ_CHECK(json_object_is_type(rec.obj, json_type_object));
                json = json_object_to_json_string_ext(rec.obj,
                                                      JSON_C_TO_STRING_PLAIN);
                FUZZ_CHECK(json != NULL);
                h = fuzz_hash_str(h, json);
            }
            h = fuzz_hash(h, &rec.index, sizeof(rec.index));
            h = fuzz_hash(h, &rec.line, sizeof(rec.line));
            h = fuzz_hash_str(h, rec.raw);
            h = fuzz_hash_str(h, rec.error);
            line = rec.line;
            n++;
        }
        /* the end, or a fatal error, is sticky */
        again = bulkio_parser_next(ps, &rec);
        FUZZ_CHECK(again == rv);
        FUZZ_CHECK(rec.obj == NULL && rec.error == NULL);
        FUZZ_CHECK((rv == APR_EOF) == (bulkio_parser_error(ps) == NULL));
        h = fuzz_hash_str(h, bulkio_parser_error(ps));
    }
    fuzz_reads = NULL;
    return fuzz_hash(h, &rv, sizeof(rv));
}

static int fuzz_parse(const uint8_t *data, size_t len, bulkio_format_e fmt)
{
    static const apr_size_t max_records[] = { 1, 7, 64, 1000, 1 << 20 };
    fuzz_split_t whole, cut;
    apr_pool_t *p;
    apr_size_t max_record;
    uint64_t ref, got;
    int gzip = len >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    fuzz_init();
    if (fuzz_fd < 0) {
        fuzz_fd = memfd_create("fuzz-input", 0);
        FUZZ_CHECK(fuzz_fd >= 0);
        snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
    }
    FUZZ_CHECK(ftruncate(fuzz_fd, 0) == 0);
    FUZZ_CHECK(pwrite(fuzz_fd, data, len, 0) == (ssize_t)len);

    /* mostly a roomy limit; sometimes one that most records exceed */
    max_record = max_records[fuzz_hash(FUZZ_HASH_INIT ^ 0xa5, data, len)
                             % (sizeof(max_records) / sizeof(*max_records))];
    fuzz_split_init(&whole, data, len, 0);
    fuzz_split_init(&cut, data, len, fuzz_split_mode(data, len));

    apr_pool_create(&p, fuzz_root);
    ref = fuzz_parse_run(p, fmt, max_record, &whole, len, gzip);
    apr_pool_clear(p);
    got = fuzz_parse_run(p, fmt, max_record, &cut, len, gzip);
    apr_pool_destroy(p);
    if (ref != got) {
        fprintf(stderr, "records differ when the file is read in chunks "
                "(mode %d, max_record %" APR_SIZE_T_FMT ")\n", cut.mode,
                max_record);
        abort();
    }
    return 0;
}

#endif /* FUZZ_PARSE_H */
