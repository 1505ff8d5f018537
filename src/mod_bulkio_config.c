/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "bulkio_url.h"
#include "bulkio_util.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"

#define DEF_MAX_UPLOAD      ((apr_off_t)10 << 30)
#define DEF_MAX_RECORD      ((apr_off_t)1 << 20)
#define DEF_BATCH_SIZE      1000
#define DEF_MAX_JOBS        3
#define DEF_MAX_PER_PRINCIPAL 20
#define DEF_IMPORT_CONNS    2
#define DEF_MAX_INFLATED    ((apr_off_t)100 << 30)
#define DEF_MAX_ERROR_ROWS  100000
#define DEF_MAX_ERROR_BYTES ((apr_off_t)64 << 20)
#define DEF_IMPORT_RESULTS  1
#define DEF_POLL_INTERVAL   apr_time_from_sec(1)
#define DEF_LEASE_TIME      apr_time_from_sec(30)
#define DEF_IDEMPOTENCY_TTL apr_time_from_sec(24 * 3600)
#define DEF_EXPORT_TTL      apr_time_from_sec(24 * 3600)
#define DEF_JOB_RETENTION   apr_time_from_sec(7 * 24 * 3600)
#define DEF_FETCH_MAX_SIZE  ((apr_off_t)10 << 30)
#define DEF_FETCH_CONNECT   apr_time_from_sec(10)
#define DEF_FETCH_TIMEOUT   apr_time_from_sec(3600)
#define DEF_FETCH_STALL     apr_time_from_sec(60)
#define DEF_JWT_REQUIRE_EXP 1
#define DEF_REQUIRE_SCOPES  0
#define DEF_WEBHOOK_RETRY   apr_time_from_sec(24 * 3600)
#define DEF_WEBHOOK_BACKOFF apr_time_from_sec(30)
#define DEF_WEBHOOK_TIMEOUT apr_time_from_sec(10)
#define DEF_LINK_TTL        apr_time_from_sec(3600)
#define SECRET_MIN          32
#define DEF_REPLICA_WAIT    apr_time_from_sec(2)

/* A value set in the virtual host wins over the one it inherits. */
#define MERGE(f) (add->f != BULKIO_UNSET ? add->f : base->f)
#define MERGE_STR(f) (add->f ? add->f : base->f)
#define DEF_VAL(f, d) if (c->f == BULKIO_UNSET) c->f = (d)

void *mod_bulkio_cfg_create(apr_pool_t *p, server_rec *s)
{
    mod_bulkio_cfg_t *c = apr_pcalloc(p, sizeof(*c));

    (void)s;
    c->max_upload = BULKIO_UNSET;
    c->max_record = BULKIO_UNSET;
    c->batch_size = BULKIO_UNSET;
    c->max_jobs = BULKIO_UNSET;
    c->max_jobs_per_principal = BULKIO_UNSET;
    c->import_conns = BULKIO_UNSET;
    c->max_inflated = BULKIO_UNSET;
    c->max_error_rows = BULKIO_UNSET;
    c->max_error_bytes = BULKIO_UNSET;
    c->import_results = BULKIO_UNSET;
    c->poll_interval = BULKIO_UNSET;
    c->lease_time = BULKIO_UNSET;
    c->idempotency_ttl = BULKIO_UNSET;
    c->export_ttl = BULKIO_UNSET;
    c->job_retention = BULKIO_UNSET;
    c->fetch_max_size = BULKIO_UNSET;
    c->fetch_connect_timeout = BULKIO_UNSET;
    c->fetch_timeout = BULKIO_UNSET;
    c->fetch_stall_timeout = BULKIO_UNSET;
    c->auth = BULKIO_UNSET;
    c->jwt_require_exp = BULKIO_UNSET;
    c->require_scopes = BULKIO_UNSET;
    c->webhook_retry = BULKIO_UNSET;
    c->webhook_backoff = BULKIO_UNSET;
    c->webhook_timeout = BULKIO_UNSET;
    c->link_ttl = BULKIO_UNSET;
    c->spool.kind = BULKIO_UNSET;
    c->replica_wait = BULKIO_UNSET;
    return c;
}

void *mod_bulkio_cfg_merge(apr_pool_t *p, void *basev, void *addv)
{
    mod_bulkio_cfg_t *base = basev, *add = addv;
    mod_bulkio_cfg_t *c = apr_pcalloc(p, sizeof(*c));

    c->spool_dir = MERGE_STR(spool_dir);
    c->jwt_secret = MERGE_STR(jwt_secret);
    c->max_upload = MERGE(max_upload);
    c->max_record = MERGE(max_record);
    c->batch_size = MERGE(batch_size);
    c->max_jobs = MERGE(max_jobs);
    c->max_jobs_per_principal = MERGE(max_jobs_per_principal);
    c->import_conns = MERGE(import_conns);
    c->max_inflated = MERGE(max_inflated);
    c->max_error_rows = MERGE(max_error_rows);
    c->max_error_bytes = MERGE(max_error_bytes);
    c->import_results = MERGE(import_results);
    c->poll_interval = MERGE(poll_interval);
    c->lease_time = MERGE(lease_time);
    c->idempotency_ttl = MERGE(idempotency_ttl);
    c->export_ttl = MERGE(export_ttl);
    c->job_retention = MERGE(job_retention);
    c->url_allow = MERGE_STR(url_allow);
    c->fetch_max_size = MERGE(fetch_max_size);
    c->fetch_connect_timeout = MERGE(fetch_connect_timeout);
    c->fetch_timeout = MERGE(fetch_timeout);
    c->fetch_stall_timeout = MERGE(fetch_stall_timeout);
    c->auth = MERGE(auth);
    c->url_ports = MERGE_STR(url_ports);
    c->jwt_require_exp = MERGE(jwt_require_exp);
    c->jwt_audience = MERGE_STR(jwt_audience);
    c->jwt_issuer = MERGE_STR(jwt_issuer);
    c->require_scopes = MERGE(require_scopes);
    c->webhook_secret = MERGE_STR(webhook_secret);
    c->webhook_retry = MERGE(webhook_retry);
    c->webhook_backoff = MERGE(webhook_backoff);
    c->webhook_timeout = MERGE(webhook_timeout);
    c->link_secret = MERGE_STR(link_secret);
    c->link_ttl = MERGE(link_ttl);
    c->spool.kind = MERGE(spool.kind);
    c->replica = MERGE_STR(replica);
    c->replica_wait = MERGE(replica_wait);
    return c;
}

void mod_bulkio_cfg_finalize(apr_pool_t *p, server_rec *s)
{
    for (; s; s = s->next) {
        mod_bulkio_cfg_t *c = mod_bulkio_cfg_get(s);

        if (!c->spool_dir) {
            c->spool_dir = ap_runtime_dir_relative(p, "bulkio-spool");
        }
        DEF_VAL(max_upload, DEF_MAX_UPLOAD);
        DEF_VAL(max_record, DEF_MAX_RECORD);
        DEF_VAL(batch_size, DEF_BATCH_SIZE);
        DEF_VAL(max_jobs, DEF_MAX_JOBS);
        DEF_VAL(max_jobs_per_principal, DEF_MAX_PER_PRINCIPAL);
        DEF_VAL(import_conns, DEF_IMPORT_CONNS);
        DEF_VAL(max_inflated, DEF_MAX_INFLATED);
        DEF_VAL(max_error_rows, DEF_MAX_ERROR_ROWS);
        DEF_VAL(max_error_bytes, DEF_MAX_ERROR_BYTES);
        DEF_VAL(import_results, DEF_IMPORT_RESULTS);
        DEF_VAL(poll_interval, DEF_POLL_INTERVAL);
        DEF_VAL(lease_time, DEF_LEASE_TIME);
        DEF_VAL(idempotency_ttl, DEF_IDEMPOTENCY_TTL);
        DEF_VAL(export_ttl, DEF_EXPORT_TTL);
        DEF_VAL(job_retention, DEF_JOB_RETENTION);
        DEF_VAL(fetch_max_size, DEF_FETCH_MAX_SIZE);
        DEF_VAL(fetch_connect_timeout, DEF_FETCH_CONNECT);
        DEF_VAL(fetch_timeout, DEF_FETCH_TIMEOUT);
        DEF_VAL(fetch_stall_timeout, DEF_FETCH_STALL);
        DEF_VAL(auth, MOD_BULKIO_AUTH_JWT);
        DEF_VAL(jwt_require_exp, DEF_JWT_REQUIRE_EXP);
        DEF_VAL(require_scopes, DEF_REQUIRE_SCOPES);
        DEF_VAL(webhook_retry, DEF_WEBHOOK_RETRY);
        DEF_VAL(webhook_backoff, DEF_WEBHOOK_BACKOFF);
        DEF_VAL(webhook_timeout, DEF_WEBHOOK_TIMEOUT);
        DEF_VAL(link_ttl, DEF_LINK_TTL);
        DEF_VAL(spool.kind, BULKIO_SPOOL_FILE);
        DEF_VAL(replica_wait, DEF_REPLICA_WAIT);
        c->spool.dir = c->spool_dir;
    }
}

mod_bulkio_cfg_t *mod_bulkio_cfg_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &bulkio_module);
}

int mod_bulkio_cfg_results(const mod_bulkio_cfg_t *cfg, int recorded)
{
    return recorded >= 0 ? recorded : cfg->import_results;
}

static mod_bulkio_cfg_t *cmd_cfg(cmd_parms *cmd)
{
    return mod_bulkio_cfg_get(cmd->server);
}

static const char *set_spool_dir(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    cmd_cfg(cmd)->spool_dir = ap_server_root_relative(cmd->pool, arg);
    return cmd_cfg(cmd)->spool_dir ? NULL : "BulkIOSpoolDir: invalid path";
}

static const char *set_jwt_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (strlen(arg) < 32) {
        return "BulkIOJWTSecret must be at least 32 characters long";
    }
    cmd_cfg(cmd)->jwt_secret = arg;
    return NULL;
}

/* A secret directive (never logged); cmd->info is the offset of the
 * field. */
static const char *set_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (strlen(arg) < SECRET_MIN) {
        return apr_psprintf(cmd->pool, "%s must be at least %d characters "
                            "long", cmd->cmd->name, SECRET_MIN);
    }
    *(const char **)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = arg;
    return NULL;
}

/* A size directive; cmd->info is the offset of the field. */
static const char *set_size(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_off_t v;

    (void)dc;
    if (bulkio_parse_size(arg, &v) != APR_SUCCESS || v <= 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size "
                            "(a number with an optional K, M, G or T)",
                            cmd->cmd->name, arg);
    }
    *(apr_off_t *)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = v;
    return NULL;
}

/* A duration directive; cmd->info is the offset of the field. */
static const char *set_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_interval_time_t v;

    (void)dc;
    if (bulkio_parse_interval(arg, &v) != APR_SUCCESS || v <= 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a duration "
                            "(a number with ms, s, m, h or d)",
                            cmd->cmd->name, arg);
    }
    *(apr_interval_time_t *)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = v;
    return NULL;
}

/* A positive integer directive; cmd->info is the offset of the field. */
static const char *set_count(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    apr_int64_t v;

    (void)dc;
    v = apr_strtoi64(arg, &end, 10);
    if (*end || v < 1 || v > 1000000) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number between "
                            "1 and 1000000", cmd->cmd->name, arg);
    }
    *(int *)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = (int)v;
    return NULL;
}

/* BulkIOMaxErrorRows: a whole number, 0 (store none) or more. */
static const char *set_error_rows(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    apr_int64_t v;

    (void)dc;
    v = apr_strtoi64(arg, &end, 10);
    if (!*arg || *end || v < 0 || v > APR_INT64_C(1000000000000)) {
        return apr_psprintf(cmd->pool, "BulkIOMaxErrorRows: '%s' is not a "
                            "whole number, 0 or more", arg);
    }
    cmd_cfg(cmd)->max_error_rows = v;
    return NULL;
}

static const char *set_import_conns(cmd_parms *cmd, void *dc,
                                    const char *arg)
{
    (void)dc;
    if (strcmp(arg, "1") && strcmp(arg, "2")) {
        return apr_psprintf(cmd->pool, "BulkIOImportConnections: '%s' is "
                            "neither 1 nor 2", arg);
    }
    cmd_cfg(cmd)->import_conns = atoi(arg);
    return NULL;
}

static const char *set_url_allow(cmd_parms *cmd, void *dc, const char *arg)
{
    mod_bulkio_cfg_t *c = cmd_cfg(cmd);
    apr_array_header_t *more;

    (void)dc;
    if (bulkio_cidr_parse(cmd->pool, arg, &more) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "BulkIOURLAllow: '%s' is not an "
                            "address or network (a.b.c.d/n, ::1/128)", arg);
    }
    c->url_allow = c->url_allow ? apr_array_append(cmd->pool, c->url_allow,
                                                   more)
                                : more;
    return NULL;
}

/* BulkIOURLPorts: each line replaces the list. */
static const char *set_url_ports(cmd_parms *cmd, void *dc, int argc,
                                 char *const argv[])
{
    apr_array_header_t *ports;
    int i;

    (void)dc;
    if (argc < 1) {
        return "BulkIOURLPorts: give at least one port";
    }
    ports = apr_array_make(cmd->pool, argc, sizeof(bulkio_port_range_t));
    for (i = 0; i < argc; ++i) {
        if (bulkio_port_range_parse(argv[i], apr_array_push(ports))
            != APR_SUCCESS) {
            return apr_psprintf(cmd->pool, "BulkIOURLPorts: '%s' is not a "
                                "port or a range of ports (443, 8000-8099)",
                                argv[i]);
        }
    }
    cmd_cfg(cmd)->url_ports = ports;
    return NULL;
}

/* An On|Off directive; cmd->info is the offset of the int field. */
static const char *set_flag(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    *(int *)((char *)cmd_cfg(cmd) + (apr_size_t)cmd->info) = on;
    return NULL;
}

/* BulkIOJWTAudience and BulkIOJWTIssuer. */
static const char *set_jwt_claim(cmd_parms *cmd, void *dc, const char *arg)
{
    mod_bulkio_cfg_t *c = cmd_cfg(cmd);

    (void)dc;
    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s: the value is empty",
                            cmd->cmd->name);
    }
    if (!strcasecmp(cmd->cmd->name, "BulkIOJWTAudience")) {
        c->jwt_audience = arg;
    }
    else {
        c->jwt_issuer = arg;
    }
    return NULL;
}

static const char *set_auth(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!strcasecmp(arg, "jwt")) {
        cmd_cfg(cmd)->auth = MOD_BULKIO_AUTH_JWT;
    }
    else if (!strcasecmp(arg, "httpd")) {
        cmd_cfg(cmd)->auth = MOD_BULKIO_AUTH_HTTPD;
    }
    else {
        return apr_psprintf(cmd->pool, "BulkIOAuth: '%s' is neither jwt "
                            "nor httpd", arg);
    }
    return NULL;
}

static const char *set_spool(cmd_parms *cmd, void *dc, const char *arg)
{
    int kind = bulkio_spool_kind(arg);

    (void)dc;
    if (kind < 0) {
        return apr_psprintf(cmd->pool, "BulkIOSpool: '%s' is neither file "
                            "nor database", arg);
    }
    cmd_cfg(cmd)->spool.kind = kind;
    return NULL;
}

static const char *set_replica(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    /* the conninfo may hold a password: no message repeats it */
    cmd_cfg(cmd)->replica = *arg ? arg : NULL;
    return NULL;
}

#define OFF(f) ((void *)APR_OFFSETOF(mod_bulkio_cfg_t, f))
/* a secret's field: no default to fall back to */
#define SECRET_FIELD(f) ((void *)APR_OFFSETOF(mod_bulkio_cfg_t, f))

const command_rec mod_bulkio_cmds[] = {
    AP_INIT_TAKE1("BulkIOSpoolDir", set_spool_dir, NULL, RSRC_CONF,
                  "directory for uploads and export files "
                  "(default: bulkio-spool in DefaultRuntimeDir)"),
    AP_INIT_TAKE1("BulkIOSpool", set_spool, NULL, RSRC_CONF,
                  "where uploads, URL downloads and export files are kept: "
                  "file (in BulkIOSpoolDir) or database (PostgreSQL large "
                  "objects) (default: file)"),
    AP_INIT_TAKE1("BulkIOExportReplica", set_replica, NULL, RSRC_CONF,
                  "libpq conninfo of a streaming replica that exports read "
                  "from (default: none)"),
    AP_INIT_TAKE1("BulkIOExportReplicaWait", set_interval, OFF(replica_wait),
                  RSRC_CONF, "how long an export waits for the replica to "
                  "replay the principal's last import before it reads from "
                  "the primary (default: 2s)"),
    AP_INIT_TAKE1("BulkIOJWTSecret", set_jwt_secret, NULL, RSRC_CONF,
                  "HS256 secret that client tokens are signed with"),
    AP_INIT_TAKE1("BulkIOMaxUploadSize", set_size, OFF(max_upload), RSRC_CONF,
                  "largest accepted upload (default 10G)"),
    AP_INIT_TAKE1("BulkIOMaxRecordSize", set_size, OFF(max_record), RSRC_CONF,
                  "largest accepted record (default 1M)"),
    AP_INIT_TAKE1("BulkIOBatchSize", set_count, OFF(batch_size), RSRC_CONF,
                  "records per batch transaction (default 1000)"),
    AP_INIT_TAKE1("BulkIOMaxJobs", set_count, OFF(max_jobs), RSRC_CONF,
                  "jobs running at once in this server (default 3)"),
    AP_INIT_TAKE1("BulkIOMaxJobsPerPrincipal", set_count,
                  OFF(max_jobs_per_principal), RSRC_CONF,
                  "pending and running jobs one principal may have; more "
                  "answer 429 (default 20)"),
    AP_INIT_TAKE1("BulkIOImportConnections", set_import_conns, NULL,
                  RSRC_CONF, "database connections an import job writes "
                  "through, 1 or 2 (default 2)"),
    AP_INIT_TAKE1("BulkIOMaxInflatedSize", set_size, OFF(max_inflated),
                  RSRC_CONF, "bytes a job may inflate from a gzip file; past "
                  "them the job fails (default 100G)"),
    AP_INIT_TAKE1("BulkIOMaxErrorRows", set_error_rows, NULL, RSRC_CONF,
                  "error entries an import job stores at most; the failed "
                  "records past them are counted, not stored (default "
                  "100000)"),
    AP_INIT_TAKE1("BulkIOMaxErrorBytes", set_size, OFF(max_error_bytes),
                  RSRC_CONF, "bytes of record data an import job's error "
                  "entries keep at most; past them failed records are "
                  "counted, not stored (default 64M)"),
    AP_INIT_FLAG("BulkIOImportResults", set_flag, OFF(import_results),
                 RSRC_CONF, "imports store each record's result for "
                 "GET .../results (default On)"),
    AP_INIT_TAKE1("BulkIOPollInterval", set_interval, OFF(poll_interval),
                  RSRC_CONF, "how often the worker polls for jobs when "
                  "nothing wakes it (default 1s)"),
    AP_INIT_TAKE1("BulkIOLeaseTime", set_interval, OFF(lease_time), RSRC_CONF,
                  "lease on a claimed job, renewed while it runs (default 30s)"),
    AP_INIT_TAKE1("BulkIOIdempotencyTTL", set_interval, OFF(idempotency_ttl),
                  RSRC_CONF, "how long an Idempotency-Key is kept (default 24h)"),
    AP_INIT_TAKE1("BulkIOExportTTL", set_interval, OFF(export_ttl), RSRC_CONF,
                  "how long an export file can be downloaded (default 24h)"),
    AP_INIT_TAKE1("BulkIOJobRetention", set_interval, OFF(job_retention),
                  RSRC_CONF, "how long finished jobs are kept (default 7d)"),
    AP_INIT_ITERATE("BulkIOURLAllow", set_url_allow, NULL, RSRC_CONF,
                    "networks URL imports may reach although they are "
                    "loopback, private, link-local, this host's own... "
                    "(default: none)"),
    AP_INIT_TAKE_ARGV("BulkIOURLPorts", set_url_ports, NULL, RSRC_CONF,
                      "ports (or ranges, 8000-8099) URL imports may connect "
                      "to (default: 80 443)"),
    AP_INIT_TAKE1("BulkIOFetchMaxSize", set_size, OFF(fetch_max_size),
                  RSRC_CONF, "largest file a URL import fetches (default 10G)"),
    AP_INIT_TAKE1("BulkIOFetchConnectTimeout", set_interval,
                  OFF(fetch_connect_timeout), RSRC_CONF,
                  "connect timeout of URL imports (default 10s)"),
    AP_INIT_TAKE1("BulkIOFetchTimeout", set_interval, OFF(fetch_timeout),
                  RSRC_CONF, "total time a URL import's fetch may take "
                  "(default 1h)"),
    AP_INIT_TAKE1("BulkIOFetchStallTimeout", set_interval,
                  OFF(fetch_stall_timeout), RSRC_CONF,
                  "a fetch with no data for this long fails (default 60s)"),
    AP_INIT_TAKE1("BulkIOAuth", set_auth, NULL, RSRC_CONF,
                  "who the principal is: jwt (a token's sub claim) or httpd "
                  "(the user httpd's authentication set) (default: jwt)"),
    AP_INIT_FLAG("BulkIOJWTRequireExp", set_flag, OFF(jwt_require_exp),
                 RSRC_CONF, "refuse tokens without an exp claim (default "
                 "On)"),
    AP_INIT_TAKE1("BulkIOJWTAudience", set_jwt_claim, NULL, RSRC_CONF,
                  "a token's aud claim must name this (default: none)"),
    AP_INIT_TAKE1("BulkIOJWTIssuer", set_jwt_claim, NULL, RSRC_CONF,
                  "a token's iss claim must be this (default: none)"),
    AP_INIT_FLAG("BulkIORequireScopes", set_flag, OFF(require_scopes),
                 RSRC_CONF, "imports need the scope bulkio:import, deletes "
                 "bulkio:delete, exports bulkio:export (default Off)"),
    AP_INIT_TAKE1("BulkIOWebhookSecret", set_secret,
                  SECRET_FIELD(webhook_secret), RSRC_CONF,
                  "HMAC-SHA256 secret that signs completion webhooks "
                  "(BulkIO-Signature); without it callback_url is refused"),
    AP_INIT_TAKE1("BulkIOWebhookRetry", set_interval, OFF(webhook_retry),
                  RSRC_CONF, "how long after a job's end its webhook is "
                  "tried (default 24h)"),
    AP_INIT_TAKE1("BulkIOWebhookBackoff", set_interval, OFF(webhook_backoff),
                  RSRC_CONF, "the pause after a webhook's first failed try, "
                  "doubled with each further one up to 1h (default 30s)"),
    AP_INIT_TAKE1("BulkIOWebhookTimeout", set_interval, OFF(webhook_timeout),
                  RSRC_CONF, "time one webhook try may take (default 10s)"),
    AP_INIT_TAKE1("BulkIODownloadSecret", set_secret,
                  SECRET_FIELD(link_secret), RSRC_CONF,
                  "HMAC-SHA256 secret that signs export download links "
                  "(signedDownloadUrl); the same on servers sharing a "
                  "database"),
    AP_INIT_TAKE1("BulkIODownloadLinkTTL", set_interval, OFF(link_ttl),
                  RSRC_CONF, "how long a signed download link works, at "
                  "most until the export expires (default 1h)"),
    { NULL }
};
