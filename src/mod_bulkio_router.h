/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_ROUTER_H
#define MOD_BULKIO_ROUTER_H

/*
 * The router: one declarative table of the API's routes (method, path
 * relative to the <Location> the handler is mounted at, handler, whether
 * it needs a token) and the dispatcher that reads it. Above the handler
 * files, below mod_bulkio.c.
 */

#include <httpd.h>
#include <http_config.h>

/** The "bulkio" handler: find the request's route, authenticate when the
 * route needs a token, call its handler; 404 for a path no route has,
 * 405 with Allow (from the table) for a method the path has not. */
int mod_bulkio_handler(request_rec *r);

/** map_to_storage, before httpd's own TRACE answer: TRACE to the API is
 * 405 (it would echo the request's Authorization header back). */
int mod_bulkio_refuse_trace(request_rec *r);

/** check_config: SetHandler bulkio in a <LocationMatch>, <Location ~ ...>
 * or wildcard <Location> of the configuration tree is refused.
 * @return NULL, or the message saying which section and where */
const char *mod_bulkio_router_check(apr_pool_t *p,
                                    const ap_directive_t *tree);

#endif /* MOD_BULKIO_ROUTER_H */
