/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* Print the SELECT that GET /v1/exports?resource=NAME runs, so that the
 * benchmark's COPY TO baseline reads exactly the same columns and rows. */

#include <stdio.h>

#include <apr_general.h>
#include <apr_tables.h>

#include "bulkio_export.h"

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    apr_table_t *args;
    bulkio_export_t *exp;
    const char *err = NULL;
    const char *const *params;
    int n;

    if (argc != 2) {
        fprintf(stderr, "usage: %s users|articles|comments\n", argv[0]);
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    args = apr_table_make(p, 1);
    apr_table_set(args, "resource", argv[1]);
    if (bulkio_export_from_args(p, args, &exp, &err) != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err ? err : "bad resource");
        return 1;
    }
    puts(bulkio_export_sql(p, exp, &n, &params));
    apr_terminate();
    return 0;
}
