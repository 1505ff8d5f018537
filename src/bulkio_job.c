/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <stdio.h>
#include <unistd.h>

#include <apr_strings.h>

#include "bulkio_job.h"

apr_int64_t bulkio_rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f) {
        return 0;
    }
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (apr_int64_t)resident * sysconf(_SC_PAGESIZE);
}

void bulkio_job_log(bulkio_job_ctx_t *job, apr_pool_t *p, int level,
                    const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    if (!job->log) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    job->log(job->log_baton, level, msg);
}

apr_int64_t bulkio_rows_per_sec(apr_int64_t records, apr_time_t started)
{
    apr_time_t t = apr_time_now() - started;

    return t > 0 ? records * APR_USEC_PER_SEC / t : 0;
}

void bulkio_job_progress(bulkio_job_ctx_t *job, apr_pool_t *p,
                         const bulkio_progress_t *pr,
                         apr_int64_t run_records, apr_time_t started)
{
    bulkio_job_log(job, p, BULKIO_LOG_NOTICE, "Job %s progress: %"
                   APR_INT64_T_FMT " records, %" APR_INT64_T_FMT " success, %"
                   APR_INT64_T_FMT " errors, error_rate: %.2f%%, %"
                   APR_INT64_T_FMT " rows/sec, %" APR_INT64_T_FMT "MB heap",
                   job->claim->job_id, pr->records, pr->success, pr->errors,
                   pr->records ? 100.0 * (double)pr->errors
                                 / (double)pr->records : 0.0,
                   bulkio_rows_per_sec(run_records, started),
                   bulkio_rss_bytes() >> 20);
}
