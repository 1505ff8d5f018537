/* Shared by the libFuzzer targets in t/fuzz: APR set-up, a digest for
 * comparing two runs, and chunk sizes derived from the input so that the
 * streaming parsers see the same bytes cut in different places. */

#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

/* A crash that libFuzzer reports with the input that caused it. */
#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
                    __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

static apr_pool_t *fuzz_root;

static inline void fuzz_init(void)
{
    if (!fuzz_root) {
        apr_initialize();
        apr_pool_create(&fuzz_root, NULL);
    }
}

/* FNV-1a, 64 bits. */
static inline uint64_t fuzz_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *d = data;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= d[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FUZZ_HASH_INIT 0xcbf29ce484222325ULL

static inline uint64_t fuzz_hash_str(uint64_t h, const char *s)
{
    /* NULL and "" differ; the length separates neighbouring strings */
    uint64_t len = s ? strlen(s) : UINT64_MAX;

    h = fuzz_hash(h, &len, sizeof(len));
    return s ? fuzz_hash(h, s, strlen(s)) : h;
}

/*
 * Chunk sizes for one run, from a generator seeded by the input's hash:
 * mode 0 hands out everything at once, 1 single bytes, 2 to 4 ever larger
 * random sizes (1-3, 1-16, 1-512 bytes).
 */
typedef struct {
    uint64_t state;
    int mode;
} fuzz_split_t;

static inline void fuzz_split_init(fuzz_split_t *s, const uint8_t *data,
                                   size_t len, int mode)
{
    s->state = fuzz_hash(FUZZ_HASH_INIT, data, len) | 1;
    s->mode = mode;
}

/* The mode a split run uses for this input (never 0, the reference). */
static inline int fuzz_split_mode(const uint8_t *data, size_t len)
{
    return 1 + (int)(fuzz_hash(FUZZ_HASH_INIT ^ 0x5a5a, data, len) % 4);
}

static inline size_t fuzz_split_next(fuzz_split_t *s)
{
    static const size_t most[] = { 0, 1, 3, 16, 512 };

    if (s->mode == 0) {
        return SIZE_MAX;
    }
    s->state ^= s->state << 13;
    s->state ^= s->state >> 7;
    s->state ^= s->state << 17;
    return 1 + (size_t)(s->state % most[s->mode]);
}

#endif /* FUZZ_COMMON_H */
