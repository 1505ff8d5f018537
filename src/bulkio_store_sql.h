/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_STORE_SQL_H
#define BULKIO_STORE_SQL_H

/*
 * SQL text the job store's files share, and the statements t/counters.t
 * explains. Included by the store's own .c files only: the glue calls
 * functions and never sees SQL.
 */

/** Timestamps leave the database as RFC 3339 UTC with milliseconds. */
#define BULKIO_STORE_TS(col) \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/** The record counters of /v1/metrics, from the running totals (never
 * from the jobs or their error rows, which retention deletes): rows of
 * (kind, resource, processed, succeeded, failed), every pair. */
#define BULKIO_STORE_RECORDS_SQL \
    "SELECT k.kind, r.resource," \
    "       coalesce(sum(t.value) FILTER (WHERE t.counter = 'processed'), 0)" \
    "       AS processed," \
    "       coalesce(sum(t.value) FILTER (WHERE t.counter = 'succeeded'), 0)" \
    "       AS succeeded," \
    "       coalesce(sum(t.value) FILTER (WHERE t.counter NOT IN" \
    "                                     ('processed', 'succeeded')), 0)" \
    "       AS failed" \
    "  FROM (VALUES (1, 'import'), (2, 'export')) AS k(o, kind)" \
    " CROSS JOIN (VALUES (1, 'users'), (2, 'articles'), (3, 'comments'))" \
    "       AS r(o, resource)" \
    "  LEFT JOIN bulkio_record_totals t" \
    "         ON t.kind = k.kind AND t.resource = r.resource" \
    " GROUP BY k.o, k.kind, r.o, r.resource ORDER BY k.o, r.o"

/** Failed import records by resource and error type, from the running
 * totals: rows of (resource, error type, count), every pair. */
#define BULKIO_STORE_ERRTYPES_SQL \
    "SELECT r.resource, e.error_type, coalesce(t.value, 0) AS count" \
    "  FROM (VALUES (1, 'users'), (2, 'articles'), (3, 'comments'))" \
    "       AS r(o, resource)" \
    " CROSS JOIN (VALUES (1, 'PARSE_ERROR'), (2, 'VALIDATION_ERROR')," \
    "                    (3, 'FOREIGN_KEY_ERROR'), (4, 'DUPLICATE_ERROR')," \
    "                    (5, 'NOT_FOUND_ERROR'))" \
    "       AS e(o, error_type)" \
    "  LEFT JOIN bulkio_record_totals t" \
    "         ON t.kind = 'import' AND t.resource = r.resource" \
    "        AND t.counter = e.error_type" \
    " ORDER BY r.o, e.o"

#endif /* BULKIO_STORE_SQL_H */
