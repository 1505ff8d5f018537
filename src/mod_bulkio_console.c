/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The web console: static files embedded in the module at build time
 * (scripts/embed-console.py), served under <Location>/console/ with a
 * strict Content-Security-Policy. The page talks only to the public API.
 */

#include <apr_strings.h>

#include <httpd.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mod_bulkio_console.h"

static const mod_bulkio_console_file_t *find_file(const char *name)
{
    const mod_bulkio_console_file_t *f;

    for (f = mod_bulkio_console_files; f->name; ++f) {
        if (!strcmp(f->name, name)) {
            return f;
        }
    }
    return NULL;
}

static void security_headers(request_rec *r)
{
    apr_table_t *h = r->err_headers_out;

    apr_table_setn(h, "Content-Security-Policy",
                   "default-src 'self'; frame-ancestors 'none'");
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "Referrer-Policy", "no-referrer");
}

int mod_bulkio_console(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;
    const mod_bulkio_console_file_t *f;
    int rc;

    security_headers(r);
    if (!req->id) {
        /* relative links in the page need the trailing slash */
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, r->uri, "/", NULL));
        return mod_bulkio_problem(r, HTTP_MOVED_PERMANENTLY,
                                  "the console is at its path with a "
                                  "trailing slash");
    }
    f = find_file(*req->id ? req->id : "index.html");
    if (!f) {
        return mod_bulkio_problem(r, HTTP_NOT_FOUND, "no such console file");
    }
    ap_set_content_type(r, f->content_type);
    apr_table_setn(r->headers_out, "ETag", f->etag);
    /* the files change with the module: revalidate, 304 when unchanged */
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if ((rc = ap_meets_conditions(r)) != OK) {
        return rc == HTTP_NOT_MODIFIED ? rc : mod_bulkio_problem(r, rc, NULL);
    }
    ap_set_content_length(r, (apr_off_t)f->len);
    if (!r->header_only) {
        ap_rwrite(f->data, (int)f->len, r);
    }
    return OK;
}
