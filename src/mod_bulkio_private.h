/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef MOD_BULKIO_PRIVATE_H
#define MOD_BULKIO_PRIVATE_H

#include <httpd.h>
#include <http_log.h>

extern module AP_MODULE_DECLARE_DATA bulkio_module;

APLOG_USE_MODULE(bulkio);

/** Tag for our log messages; httpd's AH numbers belong to httpd. */
#define BULKIO_LOGNO(n) "BULKIO" #n ": "

#endif /* MOD_BULKIO_PRIVATE_H */
