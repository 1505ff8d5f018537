/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The JSON documents of a job: status document, list item, record error.
 */

#include <string.h>

#include <apr_strings.h>

#include "bulkio_format.h"
#include "bulkio_record.h"
#include "bulkio_sign.h"
#include "bulkio_store_jobs.h"
#include "mod_bulkio_jobdoc.h"

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *mod_bulkio_jobdoc_error(const bulkio_rec_error_t *e)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "recordIndex",
                           json_object_new_int64(e->record_index));
    json_object_object_add(o, "line", json_object_new_int64(e->line));
    json_object_object_add(o, "field", str_or_null(e->field));
    json_object_object_add(o, "errorType",
                           json_object_new_string(e->error_type));
    json_object_object_add(o, "errorMessage",
                           json_object_new_string(e->message));
    json_object_object_add(o, "recordData", str_or_null(e->record_data));
    return o;
}

int mod_bulkio_jobdoc_truncated(apr_pool_t *p, const bulkio_job_t *j,
                                bulkio_rec_error_t *e)
{
    if (j->truncated_at < 0) {
        return 0;
    }
    memset(e, 0, sizeof(*e));
    e->record_index = j->truncated_at;
    e->line = j->truncated_line;
    e->error_type = MOD_BULKIO_ERRORS_TRUNCATED;
    e->message = apr_psprintf(p, "error entries truncated: %" APR_INT64_T_FMT
                              " entries stored of %" APR_INT64_T_FMT
                              " failed records (BulkIOMaxErrorRows,"
                              " BulkIOMaxErrorBytes); this failed record and"
                              " those after it were counted, not stored",
                              j->errors_stored, j->error_count);
    return 1;
}

static json_object *progress(apr_pool_t *p, const bulkio_job_t *j)
{
    json_object *o = json_object_new_object();
    double rate = 0.0, percent = 0.0, eta = 0.0;

    if (j->elapsed_seconds > 0.0) {
        rate = (double)j->processed_records / j->elapsed_seconds;
        if (j->bytes_processed > 0 && j->bytes_total > j->bytes_processed) {
            eta = (double)(j->bytes_total - j->bytes_processed)
                  * j->elapsed_seconds / (double)j->bytes_processed;
        }
    }
    if (!strcmp(j->status, "completed")) {
        percent = 100.0;
    }
    else if (j->bytes_total > 0) {
        percent = 100.0 * (double)j->bytes_processed / (double)j->bytes_total;
    }
    json_object_object_add(o, "processedRecords",
                           json_object_new_int64(j->processed_records));
    json_object_object_add(o, "bytesProcessed",
                           json_object_new_int64(j->bytes_processed));
    json_object_object_add(o, "bytesTotal",
                           json_object_new_int64(j->bytes_total));
    json_object_object_add(o, "percent", json_object_new_double_s(
                               percent, apr_psprintf(p, "%.2f", percent)));
    json_object_object_add(o, "rowsPerSecond",
                           json_object_new_int64((apr_int64_t)rate));
    json_object_object_add(o, "etaSeconds",
                           json_object_new_int64((apr_int64_t)(eta + 0.5)));
    return o;
}

/* The state of a job's completion webhook: its text members. */
static const struct {
    const char *name;
    apr_size_t off;
} hook_texts[] = {
    { "url", APR_OFFSETOF(bulkio_job_t, hook_url) },
    { "state", APR_OFFSETOF(bulkio_job_t, hook_state) },
    { "eventId", APR_OFFSETOF(bulkio_job_t, hook_event_id) },
    { "lastError", APR_OFFSETOF(bulkio_job_t, hook_last_error) },
    { "lastAttemptAt", APR_OFFSETOF(bulkio_job_t, hook_last_attempt_at) },
    { "nextAttemptAt", APR_OFFSETOF(bulkio_job_t, hook_next_attempt_at) },
    { "deliveredAt", APR_OFFSETOF(bulkio_job_t, hook_delivered_at) },
};

/* The state of a job's completion webhook. */
static json_object *webhook(const bulkio_job_t *j)
{
    json_object *o = json_object_new_object();
    apr_size_t k;

    for (k = 0; k < sizeof(hook_texts) / sizeof(hook_texts[0]); ++k) {
        json_object_object_add(o, hook_texts[k].name, str_or_null(
            *(const char *const *)((const char *)j + hook_texts[k].off)));
    }
    json_object_object_add(o, "attempts",
                           json_object_new_int64(j->hook_attempts));
    json_object_object_add(o, "lastStatus", j->hook_last_status < 0 ? NULL
                           : json_object_new_int64(j->hook_last_status));
    return o;
}

/* What every job has: job_id, status, resource, format, reason (when
 * there is one), totalRecords, createdAt, completedAt. */
/* The failed records by error type: every type, 0 included. */
static json_object *error_counts(const bulkio_job_t *j)
{
    json_object *o = json_object_new_object();
    int t;

    for (t = BULKIO_ERR_NONE + 1; t <= BULKIO_ERR_LAST; ++t) {
        json_object_object_add(o, bulkio_errtype_name((bulkio_errtype_e)t),
                               json_object_new_int64(
                                   j->errors_by_type[t - 1]));
    }
    return o;
}

static json_object *common(const bulkio_job_t *j)
{
    json_object *doc = json_object_new_object();

    json_object_object_add(doc, "job_id", json_object_new_string(j->job_id));
    json_object_object_add(doc, "status", json_object_new_string(j->status));
    json_object_object_add(doc, "resource",
                           json_object_new_string(j->resource));
    json_object_object_add(doc, "format", str_or_null(j->format));
    if (j->reason) {
        json_object_object_add(doc, "reason",
                               json_object_new_string(j->reason));
    }
    json_object_object_add(doc, "source", str_or_null(j->source));
    json_object_object_add(doc, "createdBy", str_or_null(j->principal));
    json_object_object_add(doc, "totalRecords",
                           json_object_new_int64(j->total_records));
    json_object_object_add(doc, "errorCounts", error_counts(j));
    json_object_object_add(doc, "createdAt", str_or_null(j->created_at));
    json_object_object_add(doc, "completedAt", str_or_null(j->completed_at));
    if (j->hook_state) {
        json_object_object_add(doc, "webhook", webhook(j));
    }
    return doc;
}

/* What an import stored of its error entries: errorsStored, and whether
 * (errorsTruncated) and from which failed record on (errorsTruncatedAt)
 * the entries were left out past BulkIOMaxErrorRows/-Bytes. */
static void add_stored(json_object *doc, const bulkio_job_t *j)
{
    json_object *at = NULL;

    json_object_object_add(doc, "errorsStored",
                           json_object_new_int64(j->errors_stored));
    if (j->truncated_at >= 0) {
        at = json_object_new_object();
        json_object_object_add(at, "recordIndex",
                               json_object_new_int64(j->truncated_at));
        json_object_object_add(at, "line",
                               json_object_new_int64(j->truncated_line));
    }
    json_object_object_add(doc, "errorsTruncated",
                           json_object_new_boolean(at != NULL));
    json_object_object_add(doc, "errorsTruncatedAt", at);
}

/* An import's CSV dialect and charset options, when it was given any:
 * "dialect": {"charset", "columns", "delimiter"}. */
static void add_dialect(apr_pool_t *p, json_object *doc, const bulkio_job_t *j)
{
    bulkio_dialect_t d;
    const char *text;

    bulkio_dialect_from_json(p, &d, j->params);
    if ((text = bulkio_dialect_json(p, &d)) != NULL) {
        json_object_object_add(doc, "dialect", json_tokener_parse(text));
    }
}

static void add_import(apr_pool_t *p, json_object *doc, const bulkio_job_t *j,
                       const char *base, const apr_array_header_t *errs)
{
    static const struct {
        const char *name;
        apr_size_t off;
    } acts[] = {
        { "insertedCount", APR_OFFSETOF(bulkio_job_t, inserted_count) },
        { "updatedCount", APR_OFFSETOF(bulkio_job_t, updated_count) },
        { "unchangedCount", APR_OFFSETOF(bulkio_job_t, unchanged_count) },
        { "deletedCount", APR_OFFSETOF(bulkio_job_t, deleted_count) }
    };
    json_object *errors;
    apr_size_t k;
    int i;

    json_object_object_add(doc, "mode", str_or_null(j->mode));
    json_object_object_add(doc, "maxErrors", j->max_errors < 0 ? NULL
                           : json_object_new_int64(j->max_errors));
    json_object_object_add(doc, "dryRun", json_object_new_boolean(j->dry_run));
    json_object_object_add(doc, "atomic", json_object_new_boolean(j->atomic));
    add_dialect(p, doc, j);
    json_object_object_add(doc, "successCount",
                           json_object_new_int64(j->success_count));
    for (k = 0; k < sizeof(acts) / sizeof(acts[0]); ++k) {
        json_object_object_add(doc, acts[k].name, json_object_new_int64(
            *(const apr_int64_t *)((const char *)j + acts[k].off)));
    }
    json_object_object_add(doc, "errorCount",
                           json_object_new_int64(j->error_count));
    add_stored(doc, j);
    if (errs) {
        errors = json_object_new_array();
        for (i = 0; i < errs->nelts; ++i) {
            json_object_array_add(errors, mod_bulkio_jobdoc_error(
                &APR_ARRAY_IDX(errs, i, bulkio_rec_error_t)));
        }
        json_object_object_add(doc, "errors", errors);
    }
    json_object_object_add(doc, "progress", progress(p, j));
    json_object_object_add(doc, "startedAt", str_or_null(j->started_at));
    json_object_object_add(doc, "errorsUrl", json_object_new_string(
                               apr_pstrcat(p, base, "/imports/", j->job_id,
                                           "/errors", NULL)));
    /* null for an import that keeps no per-record results */
    json_object_object_add(doc, "resultsUrl", !j->results ? NULL
                           : json_object_new_string(apr_pstrcat(
                                 p, base, "/imports/", j->job_id, "/results",
                                 NULL)));
}

static void add_export(apr_pool_t *p, json_object *doc, const bulkio_job_t *j,
                       const char *base)
{
    int done = !strcmp(j->status, "completed");
    json_object *params = j->params ? json_tokener_parse(j->params) : NULL;
    json_object *filters = NULL, *fields = NULL, *gzip = NULL;

    /* what the job was created with: its filters (by their names), its
     * fields in order, and whether its file is compressed */
    if (params) {
        json_object_object_get_ex(params, "filters", &filters);
        json_object_object_get_ex(params, "fields", &fields);
        json_object_object_get_ex(params, "compression", &gzip);
    }
    json_object_object_add(doc, "compression", json_object_new_string(
                               gzip ? "gzip" : "none"));
    json_object_object_add(doc, "filters", filters ? json_object_get(filters)
                                                   : json_object_new_object());
    json_object_object_add(doc, "fields", fields ? json_object_get(fields)
                                                 : json_object_new_array());
    json_object_put(params);
    json_object_object_add(doc, "startedAt", str_or_null(j->started_at));

    json_object_object_add(doc, "downloadUrl", done && !j->expired
                           ? json_object_new_string(apr_pstrcat(
                                 p, base, "/exports/", j->job_id,
                                 "/download", NULL)) : NULL);
    json_object_object_add(doc, "fileSize", done
                           ? json_object_new_int64(j->file_size) : NULL);
    json_object_object_add(doc, "expiresAt", done && j->expires_at
                           ? json_object_new_string(j->expires_at) : NULL);
}

void mod_bulkio_jobdoc_signed(apr_pool_t *p, json_object *doc,
                              const bulkio_job_t *j, const char *base,
                              const char *secret, apr_interval_time_t ttl,
                              apr_int64_t now)
{
    apr_int64_t until = now + apr_time_sec(ttl);
    const char *sig;

    if (until > j->expires_s) {
        until = j->expires_s;
    }
    if (!secret || strcmp(j->status, "completed") || j->expired
        || until <= now
        || !(sig = bulkio_link_signature(p, secret, j->job_id, until))) {
        json_object_object_add(doc, "signedDownloadUrl", NULL);
        return;
    }
    json_object_object_add(doc, "signedDownloadUrl", json_object_new_string(
        apr_psprintf(p, "%s/exports/%s/signed-download?expires=%"
                     APR_INT64_T_FMT "&signature=%s", base, j->job_id,
                     until, sig)));
}

json_object *mod_bulkio_jobdoc(apr_pool_t *p, const bulkio_job_t *j,
                               const char *base,
                               const apr_array_header_t *errors)
{
    json_object *doc = common(j);

    if (!strcmp(j->kind, "import")) {
        add_import(p, doc, j, base, errors);
    }
    else {
        add_export(p, doc, j, base);
    }
    return doc;
}
