/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <apr_strings.h>

#include "bulkio_metrics.h"

const double bulkio_metrics_buckets[] = {
    0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200
};
const int bulkio_metrics_nbuckets = (int)(sizeof(bulkio_metrics_buckets)
                                          / sizeof(bulkio_metrics_buckets[0]));

static const char *escape(apr_pool_t *p, const char *s, int quote)
{
    bulkio_buf_t b;

    if (!s) {
        return "";
    }
    if (!strpbrk(s, quote ? "\\\"\n" : "\\\n")) {
        return s;
    }
    bulkio_buf_init(&b, p, strlen(s) + 16);
    for (; *s; ++s) {
        switch (*s) {
        case '\\': bulkio_buf_add(&b, "\\\\", 2); break;
        case '\n': bulkio_buf_add(&b, "\\n", 2); break;
        case '"':
            if (quote) {
                bulkio_buf_add(&b, "\\\"", 2);
                break;
            }
            /* fall through */
        default: bulkio_buf_addc(&b, *s);
        }
    }
    bulkio_buf_addc(&b, '\0');
    return b.data;
}

const char *bulkio_prom_label(apr_pool_t *p, const char *value)
{
    return escape(p, value, 1);
}

const char *bulkio_prom_help(apr_pool_t *p, const char *text)
{
    return escape(p, text, 0);
}

const char *bulkio_prom_double(apr_pool_t *p, double v)
{
    char s[64];

    if (isnan(v)) {
        return "NaN";
    }
    if (isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    /* the C library's %g (APR's drops the leading zero: ".1") */
    snprintf(s, sizeof(s), "%.15g", v);
    if (strtod(s, NULL) != v) {
        snprintf(s, sizeof(s), "%.17g", v);
    }
    return apr_pstrdup(p, s);
}

/* Appending to the output. */
typedef struct {
    bulkio_buf_t *out;
    apr_pool_t *p;
} writer_t;

static void puts_(writer_t *w, const char *s)
{
    bulkio_buf_add(w->out, s, strlen(s));
}

static void family(writer_t *w, const char *name, const char *type,
                   const char *help)
{
    puts_(w, apr_pstrcat(w->p, "# HELP ", name, " ",
                         bulkio_prom_help(w->p, help), "\n# TYPE ", name,
                         " ", type, "\n", NULL));
}

/* One sample; labels are name, value pairs ending with NULL. */
static void sample(writer_t *w, const char *name, const char *value, ...)
{
    const char *label, *sep = "{";
    va_list ap;

    puts_(w, name);
    va_start(ap, value);
    while ((label = va_arg(ap, const char *))) {
        puts_(w, apr_pstrcat(w->p, sep, label, "=\"",
                             bulkio_prom_label(w->p, va_arg(ap, const char *)),
                             "\"", NULL));
        sep = ",";
    }
    va_end(ap);
    puts_(w, apr_pstrcat(w->p, *sep == ',' ? "} " : " ", value, "\n", NULL));
}

static const char *i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* A counter family of the records per kind and resource: the member at
 * offset off of each entry. */
static void records_family(writer_t *w, const apr_array_header_t *records,
                           const char *name, const char *help,
                           apr_size_t off)
{
    int i;

    family(w, name, "counter", help);
    for (i = 0; i < records->nelts; ++i) {
        const bulkio_m_records_t *e = &APR_ARRAY_IDX(records, i,
                                                     bulkio_m_records_t);

        sample(w, name, i64(w->p, *(const apr_int64_t *)
                                  ((const char *)e + off)),
               "kind", e->kind, "resource", e->resource, NULL);
    }
}

void bulkio_metrics_render(bulkio_buf_t *out, const bulkio_metrics_t *m)
{
    writer_t w;
    apr_pool_t *p = out->pool;
    int i, b;

    w.out = out;
    w.p = p;

    family(&w, "bulkio_jobs", "gauge",
           "Jobs in the database by kind and status.");
    for (i = 0; i < m->jobs->nelts; ++i) {
        const bulkio_m_jobs_t *e = &APR_ARRAY_IDX(m->jobs, i,
                                                  bulkio_m_jobs_t);

        sample(&w, "bulkio_jobs", i64(p, e->count), "kind", e->kind,
               "status", e->status, NULL);
    }

    records_family(&w, m->records, "bulkio_records_processed_total",
                   "Records consumed by jobs (committed batches), by kind "
                   "and resource.",
                   offsetof(bulkio_m_records_t, processed));
    records_family(&w, m->records, "bulkio_records_succeeded_total",
                   "Records applied by imports or written by exports, by "
                   "kind and resource.",
                   offsetof(bulkio_m_records_t, succeeded));
    family(&w, "bulkio_records_failed_total", "counter",
           "Records imports failed, by resource and error type.");
    for (i = 0; i < m->errors->nelts; ++i) {
        const bulkio_m_errors_t *e = &APR_ARRAY_IDX(m->errors, i,
                                                    bulkio_m_errors_t);

        sample(&w, "bulkio_records_failed_total", i64(p, e->count),
               "resource", e->resource, "error_type", e->error_type, NULL);
    }

    family(&w, "bulkio_job_rows_per_second", "gauge",
           "Records per second of each running job since it started.");
    for (i = 0; i < m->running->nelts; ++i) {
        const bulkio_m_running_t *e = &APR_ARRAY_IDX(m->running, i,
                                                     bulkio_m_running_t);
        double rate = e->elapsed > 0 ? (double)e->records / e->elapsed : 0;

        sample(&w, "bulkio_job_rows_per_second", bulkio_prom_double(p, rate),
               "job_id", e->job_id, "kind", e->kind, "resource", e->resource,
               "server", e->server, NULL);
    }
    family(&w, "bulkio_job_processed_records", "gauge",
           "Records committed so far by each running job.");
    for (i = 0; i < m->running->nelts; ++i) {
        const bulkio_m_running_t *e = &APR_ARRAY_IDX(m->running, i,
                                                     bulkio_m_running_t);

        sample(&w, "bulkio_job_processed_records", i64(p, e->records),
               "job_id", e->job_id, "kind", e->kind, "resource", e->resource,
               "server", e->server, NULL);
    }

    family(&w, "bulkio_job_duration_seconds", "histogram",
           "Duration of finished jobs, from first start to end.");
    for (i = 0; i < m->durations->nelts; ++i) {
        const bulkio_m_durations_t *d = &APR_ARRAY_IDX(m->durations, i,
                                                       bulkio_m_durations_t);
        apr_int64_t cum = 0;

        for (b = 0; b < m->nbuckets; ++b) {
            cum += d->counts[b];
            sample(&w, "bulkio_job_duration_seconds_bucket", i64(p, cum),
                   "kind", d->kind,
                   "le", bulkio_prom_double(p, m->buckets[b]), NULL);
        }
        sample(&w, "bulkio_job_duration_seconds_bucket", i64(p, d->count),
               "kind", d->kind, "le", "+Inf", NULL);
        sample(&w, "bulkio_job_duration_seconds_sum",
               bulkio_prom_double(p, d->sum), "kind", d->kind, NULL);
        sample(&w, "bulkio_job_duration_seconds_count", i64(p, d->count),
               "kind", d->kind, NULL);
    }

    family(&w, "bulkio_queue_depth", "gauge", "Pending jobs.");
    sample(&w, "bulkio_queue_depth", i64(p, m->queue_depth), NULL);
    family(&w, "bulkio_queue_oldest_pending_age_seconds", "gauge",
           "Age of the oldest pending job, 0 when none is pending.");
    sample(&w, "bulkio_queue_oldest_pending_age_seconds",
           bulkio_prom_double(p, m->oldest_pending), NULL);
}

void bulkio_metrics_render_replica(bulkio_buf_t *out,
                                   const bulkio_replica_state_t *st)
{
    writer_t w;
    apr_pool_t *p = out->pool;

    w.out = out;
    w.p = p;
    family(&w, "bulkio_replica_up", "gauge",
           "1 when the export replica (BulkIOExportReplica) answers as a "
           "replica, else 0.");
    sample(&w, "bulkio_replica_up", st->up ? "1" : "0", NULL);
    family(&w, "bulkio_replica_lag_bytes", "gauge",
           "WAL the primary wrote that the replica has not replayed.");
    sample(&w, "bulkio_replica_lag_bytes", i64(p, st->lag_bytes), NULL);
    family(&w, "bulkio_replica_lag_seconds", "gauge",
           "Age of the replica's last replayed transaction while it lags, "
           "0 when it has replayed everything.");
    sample(&w, "bulkio_replica_lag_seconds",
           bulkio_prom_double(p, st->lag_seconds), NULL);
}
