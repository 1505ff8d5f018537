/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_OPENAPI_H
#define MOD_BULKIO_OPENAPI_H

/* GET /openapi.yaml: the API's description, docs/openapi.yaml as it was
 * when the module was built (the Makefile embeds it: src/gen_openapi.c). */

#include "mod_bulkio_http.h"

/** The bytes of docs/openapi.yaml (NUL-terminated) and their count. */
extern const unsigned char bulkio_openapi_yaml[];
extern const unsigned long bulkio_openapi_yaml_len;

/** GET /openapi.yaml, no token. */
int mod_bulkio_openapi(mod_bulkio_req_t *req);

#endif /* MOD_BULKIO_OPENAPI_H */
