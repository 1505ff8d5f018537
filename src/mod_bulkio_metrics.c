/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * GET /metrics and /health. The figures come from PostgreSQL, so whichever
 * server of those sharing the database answers, it reports for all of
 * them.
 */

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "bulkio_metrics.h"
#include "bulkio_pq.h"
#include "bulkio_store_metrics.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_http.h"
#include "mod_bulkio_metrics.h"

int mod_bulkio_metrics(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    PGconn *conn = mod_bulkio_db(r);
    bulkio_metrics_t *m;
    bulkio_buf_t out;
    const char *error = NULL;

    if (!conn) {
        return mod_bulkio_db_unavailable(r);
    }
    if (bulkio_store_metrics(r->pool, conn, bulkio_metrics_buckets,
                             bulkio_metrics_nbuckets, &m, &error)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r,
                      BULKIO_LOGNO(700) "cannot read the metrics: %s", error);
        return mod_bulkio_db_unavailable(r);
    }
    bulkio_buf_init(&out, r->pool, 8192);
    bulkio_metrics_render(&out, m);
    if (req->cfg->replica) {
        bulkio_replica_state_t st;

        bulkio_store_replica_state(r->pool, conn, req->cfg->replica, &st);
        bulkio_metrics_render_replica(&out, &st);
    }
    ap_set_content_type(r, BULKIO_METRICS_CTYPE);
    ap_set_content_length(r, (apr_off_t)out.len);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rwrite(out.data, (int)out.len, r);
    }
    return OK;
}

int mod_bulkio_health(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    PGconn *conn = mod_bulkio_db(r);
    json_object *doc;

    if (!conn || bulkio_pq_ping(r->pool, conn) != APR_SUCCESS) {
        return mod_bulkio_problem(r, HTTP_SERVICE_UNAVAILABLE,
                                  "the database does not answer");
    }
    doc = json_object_new_object();
    json_object_object_add(doc, "status", json_object_new_string("ok"));
    json_object_object_add(doc, "database", json_object_new_string("ok"));
    if (req->cfg->replica) {
        /* a replica down costs exports only the fallback: still 200 */
        bulkio_replica_state_t st;
        json_object *rep = json_object_new_object();

        bulkio_store_replica_state(r->pool, conn, req->cfg->replica, &st);
        json_object_object_add(rep, "status", json_object_new_string(
                               st.up ? "ok" : "down"));
        json_object_object_add(rep, "lagBytes",
                               json_object_new_int64(st.lag_bytes));
        json_object_object_add(rep, "lagSeconds",
                               json_object_new_double(st.lag_seconds));
        json_object_object_add(doc, "replica", rep);
    }
    return mod_bulkio_send_json(r, HTTP_OK, doc);
}
