/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/* What every cmocka test of the core shares: cmocka's includes, a fresh
 * APR pool for each test (its state), and a run of the tests inside an
 * initialized APR. */

#ifndef BULKIO_TEST_COMMON_H
#define BULKIO_TEST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>

static inline int bulkio_test_setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static inline int bulkio_test_teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

/* A test that finds its pool in *state. */
#define BULKIO_TEST(fn) \
    cmocka_unit_test_setup_teardown(fn, bulkio_test_setup, \
                                    bulkio_test_teardown)

static inline int bulkio_test_run(const char *name,
                                  const struct CMUnitTest *tests, size_t n)
{
    int rc;

    if (apr_initialize() != APR_SUCCESS) {
        return 1;
    }
    rc = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
    apr_terminate();
    return rc;
}

/* main()'s whole body: run the array of tests. */
#define BULKIO_RUN_TESTS(tests) \
    bulkio_test_run(#tests, tests, sizeof(tests) / sizeof((tests)[0]))

#endif /* BULKIO_TEST_COMMON_H */
