/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include "bulkio_record.h"

static const char *const bulkio_errtype_names[] = {
    NULL,
    "PARSE_ERROR",
    "VALIDATION_ERROR",
    "FOREIGN_KEY_ERROR",
    "DUPLICATE_ERROR",
    "NOT_FOUND_ERROR"
};

static const char *const bulkio_mode_names[] = {
    "upsert",
    "insert",
    "update",
    "replace",
    "delete"
};

static const char *const bulkio_resource_names[] = {
    "users",
    "articles",
    "comments"
};

#define BULKIO_NELTS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The index of name in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *name)
{
    int i;

    if (!name) {
        return -1;
    }
    for (i = 0; i < n; ++i) {
        if (!strcmp(name, names[i])) {
            return i;
        }
    }
    return -1;
}

/* names[i] of names[0..n), or NULL. */
static const char *name_at(const char *const *names, int n, int i)
{
    return i < 0 || i >= n ? NULL : names[i];
}

const char *bulkio_errtype_name(bulkio_errtype_e type)
{
    return name_at(bulkio_errtype_names, BULKIO_NELTS(bulkio_errtype_names),
                   (int)type);
}

int bulkio_resource_from_name(const char *name)
{
    return name_index(bulkio_resource_names,
                      BULKIO_NELTS(bulkio_resource_names), name);
}

const char *bulkio_resource_name(bulkio_resource_e res)
{
    return name_at(bulkio_resource_names,
                   BULKIO_NELTS(bulkio_resource_names), (int)res);
}

int bulkio_mode_from_name(const char *name)
{
    if (!name) {
        return BULKIO_MODE_UPSERT;
    }
    return name_index(bulkio_mode_names, BULKIO_NELTS(bulkio_mode_names),
                      name);
}

const char *bulkio_mode_name(bulkio_mode_e mode)
{
    return name_at(bulkio_mode_names, BULKIO_NELTS(bulkio_mode_names),
                   (int)mode);
}
