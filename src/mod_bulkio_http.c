/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The bottom of the glue: problem+json, JSON answers, the request's
 * database connection, authentication and the job a request is about.
 * This file calls no other glue file (but the configuration's accessors).
 */

#include <apr_dbd.h>
#include <apr_optional.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_dbd.h>
#include <util_filter.h>

#include "bulkio_jwt.h"
#include "bulkio_pq.h"
#include "bulkio_store_jobs.h"
#include "bulkio_util.h"
#include "mod_bulkio_private.h"
#include "mod_bulkio_config.h"
#include "mod_bulkio_http.h"

#define PROBLEM_TYPE "about:blank"
#define PROBLEM_CTYPE "application/problem+json"
#define AUTH_REALM "Bearer realm=\"bulkio\""

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire;

const char *mod_bulkio_http_init(void)
{
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    if (!dbd_acquire) {
        return "mod_bulkio needs mod_dbd: load it (LoadModule dbd_module) "
               "and configure DBDriver pgsql and DBDParams";
    }
    return NULL;
}

PGconn *mod_bulkio_db(request_rec *r)
{
    ap_dbd_t *dbd = dbd_acquire(r);
    PGconn *conn;

    if (!dbd) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EGENERAL, r, BULKIO_LOGNO(1)
                      "no database connection from mod_dbd");
        return NULL;
    }
    if (strcmp(apr_dbd_name(dbd->driver), "pgsql")) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_ENOTIMPL, r, BULKIO_LOGNO(2)
                      "DBDriver must be pgsql");
        return NULL;
    }
    conn = apr_dbd_native_handle(dbd->driver, dbd->handle);
    /* a pooled connection the database closed (restart) is reconnected
     * rather than failing this request */
    return bulkio_pq_revive(conn) ? conn : NULL;
}

static apr_status_t json_release(void *obj)
{
    json_object_put(obj);
    return APR_SUCCESS;
}

int mod_bulkio_send_json(request_rec *r, int status, json_object *doc)
{
    const char *text;
    apr_size_t len;

    apr_pool_cleanup_register(r->pool, doc, json_release,
                              apr_pool_cleanup_null);
    text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN
                                          | JSON_C_TO_STRING_NOSLASHESCAPE);
    len = strlen(text);
    r->status = status;
    if (!r->content_type) {
        ap_set_content_type(r, "application/json");
    }
    ap_set_content_length(r, (apr_off_t)len + 1);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
        ap_rputc('\n', r);
    }
    return OK;
}

static json_object *problem_doc(int status, const char *detail)
{
    json_object *doc = json_object_new_object();
    const char *line = ap_get_status_line(status);

    line = strlen(line) > 4 ? line + 4 : line;
    json_object_object_add(doc, "type", json_object_new_string(PROBLEM_TYPE));
    json_object_object_add(doc, "title", json_object_new_string(line));
    json_object_object_add(doc, "status", json_object_new_int(status));
    json_object_object_add(doc, "detail",
                           json_object_new_string(detail ? detail : line));
    return doc;
}

int mod_bulkio_problem(request_rec *r, int status, const char *detail)
{
    /* an unread request body is not worth draining after an error */
    if (r->method_number == M_POST || r->method_number == M_PUT) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    r->content_type = PROBLEM_CTYPE;
    return mod_bulkio_send_json(r, status, problem_doc(status, detail));
}

int mod_bulkio_db_unavailable(request_rec *r)
{
    return mod_bulkio_problem(r, HTTP_SERVICE_UNAVAILABLE,
                              "the database is unavailable");
}

static int under_v1(const char *uri)
{
    return uri && !strncmp(uri, "/v1", 3) && (!uri[3] || uri[3] == '/');
}

/* Errors httpd answers itself for a request under /v1 (a bad %-escape, a
 * malformed header, a refused method) leave as problem+json: this filter
 * replaces the HTML body httpd writes. */
static apr_status_t problem_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_bucket *b, *next;
    json_object *doc;
    const char *text;

    if (!f->ctx) {
        f->ctx = f;
        doc = problem_doc(r->status, NULL);
        text = apr_pstrcat(r->pool, json_object_to_json_string_ext(
                               doc, JSON_C_TO_STRING_PLAIN), "\n", NULL);
        json_object_put(doc);
        ap_set_content_type(r, PROBLEM_CTYPE);
        apr_table_unset(r->headers_out, "Content-Length");
        apr_table_setn(r->err_headers_out, "X-Content-Type-Options",
                       "nosniff");
        APR_BRIGADE_INSERT_HEAD(bb, apr_bucket_pool_create(
            text, strlen(text), r->pool, f->c->bucket_alloc));
        b = APR_BUCKET_NEXT(APR_BRIGADE_FIRST(bb));
    }
    else {
        b = APR_BRIGADE_FIRST(bb);
    }
    for (; b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
        }
    }
    return ap_pass_brigade(f->next, bb);
}

/* Whether an error answers a request for /v1: httpd may fail a request
 * before r->uri is usable (a path climbing above the root is mangled in
 * place; a request line over LimitRequestLine is never parsed), so the
 * target as sent, or the start of the request line, decides then. */
int mod_bulkio_targets_v1(request_rec *r)
{
    const char *t;

    if (r->uri && *r->uri == '/') {
        return under_v1(r->uri) || (r->unparsed_uri
                                    && !strncmp(r->unparsed_uri, "/v1/", 4));
    }
    t = r->the_request ? strchr(r->the_request, ' ') : NULL;
    return t && !strncmp(t + 1, "/v1", 3) && t[4] && strchr("/? ", t[4]);
}

void mod_bulkio_insert_error_filter(request_rec *r)
{
    if (ap_is_HTTP_ERROR(r->status)
        && (mod_bulkio_targets_v1(r)
            || (r->handler && !strcmp(r->handler, "bulkio")))) {
        ap_add_output_filter("BULKIO_PROBLEM", NULL, r, r->connection);
    }
}

void mod_bulkio_http_register(void)
{
    ap_register_output_filter("BULKIO_PROBLEM", problem_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
}

/* Answer 401; DONE tells the caller the response is written. */
static int unauthorized(request_rec *r, const char *detail, int bad_token)
{
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   bad_token ? AUTH_REALM ", error=\"invalid_token\""
                             : AUTH_REALM);
    mod_bulkio_problem(r, HTTP_UNAUTHORIZED, detail);
    return DONE;
}

/* Whether a request comes from a page of this server's own origin: an
 * Origin header must be the request's own scheme://host[:port], a
 * Sec-Fetch-Site header same-origin or none (typed in, a bookmark). A
 * request with neither is no browser's and cannot carry a browser's
 * automatic credentials against the user's will. */
static int same_origin(request_rec *r, const char **pwhy)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *own;

    if (site && strcasecmp(site, "same-origin") && strcasecmp(site, "none")) {
        *pwhy = "Sec-Fetch-Site is not same-origin";
        return 0;
    }
    if (origin) {
        own = host ? apr_pstrcat(r->pool, ap_http_scheme(r), "://", host,
                                 NULL) : NULL;
        if (!own || strcasecmp(origin, own)) {
            *pwhy = "Origin is not this server's";
            return 0;
        }
    }
    return 1;
}

/* BulkIOAuth httpd: the principal is the user httpd's authentication in
 * front of the handler set; a state-changing request must be same-origin.
 * @return OK, or DONE when the 401 or 403 answer is written */
static int authenticate_httpd(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    const char *why;

    if (!r->user || !*r->user) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, APR_EACCES, r, BULKIO_LOGNO(1401)
                      "BulkIOAuth httpd: no authenticated user (is an "
                      "authentication module configured for this location?)");
        mod_bulkio_problem(r, HTTP_UNAUTHORIZED, "no authenticated user");
        return DONE;
    }
    if ((r->method_number == M_POST || r->method_number == M_DELETE)
        && !same_origin(r, &why)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, APR_EACCES, r, BULKIO_LOGNO(1402)
                      "cross-origin %s refused: %s", r->method, why);
        mod_bulkio_problem(r, HTTP_FORBIDDEN, apr_pstrcat(
                           r->pool, "cross-origin request refused: ", why,
                           NULL));
        return DONE;
    }
    req->principal = r->user;
    return OK;
}

int mod_bulkio_authenticate(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    const char *hdr = apr_table_get(r->headers_in, "Authorization");
    bulkio_jwt_rules_t rules;
    bulkio_jwt_claims_t claims;
    bulkio_jwt_result_e rc;
    const char *token;
    apr_size_t n;

    if (req->cfg->auth == MOD_BULKIO_AUTH_HTTPD) {
        return authenticate_httpd(req);
    }
    if (!hdr) {
        return unauthorized(r, "an Authorization header is required: "
                            "\"Bearer <token>\" or \"Token <token>\"", 0);
    }
    n = strcspn(hdr, " ");
    if (!((n == 6 && !strncasecmp(hdr, "Bearer", 6))
          || (n == 5 && !strncasecmp(hdr, "Token", 5)))) {
        return unauthorized(r, "the Authorization scheme must be Bearer "
                            "or Token", 0);
    }
    token = hdr + n;
    while (*token == ' ') {
        ++token;
    }
    if (!req->cfg->jwt_secret) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_EINVAL, r, BULKIO_LOGNO(3)
                      "BulkIOJWTSecret is not set: every token is refused");
        return unauthorized(r, "token verification is not configured", 1);
    }
    rules.require_exp = req->cfg->jwt_require_exp;
    rules.audience = req->cfg->jwt_audience;
    rules.issuer = req->cfg->jwt_issuer;
    rc = bulkio_jwt_verify_rules(r->pool, token,
                                 (const unsigned char *)req->cfg->jwt_secret,
                                 strlen(req->cfg->jwt_secret), apr_time_now(),
                                 &rules, &claims);
    if (rc != BULKIO_JWT_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, APR_EACCES, r, BULKIO_LOGNO(4)
                      "token refused: %s", bulkio_jwt_strerror(rc));
        return unauthorized(r, apr_pstrcat(r->pool, "invalid token: ",
                                           bulkio_jwt_strerror(rc), NULL), 1);
    }
    req->principal = r->user = (char *)claims.sub;
    req->scope = claims.scope;
    r->ap_auth_type = "Bearer";
    return OK;
}

const char *mod_bulkio_missing_scope(mod_bulkio_req_t *req,
                                     const char *scope)
{
    if (!req->cfg->require_scopes || req->cfg->auth != MOD_BULKIO_AUTH_JWT
        || bulkio_jwt_has_scope(req->scope, scope)) {
        return NULL;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, APR_EACCES, req->r,
                  BULKIO_LOGNO(1850) "%s refused: the token of %s lacks the "
                  "scope %s", req->r->method, req->principal, scope);
    return apr_pstrcat(req->r->pool, "the token lacks the scope ", scope,
                       " (BulkIORequireScopes is on)", NULL);
}

int mod_bulkio_method_not_allowed(request_rec *r, const char *allow)
{
    apr_table_setn(r->err_headers_out, "Allow", allow);
    return mod_bulkio_problem(r, HTTP_METHOD_NOT_ALLOWED,
                              apr_pstrcat(r->pool, "allowed methods: ",
                                          allow, NULL));
}

void mod_bulkio_note_job(request_rec *r, const char *job_id)
{
    apr_table_setn(r->notes, "bulkio-job-id", job_id);
    apr_table_setn(r->subprocess_env, "BULKIO_JOB_ID", job_id);
}

PGconn *mod_bulkio_job_conn(mod_bulkio_req_t *req, const char *job_id)
{
    PGconn *conn;
    char *id;

    if (!bulkio_is_uuid(job_id)) {
        mod_bulkio_problem(req->r, HTTP_NOT_FOUND, "no such job");
        return NULL;
    }
    /* logged with whatever answer follows (404, 409, 503 too) */
    id = apr_pstrdup(req->r->pool, job_id);
    ap_str_tolower(id);
    mod_bulkio_note_job(req->r, id);
    if (!(conn = mod_bulkio_db(req->r))) {
        mod_bulkio_db_unavailable(req->r);
    }
    return conn;
}

int mod_bulkio_job_get(mod_bulkio_req_t *req, PGconn *conn, const char *kind,
                       const char *job_id, bulkio_job_t **pjob)
{
    request_rec *r = req->r;
    apr_status_t rv;

    rv = bulkio_store_job_get(r->pool, conn, kind, req->principal, job_id,
                              pjob);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such job");
        return DONE;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, BULKIO_LOGNO(15)
                      "cannot read job %s: %s", job_id,
                      bulkio_pq_error(r->pool, conn));
        mod_bulkio_db_unavailable(r);
        return DONE;
    }
    mod_bulkio_note_job(r, (*pjob)->job_id);
    return OK;
}
