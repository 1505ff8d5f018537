/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* The httpd side of an import without the database: parse a file, validate
 * each record and encode the valid ones as COPY text, as an import job
 * does, and print records/s.
 *
 *   parse_bench RESOURCE FORMAT FILE [MAX_RECORD] [DUMP]
 *
 * With DUMP, every record's outcome (its index, line, error and raw text,
 * or its COPY row) is written there, so that two builds can be compared
 * byte for byte. */

#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_time.h>

#include "bulkio_batch.h"
#include "bulkio_format.h"
#include "bulkio_parse.h"
#include "bulkio_validate.h"

int main(int argc, const char *const *argv)
{
    apr_pool_t *p, *vpool;
    bulkio_parser_t *ps;
    bulkio_record_t rec;
    bulkio_verdict_t v;
    bulkio_buf_t copy;
    const char *cols[BULKIO_MAX_COLS];
    apr_size_t max_record = 1024 * 1024;
    apr_int64_t records = 0, valid = 0, copied = 0;
    apr_time_t t0, t1;
    apr_status_t rv;
    FILE *dump = NULL;
    int res, ncols, i;
    bulkio_format_e fmt;
    double secs;

    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s users|articles|comments ndjson|json|csv "
                "FILE [MAX_RECORD] [DUMP]\n", argv[0]);
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    apr_pool_create(&vpool, p);
    res = bulkio_resource_from_name(argv[1]);
    fmt = bulkio_format_from_name(argv[2]);
    if (res < 0 || fmt == BULKIO_FMT_UNKNOWN) {
        fprintf(stderr, "unknown resource or format\n");
        return 2;
    }
    if (argc > 4) {
        max_record = (apr_size_t)strtoul(argv[4], NULL, 10);
    }
    if (argc > 5 && !(dump = fopen(argv[5], "w"))) {
        perror(argv[5]);
        return 1;
    }
    ncols = bulkio_validate_ncols(res);
    bulkio_buf_init(&copy, p, 256 * 1024);

    t0 = apr_time_now();
    rv = bulkio_parser_open(&ps, p, argv[3], fmt, max_record);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "cannot open %s\n", argv[3]);
        return 1;
    }
    while ((rv = bulkio_parser_next(ps, &rec)) == APR_SUCCESS) {
        ++records;
        if (!rec.obj) {
            if (dump) {
                fprintf(dump, "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT
                        " PARSE %s\n%s\n", rec.index, rec.line, rec.error,
                        rec.raw);
            }
            continue;
        }
        bulkio_validate(vpool, res, &rec, cols, &v);
        if (v.type == BULKIO_ERR_NONE) {
            ++valid;
            for (i = 0; i < ncols; ++i) {
                if (i) {
                    bulkio_buf_addc(&copy, '\t');
                }
                bulkio_copy_field(&copy, cols[i]);
            }
            bulkio_buf_addc(&copy, '\n');
        }
        if (dump) {
            if (v.type == BULKIO_ERR_NONE) {
                fprintf(dump, "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT
                        " OK\n", rec.index, rec.line);
            }
            else {
                fprintf(dump, "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT
                        " INVALID %s: %s\n%s\n", rec.index, rec.line,
                        v.field ? v.field : "-", v.message, rec.raw);
            }
        }
        apr_pool_clear(vpool);
        if (copy.len >= 128 * 1024) {   /* a batch's COPY text is sent */
            if (dump) {
                fwrite(copy.data, 1, copy.len, dump);
            }
            copied += (apr_int64_t)copy.len;
            copy.len = 0;
        }
    }
    if (dump) {
        fwrite(copy.data, 1, copy.len, dump);
        fprintf(dump, "END %d %s\n", rv,
                bulkio_parser_error(ps) ? bulkio_parser_error(ps) : "-");
        fclose(dump);
    }
    copied += (apr_int64_t)copy.len;
    t1 = apr_time_now();
    secs = (double)(t1 - t0) / APR_USEC_PER_SEC;
    printf("%s %s: %" APR_INT64_T_FMT " records (%" APR_INT64_T_FMT
           " valid, %" APR_INT64_T_FMT " bytes of COPY text) in %.3f s: "
           "%.0f records/s\n", argv[1], argv[2], records, valid, copied,
           secs, secs > 0 ? (double)records / secs : 0.0);
    apr_terminate();
    return rv == APR_EOF ? 0 : 1;
}
