/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * mod_bulkio: bulk import and export of users, articles and comments
 * between files and PostgreSQL. The module record, its hooks and its
 * directives; everything else lives in src/.
 */

#include <apr_file_info.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>
#include <mpm_common.h>
#include <unixd.h>

#include <json-c/json.h>

#include "src/mod_bulkio_private.h"
#include "src/mod_bulkio_config.h"
#include "src/mod_bulkio_http.h"
#include "src/mod_bulkio_router.h"
#include "src/mod_bulkio_scheduler.h"
#include "src/mod_bulkio_signal.h"
#include "src/mod_bulkio_status.h"
#include "src/mod_bulkio_threads.h"
#include "src/mod_bulkio_webhooks.h"

/* The spool directory must exist and belong to the user children run as. */
static apr_status_t make_spool_dir(apr_pool_t *p, server_rec *s,
                                   const char *dir)
{
    apr_status_t rv;

    rv = apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE
                                | APR_FPROT_UEXECUTE, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, BULKIO_LOGNO(20)
                     "cannot create BulkIOSpoolDir %s", dir);
        return rv;
    }
    if (!geteuid() && chown(dir, ap_unixd_config.user_id,
                            ap_unixd_config.group_id) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, BULKIO_LOGNO(21)
                     "cannot give BulkIOSpoolDir %s to the server's user",
                     dir);
    }
    return APR_SUCCESS;
}

static int bulkio_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    const char *msg;
    server_rec *sv;

    (void)plog;
    (void)ptemp;
    mod_bulkio_cfg_finalize(pconf, s);
    /* the first, trial pass only checks the configuration */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if ((msg = mod_bulkio_http_init())
        || (msg = mod_bulkio_threads_post_config())
        || (msg = mod_bulkio_scheduler_post_config(pconf, s))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, APR_ENOTIMPL, s,
                     BULKIO_LOGNO(22) "%s", msg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    mod_bulkio_signal_post_config(pconf, s);
    for (sv = s; sv; sv = sv->next) {
        mod_bulkio_cfg_t *cfg = mod_bulkio_cfg_get(sv);

        if (make_spool_dir(pconf, sv, cfg->spool_dir) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!cfg->jwt_secret && cfg->auth == MOD_BULKIO_AUTH_JWT) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sv, BULKIO_LOGNO(23)
                         "BulkIOJWTSecret is not set: every API request "
                         "will be refused");
        }
    }
    return OK;
}

/* A regex or wildcard mount stops httpd at startup (also httpd -t). */
static int bulkio_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    const char *msg;

    (void)pconf;
    (void)plog;
    if ((msg = mod_bulkio_router_check(ptemp, ap_conftree))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, APR_EINVAL, s,
                     BULKIO_LOGNO(1851) "%s", msg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static void bulkio_child_init(apr_pool_t *pchild, server_rec *s)
{
    mod_bulkio_threads_child_init(pchild, s);
    mod_bulkio_scheduler_child_init(pchild, s);
    mod_bulkio_webhooks_child_init(pchild, s);
    mod_bulkio_status_child_init(mod_bulkio_scheduler_server_id());
}

static void bulkio_register_hooks(apr_pool_t *p)
{
    /* the job scheduler registers with mod_watchdog before it starts */
    static const char *const before_watchdog[] = { "mod_watchdog.c", NULL };

    (void)p;
    ap_hook_post_config(bulkio_post_config, NULL, before_watchdog,
                        APR_HOOK_MIDDLE);
    ap_hook_check_config(bulkio_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(bulkio_child_init, NULL, before_watchdog,
                       APR_HOOK_MIDDLE);
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 110)
    ap_hook_child_stopping(mod_bulkio_threads_child_stopping, NULL, NULL,
                           APR_HOOK_MIDDLE);
#endif
    ap_hook_handler(mod_bulkio_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(mod_bulkio_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(mod_bulkio_refuse_trace, NULL, NULL,
                           APR_HOOK_FIRST);
    mod_bulkio_http_register();
    mod_bulkio_status_register();
}

module AP_MODULE_DECLARE_DATA bulkio_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                   /* create per-directory config */
    NULL,                   /* merge per-directory config */
    mod_bulkio_cfg_create,  /* create per-server config */
    mod_bulkio_cfg_merge,   /* merge per-server config */
    mod_bulkio_cmds,        /* directives */
    bulkio_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE
#endif
};
