/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The mod_bulkio section of mod_status's /server-status (and its ?auto
 * lines): this server's job worker.
 *
 * The worker runs in one child (the mod_watchdog singleton) while any
 * child may serve /server-status. The report keeps one source of truth
 * for each thing, and only reads:
 *
 * - the jobs this server runs, with their progress and lease owner, are
 *   read from PostgreSQL (status 'running' and lease_server = this
 *   server's id), where the job threads commit them with every batch.
 *   This stays right across graceful restarts (old and new generation
 *   report the same rows), crashes (a dead job shows its lease running
 *   out) and needs no locking;
 * - the scheduler's heartbeat (its last poll, its process and how many
 *   job threads it runs) is read from the worker's signal
 *   (mod_bulkio_signal.h), shared memory that every child inherits.
 */

#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <mod_status.h>

#include "bulkio_pq.h"
#include "bulkio_store_metrics.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_http.h"
#include "mod_bulkio_signal.h"
#include "mod_bulkio_status.h"

/* this server's id among those sharing the database (mod_bulkio.c hands
 * it over in child_init) */
static const char *server_id;

void mod_bulkio_status_child_init(const char *id)
{
    server_id = id;
}

static const char *rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_usec / 1000);
}

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

static double rate(const bulkio_m_running_t *j)
{
    return j->elapsed > 0 ? (double)j->records / j->elapsed : 0.0;
}

static int status_hook(request_rec *r, int flags)
{
    const char *server = server_id;
    apr_array_header_t *jobs = NULL;
    mod_bulkio_heartbeat_t hb;
    apr_time_t last;
    PGconn *conn;
    int i, short_report = flags & AP_STATUS_SHORT;

    if (!server) {
        return OK;
    }
    mod_bulkio_signal_heartbeat(&hb);
    last = hb.last_poll;
    conn = mod_bulkio_db(r);
    if (conn && bulkio_store_server_jobs(r->pool, conn, server, &jobs)
                != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, APR_EGENERAL, r,
                      BULKIO_LOGNO(711) "server-status: cannot read the "
                      "running jobs: %s", bulkio_pq_error(r->pool, conn));
        jobs = NULL;
    }

    if (short_report) {
        ap_rprintf(r, "BulkIOServer: %s\n", server);
        ap_rprintf(r, "BulkIOVersion: %s\n", BULKIO_VERSION);
        ap_rprintf(r, "BulkIODatabase: %s\n", jobs ? "ok" : "unavailable");
        ap_rprintf(r, "BulkIOSchedulerPid: %u\n", hb.pid);
        ap_rprintf(r, "BulkIOPolls: %" APR_UINT64_T_FMT "\n", hb.polls);
        if (last) {
            ap_rprintf(r, "BulkIOLastPoll: %s\n", rfc3339(r->pool, last));
            ap_rprintf(r, "BulkIOLastPollAge: %.3f\n",
                       (double)(apr_time_now() - last) / APR_USEC_PER_SEC);
        }
        ap_rprintf(r, "BulkIOJobThreads: %u\n", hb.threads);
        ap_rprintf(r, "BulkIORunningJobs: %d\n", jobs ? jobs->nelts : 0);
        for (i = 0; jobs && i < jobs->nelts; ++i) {
            const bulkio_m_running_t *j = &APR_ARRAY_IDX(jobs, i,
                                                         bulkio_m_running_t);

            ap_rprintf(r, "BulkIOJob[%d]Id: %s\n", i, j->job_id);
            ap_rprintf(r, "BulkIOJob[%d]Kind: %s\n", i, j->kind);
            ap_rprintf(r, "BulkIOJob[%d]Resource: %s\n", i, j->resource);
            ap_rprintf(r, "BulkIOJob[%d]Format: %s\n", i, or_dash(j->format));
            ap_rprintf(r, "BulkIOJob[%d]Records: %" APR_INT64_T_FMT "\n",
                       i, j->records);
            ap_rprintf(r, "BulkIOJob[%d]Success: %" APR_INT64_T_FMT "\n",
                       i, j->success);
            ap_rprintf(r, "BulkIOJob[%d]Errors: %" APR_INT64_T_FMT "\n",
                       i, j->errors);
            ap_rprintf(r, "BulkIOJob[%d]Bytes: %" APR_INT64_T_FMT "\n",
                       i, j->bytes);
            ap_rprintf(r, "BulkIOJob[%d]BytesTotal: %" APR_INT64_T_FMT "\n",
                       i, j->bytes_total);
            ap_rprintf(r, "BulkIOJob[%d]RowsPerSecond: %.1f\n", i, rate(j));
            ap_rprintf(r, "BulkIOJob[%d]Started: %s\n", i,
                       or_dash(j->started_at));
            ap_rprintf(r, "BulkIOJob[%d]LeaseOwner: %s\n", i,
                       or_dash(j->owner));
            ap_rprintf(r, "BulkIOJob[%d]LeaseSeconds: %.1f\n", i,
                       j->lease_left);
        }
        return OK;
    }

    ap_rputs("<hr />\n<h2><a name=\"bulkio\">mod_bulkio</a></h2>\n<dl>\n", r);
    ap_rprintf(r, "<dt>Version: %s</dt>\n", BULKIO_VERSION);
    ap_rprintf(r, "<dt>Job worker of <b>%s</b>: database %s</dt>\n",
               ap_escape_html(r->pool, server),
               jobs ? "ok" : "<b>unavailable</b>");
    if (last) {
        ap_rprintf(r, "<dt>Last poll: %s (%.1f s ago) by process %u, "
                   "%" APR_UINT64_T_FMT " polls, %u job threads</dt>\n",
                   rfc3339(r->pool, last),
                   (double)(apr_time_now() - last) / APR_USEC_PER_SEC,
                   hb.pid, hb.polls, hb.threads);
    }
    else {
        ap_rputs("<dt>Last poll: none yet</dt>\n", r);
    }
    ap_rprintf(r, "<dt>Running jobs: %d</dt>\n</dl>\n",
               jobs ? jobs->nelts : 0);
    if (!jobs || !jobs->nelts) {
        return OK;
    }
    if (flags & AP_STATUS_NOTABLE) {
        ap_rputs("<ul>\n", r);
    }
    else {
        ap_rputs("<table border=\"0\"><tr><th>Job</th><th>Kind</th>"
                 "<th>Resource</th><th>Records</th><th>Errors</th>"
                 "<th>Bytes</th><th>Of</th><th>Rows/s</th><th>Started</th>"
                 "<th>Lease owner</th><th>Lease left (s)</th></tr>\n", r);
    }
    for (i = 0; i < jobs->nelts; ++i) {
        const bulkio_m_running_t *j = &APR_ARRAY_IDX(jobs, i,
                                                     bulkio_m_running_t);
        const char *owner = ap_escape_html(r->pool, or_dash(j->owner));

        if (flags & AP_STATUS_NOTABLE) {
            ap_rprintf(r, "<li>%s %s %s: %" APR_INT64_T_FMT " records, %"
                       APR_INT64_T_FMT " errors, %" APR_INT64_T_FMT " of %"
                       APR_INT64_T_FMT " bytes, %.1f rows/s, started %s, "
                       "lease owner %s, %.1f s left</li>\n",
                       j->job_id, j->kind, j->resource, j->records,
                       j->errors, j->bytes, j->bytes_total, rate(j),
                       or_dash(j->started_at), owner, j->lease_left);
            continue;
        }
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%"
                   APR_INT64_T_FMT "</td><td>%" APR_INT64_T_FMT "</td><td>%"
                   APR_INT64_T_FMT "</td><td>%" APR_INT64_T_FMT "</td>"
                   "<td>%.1f</td><td>%s</td><td>%s</td><td>%.1f</td></tr>\n",
                   j->job_id, j->kind, j->resource, j->records, j->errors,
                   j->bytes, j->bytes_total, rate(j), or_dash(j->started_at),
                   owner, j->lease_left);
    }
    ap_rputs(flags & AP_STATUS_NOTABLE ? "</ul>\n" : "</table>\n", r);
    return OK;
}

void mod_bulkio_status_register(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
