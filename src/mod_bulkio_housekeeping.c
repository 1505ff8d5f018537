/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The worker's housekeeping, done by the scheduler at most once a
 * minute on its own connection and within a time budget per tick:
 *
 * - the files of exports past their TTL (the job rows say which);
 * - finished jobs past BulkIOJobRetention (their error rows first, in
 *   batches of short transactions, then the jobs and their files) and
 *   Idempotency-Keys past their TTL;
 * - spool files no job wants (orphans), once older than a grace period.
 *
 * Only files in the spool directory are ever removed, whatever the
 * database names.
 */

#include <apr_file_info.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "bulkio_pq.h"
#include "bulkio_store_house.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_housekeeping.h"

#define SWEEP_EVERY     apr_time_from_sec(60)
#define SWEEP_BUDGET    apr_time_from_sec(2)   /* per tick; the rest later */
#define PURGE_BATCH     5000                   /* rows per DELETE */
#define SPOOL_BATCH     500                    /* files per lookup */
#define ORPHAN_GRACE    apr_time_from_sec(3600)

/* One step of the retention purge: delete at most max rows, *pn of them. */
typedef apr_status_t purge_step_fn(apr_pool_t *p, PGconn *conn,
                                   server_rec *s, int max, int *pn);

/* the next sweep's time (only the scheduler's thread sweeps) */
static apr_time_t next_sweep;

static const char *spool_dir(server_rec *s)
{
    return mod_bulkio_cfg_get(s)->spool_dir;
}

/* Remove a file the database named, when it is one of the spool's (never
 * anything else). */
static void remove_spool_file(apr_pool_t *p, server_rec *s, const char *path)
{
    const char *dir = spool_dir(s);
    apr_size_t n = strlen(dir);

    if (path && !strncmp(path, dir, n) && path[n] == '/'
        && !strchr(path + n + 1, '/') && path[n + 1] != '.') {
        apr_file_remove(path, p);
    }
}

void mod_bulkio_housekeeping_drop_import(apr_pool_t *p, server_rec *s,
                                         const bulkio_claim_t *c)
{
    const char *file;
    apr_status_t rv;

    if (!strcmp(c->kind, "import")) {
        file = apr_pstrcat(p, spool_dir(s), "/import-", c->job_id, NULL);
        rv = apr_file_remove(file, p);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         BULKIO_LOGNO(44) "cannot remove %s", file);
        }
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s,
                     BULKIO_LOGNO(45) "job %s ended: removed its file %s",
                     c->job_id, file);
        apr_file_remove(apr_pstrcat(p, file, ".part", NULL), p);
    }
}

/* Remove the files of exports past their TTL. */
static void sweep_exports(apr_pool_t *p, PGconn *conn, server_rec *s)
{
    PGresult *res;
    int i;

    if (bulkio_store_expire_exports(p, conn, &res) != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < PQntuples(res); ++i) {
        remove_spool_file(p, s, PQgetvalue(res, i, 0));
    }
}

static apr_status_t purge_errors(apr_pool_t *p, PGconn *conn, server_rec *s,
                                 int max, int *pn)
{
    return bulkio_store_purge_errors(p, conn,
                                     mod_bulkio_cfg_get(s)->job_retention,
                                     max, pn);
}

static apr_status_t purge_jobs(apr_pool_t *p, PGconn *conn, server_rec *s,
                               int max, int *pn)
{
    PGresult *res;
    apr_status_t rv;
    int i;

    rv = bulkio_store_purge_jobs(p, conn, mod_bulkio_cfg_get(s)->job_retention,
                                 max, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pn = PQntuples(res);
    for (i = 0; i < *pn; ++i) {
        if (!PQgetisnull(res, i, 1)) {
            remove_spool_file(p, s, PQgetvalue(res, i, 1));
        }
        /* a file of an attempt that never recorded it */
        remove_spool_file(p, s, apr_pstrcat(p, spool_dir(s), "/import-",
                                            PQgetvalue(res, i, 0), NULL));
    }
    return APR_SUCCESS;
}

static apr_status_t purge_keys(apr_pool_t *p, PGconn *conn, server_rec *s,
                               int max, int *pn)
{
    (void)s;
    return bulkio_store_purge_idem(p, conn, ORPHAN_GRACE, max, pn);
}

static apr_status_t purge_tombstones(apr_pool_t *p, PGconn *conn,
                                     server_rec *s, int max, int *pn)
{
    return bulkio_store_purge_tombstones(
        p, conn, mod_bulkio_cfg_get(s)->job_retention, max, pn);
}

/* The purge's steps in their order: error rows before their jobs. */
static const struct {
    purge_step_fn *step;
    int batch;                  /* rows per transaction */
} purge_steps[] = {
    { purge_errors, PURGE_BATCH },
    { purge_jobs, PURGE_BATCH / 10 },
    { purge_keys, PURGE_BATCH },
    { purge_tombstones, PURGE_BATCH },
};

#define PURGE_STEPS (int)(sizeof(purge_steps) / sizeof(purge_steps[0]))

/* Purge what is past its time, step by step, each in batches of short
 * transactions. Returns non-zero when the time budget ran out before the
 * work did. */
static int purge(apr_pool_t *p, PGconn *conn, server_rec *s, apr_time_t until)
{
    apr_int64_t purged[PURGE_STEPS] = { 0 };
    apr_pool_t *tmp;
    int i, n = 0, more = 0;

    apr_pool_create(&tmp, p);
    for (i = 0; i < PURGE_STEPS && !more; ++i) {
        do {
            apr_pool_clear(tmp);
            if (purge_steps[i].step(tmp, conn, s, purge_steps[i].batch, &n)
                != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, APR_EGENERAL, s,
                             BULKIO_LOGNO(40) "retention sweep: %s",
                             bulkio_pq_error(tmp, conn));
                goto leave;
            }
            purged[i] += n;
        } while (n == purge_steps[i].batch && apr_time_now() < until);
        more = n == purge_steps[i].batch;
    }
leave:
    if (purged[0] || purged[1] || purged[2] || purged[3]) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, BULKIO_LOGNO(41)
                     "retention: purged %" APR_INT64_T_FMT " jobs, %"
                     APR_INT64_T_FMT " error rows, %" APR_INT64_T_FMT
                     " idempotency keys, %" APR_INT64_T_FMT " tombstones",
                     purged[1], purged[0], purged[2], purged[3]);
    }
    apr_pool_destroy(tmp);
    return more;
}

/* The job id in a spool file's name (import-<uuid>[.part],
 * export-<uuid>.<ext>), or NULL when the name is none of ours. */
static const char *spool_job_id(apr_pool_t *p, const char *name)
{
    const char *id;

    if (!strncmp(name, "import-", 7)) {
        id = name + 7;
    }
    else if (!strncmp(name, "export-", 7)) {
        id = name + 7;
    }
    else {
        return NULL;
    }
    if (strlen(id) < 36 || (id[36] && id[36] != '.')) {
        return NULL;
    }
    id = apr_pstrndup(p, id, 36);
    return strspn(id, "0123456789abcdef-") == 36 ? id : NULL;
}

/* Remove those of the candidate files (names in the spool, with their job
 * ids) that no job wants: a file is wanted while its job is pending or
 * running, and an export's file while its job names it. */
static void remove_orphans(apr_pool_t *p, PGconn *conn, server_rec *s,
                           apr_array_header_t *names,
                           apr_array_header_t *ids)
{
    apr_hash_t *live = apr_hash_make(p), *named = apr_hash_make(p);
    const char *ids_lit, *name, *id;
    PGresult *res;
    int i;

    if (!names->nelts) {
        return;
    }
    /* the ids are checked uuids: no quoting needed in the literal */
    ids_lit = apr_pstrcat(p, "{", apr_array_pstrcat(p, ids, ','), "}", NULL);
    if (bulkio_store_spool_refs(p, conn, ids_lit, &res) != APR_SUCCESS) {
        goto leave;
    }
    for (i = 0; i < PQntuples(res); ++i) {
        if (PQgetvalue(res, i, 1)[0] == 't') {
            apr_hash_set(live, apr_pstrdup(p, PQgetvalue(res, i, 0)),
                         APR_HASH_KEY_STRING, "");
        }
        apr_hash_set(named, apr_pstrdup(p, PQgetvalue(res, i, 2)),
                     APR_HASH_KEY_STRING, "");
    }
    for (i = 0; i < names->nelts; ++i) {
        name = APR_ARRAY_IDX(names, i, const char *);
        id = APR_ARRAY_IDX(ids, i, const char *);
        if (!apr_hash_get(live, id, APR_HASH_KEY_STRING)
            && !apr_hash_get(named, name, APR_HASH_KEY_STRING)) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         BULKIO_LOGNO(42) "removing orphaned spool file %s",
                         name);
            apr_file_remove(apr_pstrcat(p, spool_dir(s), "/", name, NULL),
                            p);
        }
    }
leave:
    apr_array_clear(names);
    apr_array_clear(ids);
}

/* Remove spool files no job wants, once they are older than a grace
 * period (an upload being received is written to all the time, and its
 * file becomes a job's within moments of its last byte). */
static void sweep_spool(apr_pool_t *p, PGconn *conn, server_rec *s)
{
    const char *dir = spool_dir(s);
    apr_time_t old = apr_time_now() - ORPHAN_GRACE;
    apr_array_header_t *names, *ids;
    apr_pool_t *tmp, *batch;
    apr_finfo_t fi;
    apr_dir_t *d;
    const char *id, *path;

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return;
    }
    apr_pool_create(&tmp, p);
    apr_pool_create(&batch, tmp);
    names = apr_array_make(tmp, SPOOL_BATCH, sizeof(const char *));
    ids = apr_array_make(tmp, SPOOL_BATCH, sizeof(const char *));
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE
                        | APR_FINFO_MTIME, d) == APR_SUCCESS) {
        if (fi.filetype != APR_REG || fi.mtime >= old) {
            continue;
        }
        if (!strncmp(fi.name, "upload-", 7)) {
            /* an upload that never became a job */
            path = apr_pstrcat(batch, dir, "/", fi.name, NULL);
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         BULKIO_LOGNO(43) "removing abandoned upload %s",
                         path);
            apr_file_remove(path, batch);
            continue;
        }
        if (!(id = spool_job_id(batch, fi.name))) {
            continue;   /* not ours */
        }
        APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(batch, fi.name);
        APR_ARRAY_PUSH(ids, const char *) = id;
        if (names->nelts == SPOOL_BATCH) {
            remove_orphans(batch, conn, s, names, ids);
            apr_pool_clear(batch);
        }
    }
    remove_orphans(batch, conn, s, names, ids);
    apr_dir_close(d);
    apr_pool_destroy(tmp);
}

void mod_bulkio_housekeeping_sweep(apr_pool_t *p, PGconn *conn,
                                   server_rec *s)
{
    apr_time_t now = apr_time_now();
    int more;

    if (now < next_sweep || bulkio_pq_broken(conn)) {
        return;
    }
    sweep_exports(p, conn, s);
    more = purge(p, conn, s, now + SWEEP_BUDGET);
    sweep_spool(p, conn, s);
    next_sweep = apr_time_now() + (more ? mod_bulkio_cfg_get(s)->poll_interval
                                        : SWEEP_EVERY);
}
