/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_CONSOLE_H
#define MOD_BULKIO_CONSOLE_H

#include <httpd.h>

#include "mod_bulkio_http.h"

/** One file of the web console, embedded in the module at build time by
 * scripts/embed-console.py (build/console_files.c). */
typedef struct {
    const char *name;           /**< path below console/, e.g. "app.js" */
    const char *content_type;
    const char *etag;           /**< quoted, from the content's SHA-256 */
    const unsigned char *data;
    apr_size_t len;
} mod_bulkio_console_file_t;

/** The embedded files, ended by an entry whose name is NULL. */
extern const mod_bulkio_console_file_t mod_bulkio_console_files[];

/** GET or HEAD of the console: <mount>/console (req->id NULL: a redirect
 * to the trailing slash), <mount>/console/ (index.html) or
 * <mount>/console/{file}. Needs no token: the page's script sends it with
 * each API call.
 * @return OK: the response is written (or HTTP_NOT_MODIFIED) */
int mod_bulkio_console(mod_bulkio_req_t *req);

#endif /* MOD_BULKIO_CONSOLE_H */
