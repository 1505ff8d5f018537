/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_store_hooks.h"

#define H(member, type) BULKIO_PQ_COL(bulkio_hook_t, member, type)
static const bulkio_pq_col_t hook_cols[] = {
    H(job, INT64), H(job_id, TEXT), H(kind, TEXT), H(principal, TEXT),
    H(event_id, TEXT), H(url, TEXT), H(base, TEXT), H(body, TEXT),
    H(attempts, INT), BULKIO_PQ_END
};
#undef H

static const bulkio_pq_col_t due_col[] = {
    { "due", BULKIO_PQ_BOOL, 0 }, BULKIO_PQ_END
};
static const bulkio_pq_col_t body_col[] = {
    { "body", BULKIO_PQ_TEXT, 0 }, BULKIO_PQ_END
};

/* A try's outcome: delivered ($3), else tried again in $6 unless that is
 * past the retry period ($7) after the job's end. */
#define HOOK_DONE_SQL \
    "WITH g AS (" \
    "  SELECT job_id, now() + $6::interval" \
    "         > coalesce(due_since, now()) + $7::interval AS give_up" \
    "    FROM bulkio_webhooks WHERE job_id = $1 AND lease_owner = $2" \
    "     FOR UPDATE)" \
    " UPDATE bulkio_webhooks w" \
    "    SET state = CASE WHEN $3::boolean THEN 'delivered'" \
    "                     WHEN g.give_up THEN 'failed'" \
    "                     ELSE 'pending' END," \
    "        last_status = $4::integer, last_error = $5," \
    "        last_attempt_at = now()," \
    "        delivered_at = CASE WHEN $3::boolean THEN now() END," \
    "        next_attempt_at = CASE WHEN $3::boolean OR g.give_up" \
    "                               THEN NULL" \
    "                               ELSE now() + $6::interval END," \
    "        lease_owner = NULL, lease_expires_at = NULL" \
    "   FROM g WHERE w.job_id = g.job_id"

/* A delivery a sender may take: due, or its sender's lease ran out. */
#define HOOK_DUE \
    "(state = 'pending' AND next_attempt_at <= now())" \
    " OR (state = 'sending' AND lease_expires_at < now())"

apr_status_t bulkio_store_hook_due(apr_pool_t *p, PGconn *conn, int *pdue)
{
    *pdue = 0;
    return bulkio_pq_get(p, conn,
        "SELECT EXISTS (SELECT 1 FROM bulkio_webhooks WHERE " HOOK_DUE
        ") AS due", 0, NULL, due_col, pdue);
}

apr_status_t bulkio_store_hook_claim(apr_pool_t *p, PGconn *conn,
                                     const char *owner,
                                     apr_interval_time_t lease,
                                     bulkio_hook_t **phook)
{
    const char *params[] = { owner, bulkio_pq_secs(p, lease) };
    bulkio_hook_t *h = apr_pcalloc(p, sizeof(*h));
    apr_status_t rv;

    rv = bulkio_pq_get(p, conn,
        "WITH c AS ("
        "  SELECT job_id FROM bulkio_webhooks WHERE " HOOK_DUE
        "   ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " UPDATE bulkio_webhooks w"
        "    SET state = 'sending', attempts = w.attempts + 1,"
        "        lease_owner = $1,"
        "        lease_expires_at = now() + $2::interval"
        "   FROM c, bulkio_jobs j"
        "  WHERE w.job_id = c.job_id AND j.id = w.job_id"
        " RETURNING w.job_id AS job, j.public_id::text AS job_id, j.kind,"
        "           j.principal, w.event_id::text AS event_id, w.url,"
        "           w.base, w.body, w.attempts",
        2, params, hook_cols, h);
    if (rv == APR_SUCCESS) {
        *phook = h;
    }
    return rv;
}

apr_status_t bulkio_store_hook_body(apr_pool_t *p, PGconn *conn,
                                    apr_int64_t job, const char *owner,
                                    const char *body, const char **pbody)
{
    const char *params[] = { bulkio_pq_int64(p, job), owner, body };

    return bulkio_pq_get(p, conn,
        "UPDATE bulkio_webhooks SET body = coalesce(body, $3)"
        " WHERE job_id = $1 AND lease_owner = $2 RETURNING body",
        3, params, body_col, pbody);
}

apr_status_t bulkio_store_hook_done(apr_pool_t *p, PGconn *conn,
                                    apr_int64_t job, const char *owner,
                                    int delivered, int http_status,
                                    const char *error,
                                    apr_interval_time_t retry_in,
                                    apr_interval_time_t retry)
{
    const char *params[] = {
        bulkio_pq_int64(p, job), owner, delivered ? "true" : "false",
        http_status ? apr_itoa(p, http_status) : NULL, error,
        bulkio_pq_secs(p, retry_in), bulkio_pq_secs(p, retry)
    };

    return bulkio_pq_one(p, conn, HOOK_DONE_SQL, 7, params);
}
