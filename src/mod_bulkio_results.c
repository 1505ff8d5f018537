/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_script.h>

#include "bulkio_pq.h"
#include "bulkio_results.h"
#include "bulkio_util.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_results.h"
#include "mod_bulkio_stream.h"

/* A results report being streamed: the baton of result_row(). */
typedef struct {
    request_rec *r;
    int csv;
    bulkio_buf_t *out;           /* the chunk of the moment */
    apr_int64_t job;
} report_t;

/* Append a decimal and a separator. */
static void add_num(bulkio_buf_t *out, apr_int64_t v, char sep)
{
    char num[32];

    bulkio_buf_add(out, num, (apr_size_t)apr_snprintf(num, sizeof(num),
                   "%" APR_INT64_T_FMT "%c", v, sep));
}

/* Append id as a JSON string (ids are UUIDs or cm_ and one; anything
 * else the database holds goes through json-c's escaping). */
static void json_id(bulkio_buf_t *out, const char *id)
{
    json_object *o;
    const char *s;

    if (!id) {
        bulkio_buf_add(out, "null", 4);
        return;
    }
    if (id[strspn(id, "0123456789abcdefABCDEF-_cm")]) {
        o = json_object_new_string(id);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        bulkio_buf_add(out, s, strlen(s));
        json_object_put(o);
        return;
    }
    bulkio_buf_addc(out, '"');
    bulkio_buf_add(out, id, strlen(id));
    bulkio_buf_addc(out, '"');
}

/* One entry, as an NDJSON line or a CSV row. */
static void result_entry(void *baton, const bulkio_result_t *e)
{
    report_t *rp = baton;
    bulkio_buf_t *out = rp->out;
    const char *action = bulkio_action_name(e->action);
    const char *type = bulkio_errtype_name(e->error);

    if (rp->csv) {
        add_num(out, e->index, ',');
        add_num(out, e->line, ',');
        bulkio_csv_field_safe(out, e->id);
        bulkio_buf_addc(out, ',');
        bulkio_buf_add(out, action, strlen(action));
        bulkio_buf_addc(out, ',');
        if (type) {
            bulkio_buf_add(out, type, strlen(type));
        }
        bulkio_buf_add(out, "\r\n", 2);
        return;
    }
    bulkio_buf_add(out, "{\"recordIndex\":", 15);
    add_num(out, e->index, ',');
    bulkio_buf_add(out, "\"line\":", 7);
    add_num(out, e->line, ',');
    bulkio_buf_add(out, "\"id\":", 5);
    json_id(out, e->id);
    bulkio_buf_add(out, ",\"action\":\"", 11);
    bulkio_buf_add(out, action, strlen(action));
    if (type) {
        bulkio_buf_add(out, "\",\"errorType\":\"", 15);
        bulkio_buf_add(out, type, strlen(type));
    }
    bulkio_buf_add(out, "\"}\n", 3);
}

/* Row i of the results query: a batch, expanded into its entries. */
static void result_row(void *baton, const PGresult *res, int i,
                       bulkio_buf_t *out)
{
    report_t *rp = baton;

    rp->out = out;
    if (bulkio_results_expand(apr_atoi64(PQgetvalue(res, i, 0)),
                              PQgetvalue(res, i, 1), result_entry, rp)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, rp->r,
                      BULKIO_LOGNO(2200) "the results of job %"
                      APR_INT64_T_FMT " from record %s do not decode",
                      rp->job, PQgetvalue(res, i, 0));
    }
}

int mod_bulkio_results(mod_bulkio_req_t *req)
{
    static const char csv_head[] = "recordIndex,line,id,action,errorType\r\n";
    request_rec *r = req->r;
    PGconn *conn = mod_bulkio_job_conn(req, req->id);
    bulkio_frame_t frame = { "", "", "" };
    const char *format;
    apr_table_t *args;
    report_t rp;
    bulkio_job_t *j;

    if (!conn) {
        return OK;
    }
    ap_args_to_table(r, &args);
    format = apr_table_get(args, "format");
    memset(&rp, 0, sizeof(rp));
    rp.r = r;
    rp.csv = format && !strcmp(format, "csv");
    if (format && !rp.csv && strcmp(format, "ndjson")) {
        return mod_bulkio_problem(r, HTTP_BAD_REQUEST,
                                  "unknown format; allowed: ndjson, csv");
    }
    if (mod_bulkio_job_get(req, conn, "import", req->id, &j) != OK) {
        return OK;
    }
    if (!mod_bulkio_cfg_results(req->cfg, j->results)) {
        return mod_bulkio_problem(r, HTTP_NOT_FOUND, "this import keeps no "
                                  "per-record results (BulkIOImportResults "
                                  "Off)");
    }
    if (!strcmp(j->status, "pending") || !strcmp(j->status, "running")) {
        return mod_bulkio_problem(r, HTTP_CONFLICT, apr_pstrcat(r->pool,
                                  "the job is ", j->status, "; its results "
                                  "are complete when it ends: ask again "
                                  "then", NULL));
    }
    rp.job = j->id;
    ap_set_content_type(r, rp.csv ? "text/csv; charset=utf-8"
                                  : "application/x-ndjson");
    apr_table_setn(r->headers_out, "Content-Disposition", apr_psprintf(
                   r->pool, "attachment; filename=\"import-%s-results.%s\"",
                   j->job_id, rp.csv ? "csv" : "ndjson"));
    if (r->header_only) {
        return OK;
    }
    if (rp.csv) {
        frame.head = csv_head;
    }
    return mod_bulkio_stream(r, conn, bulkio_results_send(r->pool, conn,
                                                          j->id),
                             &frame, result_row, &rp);
}
