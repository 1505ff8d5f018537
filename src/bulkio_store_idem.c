/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include "bulkio_pq.h"
#include "bulkio_store_idem.h"

/* The scope of a key (principal, endpoint, key): parameters $1 to $3. */
#define SCOPE " principal = $1 AND endpoint = $2 AND idem_key = $3"

/* The outcome of a completed key, as bulkio_store_idem_claim() reads it. */
static const bulkio_pq_col_t done_cols[] = {
    BULKIO_PQ_COL(bulkio_idem_t, fingerprint, TEXT),
    BULKIO_PQ_COL(bulkio_idem_t, status, INT),
    BULKIO_PQ_COL(bulkio_idem_t, body, TEXT),
    BULKIO_PQ_COL(bulkio_idem_t, job_id, TEXT),
    BULKIO_PQ_END
};

apr_status_t bulkio_store_idem_claim(apr_pool_t *p, PGconn *conn,
                                     bulkio_idem_t *idem,
                                     apr_interval_time_t lease,
                                     apr_interval_time_t ttl)
{
    const char *params[] = {
        idem->principal, idem->endpoint, idem->key, bulkio_pq_secs(p, lease),
        bulkio_pq_secs(p, ttl)
    };
    apr_status_t rv;
    int n;

    /* A key past its TTL, or a claim whose uploader vanished, is free. */
    rv = bulkio_pq_exec(p, conn,
        "DELETE FROM bulkio_idempotency_keys WHERE" SCOPE
        "   AND (expires_at < now()"
        "        OR (state = 'receiving' AND lease_expires_at < now()))",
        3, params, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = bulkio_pq_count(p, conn,
        "INSERT INTO bulkio_idempotency_keys"
        " (principal, endpoint, idem_key, state, lease_expires_at, expires_at)"
        " VALUES ($1, $2, $3, 'receiving', now() + $4::interval,"
        "         now() + $5::interval)"
        " ON CONFLICT DO NOTHING", 5, params, &n);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (n == 1) {
        idem->state = BULKIO_IDEM_CLAIMED;
        return APR_SUCCESS;
    }
    rv = bulkio_pq_get(p, conn,
        "SELECT k.fingerprint, k.response_status AS status,"
        "       k.response_body AS body, j.public_id AS job_id"
        "  FROM bulkio_idempotency_keys k"
        "  LEFT JOIN bulkio_jobs j ON j.id = k.job_id"
        " WHERE k.principal = $1 AND k.endpoint = $2 AND k.idem_key = $3"
        "   AND k.state = 'done'", 3, params, done_cols, idem);
    /* Released between our insert and this read: as good as busy. */
    if (rv == APR_NOTFOUND) {
        idem->state = BULKIO_IDEM_BUSY;
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        idem->state = BULKIO_IDEM_DONE;
    }
    return rv;
}

apr_status_t bulkio_store_idem_renew(apr_pool_t *p, PGconn *conn,
                                     const bulkio_idem_t *idem,
                                     apr_interval_time_t lease)
{
    const char *params[] = {
        idem->principal, idem->endpoint, idem->key, bulkio_pq_secs(p, lease)
    };

    return bulkio_pq_exec(p, conn,
        "UPDATE bulkio_idempotency_keys"
        "   SET lease_expires_at = now() + $4::interval"
        " WHERE" SCOPE " AND state = 'receiving'", 4, params, NULL);
}

apr_status_t bulkio_store_idem_release(apr_pool_t *p, PGconn *conn,
                                       const bulkio_idem_t *idem)
{
    const char *params[] = { idem->principal, idem->endpoint, idem->key };

    return bulkio_pq_exec(p, conn,
        "DELETE FROM bulkio_idempotency_keys"
        " WHERE" SCOPE " AND state = 'receiving'", 3, params, NULL);
}

apr_status_t bulkio_store_idem_complete(apr_pool_t *p, PGconn *conn,
                                        const bulkio_idem_t *idem,
                                        const char *fingerprint, int status,
                                        const char *body,
                                        const char *job_id)
{
    const char *params[] = {
        idem->principal, idem->endpoint, idem->key, fingerprint,
        apr_itoa(p, status), body, job_id
    };

    return bulkio_pq_exec(p, conn,
        "UPDATE bulkio_idempotency_keys"
        "   SET state = 'done', fingerprint = $4, response_status = $5,"
        "       response_body = $6,"
        "       job_id = (SELECT id FROM bulkio_jobs WHERE public_id = $7)"
        " WHERE" SCOPE " AND state = 'receiving'", 7, params, NULL);
}
