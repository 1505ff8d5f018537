/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_CONFIG_H
#define MOD_BULKIO_CONFIG_H

#include <httpd.h>
#include <http_config.h>

#include "bulkio_spool.h"

/** Per-server configuration. Unset values hold BULKIO_UNSET (or NULL) until
 * mod_bulkio_cfg_finalize() gives them their defaults. */
typedef struct {
    const char *spool_dir;
    bulkio_spool_conf_t spool;          /* BulkIOSpool: its kind, and
                                         * spool_dir once finalized */
    const char *replica;                /* BulkIOExportReplica conninfo (a
                                         * secret: never logged), or NULL */
    apr_interval_time_t replica_wait;   /* BulkIOExportReplicaWait */
    const char *jwt_secret;
    apr_off_t max_upload;
    apr_off_t max_record;
    int batch_size;
    int max_jobs;
    int max_jobs_per_principal;
    int import_conns;                   /* connections an import writes
                                         * through: 1 or 2 */
    apr_off_t max_inflated;
    apr_int64_t max_error_rows;         /* error entries an import stores */
    apr_off_t max_error_bytes;          /* ... and their record data */
    int import_results;                 /* BulkIOImportResults: imports
                                         * store each record's result */
    apr_interval_time_t poll_interval;
    apr_interval_time_t lease_time;
    apr_interval_time_t idempotency_ttl;
    apr_interval_time_t export_ttl;
    apr_interval_time_t job_retention;
    apr_array_header_t *url_allow;      /* of bulkio_cidr_t, or NULL */
    apr_off_t fetch_max_size;
    apr_interval_time_t fetch_connect_timeout;
    apr_interval_time_t fetch_timeout;
    apr_interval_time_t fetch_stall_timeout;
    int auth;                           /* MOD_BULKIO_AUTH_* */
    apr_array_header_t *url_ports;      /* of bulkio_port_range_t, or NULL
                                         * for 80 and 443 */
    int jwt_require_exp;                /* tokens without exp: 401 */
    const char *jwt_audience;           /* aud must hold it, or NULL */
    const char *jwt_issuer;             /* iss must be it, or NULL */
    int require_scopes;                 /* bulkio:import... checked */
    const char *webhook_secret;         /* signs webhook bodies, or NULL */
    apr_interval_time_t webhook_retry;  /* how long a delivery is tried */
    apr_interval_time_t webhook_backoff; /* the first pause, then doubled */
    apr_interval_time_t webhook_timeout; /* of one try */
    const char *link_secret;            /* signs download links, or NULL */
    apr_interval_time_t link_ttl;       /* a download link's lifetime */
} mod_bulkio_cfg_t;

/** BulkIOAuth: who the principal is. */
#define MOD_BULKIO_AUTH_JWT   0   /**< the sub claim of an HS256 token */
#define MOD_BULKIO_AUTH_HTTPD 1   /**< r->user, from httpd's authentication */

#define BULKIO_UNSET (-1)

/** The directive table. */
extern const command_rec mod_bulkio_cmds[];

/** create_server_config hook. */
void *mod_bulkio_cfg_create(apr_pool_t *p, server_rec *s);

/** merge_server_config hook: a virtual host inherits what it does not set. */
void *mod_bulkio_cfg_merge(apr_pool_t *p, void *basev, void *addv);

/** Fill unset values of every server's configuration with the defaults. */
void mod_bulkio_cfg_finalize(apr_pool_t *p, server_rec *s);

/** The configuration of server s. */
mod_bulkio_cfg_t *mod_bulkio_cfg_get(server_rec *s);

/** Whether an import keeps per-record results: as recorded on its job (1,
 * 0), or, for a job that records nothing (-1: older than migration 015),
 * as cfg's BulkIOImportResults says. */
int mod_bulkio_cfg_results(const mod_bulkio_cfg_t *cfg, int recorded);

#endif /* MOD_BULKIO_CONFIG_H */
