/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include "bulkio_record.h"

static const char *const bulkio_errtype_names[] = {
    NULL,
    "PARSE_ERROR",
    "VALIDATION_ERROR",
    "FOREIGN_KEY_ERROR",
    "DUPLICATE_ERROR"
};

static const char *const bulkio_resource_names[] = {
    "users",
    "articles",
    "comments"
};

#define BULKIO_NELTS(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *bulkio_errtype_name(bulkio_errtype_e type)
{
    if ((int)type < 0 || (int)type >= BULKIO_NELTS(bulkio_errtype_names)) {
        return NULL;
    }
    return bulkio_errtype_names[type];
}

int bulkio_resource_from_name(const char *name)
{
    int i;

    if (!name) {
        return -1;
    }
    for (i = 0; i < BULKIO_NELTS(bulkio_resource_names); ++i) {
        if (!strcmp(name, bulkio_resource_names[i])) {
            return i;
        }
    }
    return -1;
}

const char *bulkio_resource_name(bulkio_resource_e res)
{
    if ((int)res < 0 || (int)res >= BULKIO_NELTS(bulkio_resource_names)) {
        return NULL;
    }
    return bulkio_resource_names[res];
}
