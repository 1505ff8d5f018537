/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The route table and its dispatcher.
 *
 * Paths are relative to the <Location> the handler is mounted at, so
 * "<Location /api/bulk/v1> SetHandler bulkio" serves /api/bulk/v1/imports
 * as "<Location /v1>" serves /v1/imports. httpd does not tell a handler
 * which section set it; the mount is the path of the plain <Location>
 * whose SetHandler applies (find_mount()): a nested <Location /v1/metrics>
 * without a SetHandler leaves the mount at /v1, and /v1/x/metrics is not
 * /metrics under a mount /v1/x. Regex and wildcard mounts are refused at
 * startup.
 */

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "bulkio_util.h"

#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_console.h"
#include "mod_bulkio_exports.h"
#include "mod_bulkio_http.h"
#include "mod_bulkio_imports.h"
#include "mod_bulkio_results.h"
#include "mod_bulkio_jobs.h"
#include "mod_bulkio_metrics.h"
#include "mod_bulkio_openapi.h"
#include "mod_bulkio_router.h"

typedef int route_fn(mod_bulkio_req_t *req);

typedef struct {
    int method;           /* M_GET also serves HEAD */
    const char *path;     /* "{id}" matches one segment: req->id */
    route_fn *handler;
    int token;            /* needs a Bearer token */
    const void *arg;      /* the handler's req->arg */
    const char *const *params; /* the query parameters it takes; OWN: the
                                  handler checks them itself (the lists,
                                  the streamed export's filters, the POSTs
                                  after their Idempotency-Key) */
} route_t;

/* The query parameters a route takes (none, the errors' and results'
 * format, a signed link's expiry and signature), or
 * OWN: its handler checks them itself. */
static const char *const none[] = { NULL };
static const char *const fmt[] = { "format", NULL };
static const char *const signed_link[] = { "expires", "signature", NULL };
#define OWN NULL

/* A literal segment is listed before a {id} in the same place: the first
 * path that matches decides. Adding an endpoint is one line here. */
static const route_t routes[] = {
    { M_GET,    "/health",                mod_bulkio_health,           0, NULL, none },
    { M_GET,    "/metrics",               mod_bulkio_metrics,          0, NULL, none },
    { M_GET,    "/openapi.yaml",          mod_bulkio_openapi,          0, NULL, none },
    { M_GET,    "/jobs",                  mod_bulkio_list_jobs,        1, NULL, OWN },
    { M_GET,    "/imports",               mod_bulkio_list_jobs,        1,
      &mod_bulkio_imports, OWN },
    { M_POST,   "/imports",               mod_bulkio_post_job,         1,
      &mod_bulkio_imports, OWN },
    { M_GET,    "/imports/{id}",          mod_bulkio_imports_get,      1, NULL, none },
    { M_DELETE, "/imports/{id}",          mod_bulkio_imports_delete,   1, NULL, none },
    { M_GET,    "/imports/{id}/errors",   mod_bulkio_imports_errors,   1, NULL, fmt },
    { M_GET,    "/imports/{id}/results",  mod_bulkio_results,          1, NULL, fmt },
    { M_GET,    "/exports",               mod_bulkio_exports_stream,   1, NULL, OWN },
    { M_POST,   "/exports",               mod_bulkio_post_job,         1,
      &mod_bulkio_exports, OWN },
    { M_GET,    "/exports/jobs",          mod_bulkio_list_jobs,        1,
      &mod_bulkio_exports, OWN },
    { M_GET,    "/exports/{id}",          mod_bulkio_exports_get,      1, NULL, none },
    { M_DELETE, "/exports/{id}",          mod_bulkio_exports_delete,   1, NULL, none },
    { M_GET,    "/exports/{id}/download", mod_bulkio_exports_download, 1, NULL, none },
    { M_GET,    "/exports/{id}/signed-download", mod_bulkio_exports_signed,
      0, NULL, signed_link },
    /* the console's static files, not the API: their query is left alone */
    { M_GET,    "/console",               mod_bulkio_console,          0, NULL, OWN },
    { M_GET,    "/console/{id}",          mod_bulkio_console,          0, NULL, OWN },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Whether path matches pattern; *pid: where its {id} starts (length
 * *pidlen), when it has one. */
static int path_matches(const char *pattern, const char *path,
                        const char **pid, apr_size_t *pidlen)
{
    const char *p = pattern, *s = path;

    while (*p) {
        if (!strncmp(p, "{id}", 4)) {
            apr_size_t n = strcspn(s, "/");

            *pid = s;
            *pidlen = n;
            s += n;
            p += 4;
        }
        else if (*p++ != *s++) {
            return 0;
        }
    }
    return !*s;
}

/* The first route whose path matches (any method), or -1. */
static int find_path(const char *path, const char **pid, apr_size_t *pidlen)
{
    apr_size_t i;

    for (i = 0; i < NROUTES; ++i) {
        *pid = NULL;
        *pidlen = 0;
        if (path_matches(routes[i].path, path, pid, pidlen)) {
            return (int)i;
        }
    }
    return -1;
}

/* Whether a path with no route is still below a path that needs a token
 * (its first segment is one of theirs): it is authenticated before its
 * 404, so that a stranger learns nothing of the tree under it. */
static int below_token_path(const char *path)
{
    apr_size_t i, n = strcspn(path + (*path == '/'), "/") + (*path == '/');

    if (n < 2) {
        return 0;
    }
    for (i = 0; i < NROUTES; ++i) {
        const char *rp = routes[i].path;

        if (routes[i].token && !strncmp(rp, path, n)
            && (!rp[n] || rp[n] == '/')) {
            return 1;
        }
    }
    return 0;
}

/* The Allow value of the routes with path pattern (all routes: NULL). */
static const char *allow_of(apr_pool_t *p, const char *pattern)
{
    const char *allow = NULL, *m;
    int seen[M_INVALID + 1];
    apr_size_t i;

    memset(seen, 0, sizeof(seen));
    for (i = 0; i < NROUTES; ++i) {
        if ((pattern && strcmp(routes[i].path, pattern))
            || seen[routes[i].method]) {
            continue;
        }
        seen[routes[i].method] = 1;
        m = routes[i].method == M_GET ? "GET, HEAD"
            : ap_method_name_of(p, routes[i].method);
        allow = allow ? apr_pstrcat(p, allow, ", ", m, NULL) : m;
    }
    return allow;
}

/* Why the query does not suit a route that takes params, or NULL. */
static const char *unknown_param(request_rec *r, const char *const *params)
{
    apr_table_t *args;

    if (!r->args || !*r->args) {
        return NULL;
    }
    ap_args_to_table(r, &args);
    return bulkio_args_unknown(r->pool, args, params);
}

/* Whether a section's SetHandler names this module's handler (evaluated
 * for r: SetHandler takes an expression). */
static int sets_bulkio(request_rec *r, const core_dir_config *d)
{
    const char *err = NULL, *h;

    if (!d->expr_handler) {
        return 0;
    }
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    return !err && h && !strcasecmp(h, "bulkio");
}

/* Split r->uri into the mount (returned) and the route path (*ppath): the
 * mount is the path of the <Location> that set the handler, the last (as
 * httpd merges them) of the server's plain <Location> sections whose path
 * is r->uri or one of its leading segments and which have a SetHandler.
 * NULL when there is none, or when the last one sets another handler: a
 * path outside every mount reaches no handler. (Regex and wildcard mounts
 * are refused at startup: mod_bulkio_router_check().) */
static const char *find_mount(request_rec *r, const char **ppath)
{
    core_server_config *sconf = ap_get_core_module_config(
                                    r->server->module_config);
    ap_conf_vector_t **secs = (ap_conf_vector_t **)sconf->sec_url->elts;
    const core_dir_config *d, *last = NULL;
    const char *uri = r->uri;
    apr_size_t n, len = 0;
    int i;

    for (i = 0; uri && *uri == '/' && i < sconf->sec_url->nelts; ++i) {
        d = ap_get_core_module_config(secs[i]);
        if (!d || !d->d || d->r || d->d_is_fnmatch || !d->expr_handler
            || *d->d != '/') {
            continue;
        }
        n = strlen(d->d);
        while (n > 0 && d->d[n - 1] == '/') {
            --n;
        }
        if (!strncmp(uri, d->d, n) && (!uri[n] || uri[n] == '/')) {
            last = d;
            len = n;
        }
    }
    if (!last || !sets_bulkio(r, last)) {
        return NULL;
    }
    *ppath = uri + len;
    return apr_pstrmemdup(r->pool, uri, len);
}

/* Whether a section directive (<Location ...>) with args is a regex or a
 * wildcard. */
static int location_is_pattern(const ap_directive_t *dir)
{
    const char *a = dir->args ? dir->args : "";

    if (!strcasecmp(dir->directive, "<LocationMatch")) {
        return 1;
    }
    if (strcasecmp(dir->directive, "<Location")) {
        return 0;
    }
    while (*a == ' ' || *a == '\t' || *a == '"' || *a == '\'') {
        ++a;
    }
    return *a == '~' || strpbrk(a, "*?[") != NULL;
}

/* The first SetHandler bulkio inside (below) dir, or NULL. */
static const ap_directive_t *handler_inside(const ap_directive_t *dir)
{
    const ap_directive_t *c, *found;
    const char *a;

    for (c = dir->first_child; c; c = c->next) {
        a = c->args ? c->args : "";
        while (*a == '"' || *a == '\'' || *a == ' ') {
            ++a;
        }
        if (!strcasecmp(c->directive, "SetHandler")
            && !strncasecmp(a, "bulkio", 6)
            && (!a[6] || strchr("\"' \t", a[6]))) {
            return c;
        }
        if ((found = handler_inside(c))) {
            return found;
        }
    }
    return NULL;
}

const char *mod_bulkio_router_check(apr_pool_t *p,
                                    const ap_directive_t *tree)
{
    const ap_directive_t *dir, *h;
    const char *msg;

    for (dir = tree; dir; dir = dir->next) {
        if (location_is_pattern(dir) && (h = handler_inside(dir))) {
            return apr_psprintf(p, "SetHandler bulkio in %s %s (%s:%d): the "
                                "API must be mounted at a plain <Location "
                                "/path>; a regex or wildcard mount is not "
                                "supported (its links and checks need the "
                                "mount's exact path)", dir->directive,
                                dir->args, h->filename, h->line_num);
        }
        if (dir->first_child
            && (msg = mod_bulkio_router_check(p, dir->first_child))) {
            return msg;
        }
    }
    return NULL;
}

int mod_bulkio_handler(request_rec *r)
{
    mod_bulkio_req_t req;
    const char *path, *id, *detail;
    apr_size_t i, idlen;
    int at, rc;

    if (!r->handler || strcmp(r->handler, "bulkio")) {
        return DECLINED;
    }
    memset(&req, 0, sizeof(req));
    req.r = r;
    req.cfg = mod_bulkio_cfg_get(r->server);
    /* every answer, errors too: no content sniffing */
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    if (!(req.base = find_mount(r, &path))) {
        return mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such resource");
    }

    at = find_path(path, &id, &idlen);
    if (at < 0 && !below_token_path(path)) {
        return mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such resource");
    }
    if (at < 0 || routes[at].token) {
        /* a principal's jobs, reports, lists and data: never kept by a
         * cache, the browser's included */
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    }
    /* the path's routes need a token: authenticate before anything else */
    for (i = at < 0 ? 0 : (apr_size_t)at; i < NROUTES; ++i) {
        if (at < 0 || (!strcmp(routes[i].path, routes[at].path)
                       && routes[i].token)) {
            if ((rc = mod_bulkio_authenticate(&req)) != OK) {
                return rc;
            }
            /* a decoded value would end at the NUL and pass for its
             * prefix */
            if (r->args && strstr(r->args, "%00")) {
                return mod_bulkio_problem(r, HTTP_BAD_REQUEST,
                                          "a query parameter holds a NUL "
                                          "byte");
            }
            break;
        }
    }
    if (at < 0) {
        return mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such resource");
    }
    if (id) {
        req.id = apr_pstrmemdup(r->pool, id, idlen);
    }
    for (i = (apr_size_t)at; i < NROUTES; ++i) {
        if (!strcmp(routes[i].path, routes[at].path)
            && routes[i].method == r->method_number) {
            if (routes[i].params
                && (detail = unknown_param(r, routes[i].params))) {
                return mod_bulkio_problem(r, HTTP_BAD_REQUEST, detail);
            }
            req.arg = routes[i].arg;
            return routes[i].handler(&req);
        }
    }
    return mod_bulkio_method_not_allowed(r, allow_of(r->pool,
                                                     routes[at].path));
}

int mod_bulkio_refuse_trace(request_rec *r)
{
    const char *path, *id;
    apr_size_t idlen;

    if (r->method_number != M_TRACE) {
        return DECLINED;
    }
    if (!mod_bulkio_targets_v1(r)) {
        /* under another mount: the <Location> sections are walked before
         * map_to_storage, so the mount is known if a route fits */
        if (!r->uri || *r->uri != '/' || !find_mount(r, &path)
            || find_path(path, &id, &idlen) < 0) {
            return DECLINED;
        }
    }
    apr_table_setn(r->err_headers_out, "Allow", allow_of(r->pool, NULL));
    mod_bulkio_problem(r, HTTP_METHOD_NOT_ALLOWED,
                       "TRACE is not served under /v1");
    return DONE;
}
