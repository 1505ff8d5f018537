/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * GET /openapi.yaml: the document itself, so that clients and the console
 * can read it from the server they talk to.
 */

#include <httpd.h>
#include <http_protocol.h>

#include "mod_bulkio_openapi.h"

int mod_bulkio_openapi(mod_bulkio_req_t *req)
{
    request_rec *r = req->r;

    ap_set_content_type(r, "application/yaml");
    ap_set_content_length(r, (apr_off_t)bulkio_openapi_yaml_len);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if (!r->header_only) {
        ap_rwrite(bulkio_openapi_yaml, (int)bulkio_openapi_yaml_len, r);
    }
    return OK;
}
