/* libFuzzer target: the HS256 JWT verifier.
 *
 * Each input is tried three ways, all with the same key and clock:
 * - as a token, verbatim;
 * - when it holds a line feed, as a header JSON and a payload JSON that
 *   are encoded and signed here, so that the claims checks behind the
 *   signature are reached;
 * - as a subject for bulkio_jwt_sign(), whose token must verify back to
 *   the same subject. */

#include <stdio.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bulkio_jwt.h"
#include "fuzz_common.h"

static const unsigned char key[] = "fuzz-secret-0123456789abcdef0123";
#define KEY_LEN (sizeof(key) - 1)
/* 2026-01-01T00:00:00Z */
#define NOW ((apr_time_t)1767225600 * APR_USEC_PER_SEC)

static char *b64url(apr_pool_t *p, const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1), *o = out;
    size_t i;
    unsigned long v;

    for (i = 0; i + 2 < len; i += 3) {
        v = ((unsigned long)in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (len - i == 1) {
        v = (unsigned long)in[i] << 16;
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
    }
    else if (len - i == 2) {
        v = ((unsigned long)in[i] << 16) | (in[i + 1] << 8);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
    }
    *o = '\0';
    return out;
}

static void check_result(bulkio_jwt_result_e rc, const char *sub)
{
    const unsigned char *s;

    FUZZ_CHECK(rc >= BULKIO_JWT_OK && rc <= BULKIO_JWT_NO_SUBJECT);
    FUZZ_CHECK(bulkio_jwt_strerror(rc) != NULL);
    if (rc != BULKIO_JWT_OK) {
        FUZZ_CHECK(sub == NULL);
        return;
    }
    FUZZ_CHECK(sub && *sub && strlen(sub) <= BULKIO_JWT_MAX_SUB);
    for (s = (const unsigned char *)sub; *s; s++) {
        FUZZ_CHECK(*s >= 0x20 && *s != 0x7f);
    }
}

/* A printable ASCII string of 1 to BULKIO_JWT_MAX_SUB bytes: a subject
 * that must survive signing and verifying. */
static int plain_subject(const char *s, size_t len)
{
    size_t i;

    if (len < 1 || len > BULKIO_JWT_MAX_SUB) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    apr_pool_t *p;
    const char *in, *nl, *sub, *tok, *input;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    bulkio_jwt_result_e rc;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    in = apr_pstrmemdup(p, (const char *)data, len);

    /* verbatim */
    rc = bulkio_jwt_verify(p, in, key, KEY_LEN, NOW, &sub);
    check_result(rc, sub);
    rc = bulkio_jwt_verify(p, in, key, KEY_LEN, NOW, NULL);

    /* header and payload, signed here */
    if ((nl = memchr(in, '\n', len)) != NULL) {
        input = apr_pstrcat(p,
                            b64url(p, (const unsigned char *)in,
                                   (size_t)(nl - in)), ".",
                            b64url(p, (const unsigned char *)nl + 1,
                                   len - (size_t)(nl - in) - 1), NULL);
        FUZZ_CHECK(HMAC(EVP_sha256(), key, (int)KEY_LEN,
                        (const unsigned char *)input, strlen(input), mac,
                        &mac_len) != NULL);
        tok = apr_pstrcat(p, input, ".", b64url(p, mac, mac_len), NULL);
        rc = bulkio_jwt_verify(p, tok, key, KEY_LEN, NOW, &sub);
        check_result(rc, sub);
        FUZZ_CHECK(rc != BULKIO_JWT_BAD_SIGNATURE
                   || strlen(tok) > BULKIO_JWT_MAX_LEN);
        /* the same token under another key */
        rc = bulkio_jwt_verify(p, tok, (const unsigned char *)"x", 1, NOW,
                               &sub);
        FUZZ_CHECK(rc != BULKIO_JWT_OK);
    }

    /* sign and verify */
    if (len <= 2 * BULKIO_JWT_MAX_SUB) {
        tok = bulkio_jwt_sign(p, in, 0, key, KEY_LEN);
        FUZZ_CHECK(tok != NULL);
        rc = bulkio_jwt_verify(p, tok, key, KEY_LEN, NOW, &sub);
        check_result(rc, sub);
        if (rc == BULKIO_JWT_OK) {
            FUZZ_CHECK(strcmp(sub, in) == 0);
        }
        FUZZ_CHECK(!plain_subject(in, len) || rc == BULKIO_JWT_OK);
        tok = bulkio_jwt_sign(p, in, 1, key, KEY_LEN);
        rc = bulkio_jwt_verify(p, tok, key, KEY_LEN, NOW, &sub);
        FUZZ_CHECK(rc == BULKIO_JWT_EXPIRED || rc == BULKIO_JWT_MALFORMED);
    }
    apr_pool_destroy(p);
    return 0;
}
