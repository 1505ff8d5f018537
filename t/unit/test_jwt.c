/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test_common.h"
#include "bulkio_jwt.h"

#define NOW_SEC 1700000000
#define NOW apr_time_from_sec(NOW_SEC)
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static const unsigned char secret[] = "unit-test secret, 32 bytes long!";
#define SECRET_LEN (sizeof(secret) - 1)

/* The test's own unpadded base64url encoder. */
static char *b64(apr_pool_t *p, const void *data, size_t len)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *in = data;
    char *out = apr_palloc(p, len / 3 * 4 + 5), *o = out;
    size_t i;

    for (i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;

        if (i + 1 < len) {
            v |= (unsigned long)in[i + 1] << 8;
        }
        if (i + 2 < len) {
            v |= in[i + 2];
        }
        *o++ = abc[(v >> 18) & 63];
        *o++ = abc[(v >> 12) & 63];
        if (i + 1 < len) {
            *o++ = abc[(v >> 6) & 63];
        }
        if (i + 2 < len) {
            *o++ = abc[v & 63];
        }
    }
    *o = '\0';
    return out;
}

static char *b64s(apr_pool_t *p, const char *s)
{
    return b64(p, s, strlen(s));
}

/* hdr.payload (already encoded), signed with HMAC over md. */
static char *sign_parts(apr_pool_t *p, const char *hdr, const char *payload,
                        const EVP_MD *md, const unsigned char *key,
                        size_t key_len)
{
    char *input = apr_pstrcat(p, hdr, ".", payload, NULL);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;

    assert_non_null(HMAC(md, key, (int)key_len, (unsigned char *)input,
                         strlen(input), mac, &mac_len));
    return apr_pstrcat(p, input, ".", b64(p, mac, mac_len), NULL);
}

/* An HS256 token with the test secret from header and payload JSON. */
static char *token(apr_pool_t *p, const char *hdr, const char *payload)
{
    return sign_parts(p, b64s(p, hdr), b64s(p, payload), EVP_sha256(),
                      secret, SECRET_LEN);
}

/* Verify at NOW with the test secret, expecting rc; returns the subject. */
static const char *expect(apr_pool_t *p, const char *tok,
                          bulkio_jwt_result_e rc)
{
    const char *sub = "unset";

    assert_int_equal(bulkio_jwt_verify(p, tok, secret, SECRET_LEN, NOW, &sub),
                     rc);
    if (rc == BULKIO_JWT_OK) {
        assert_non_null(sub);
    }
    else {
        assert_null(sub);
    }
    return sub;
}

static const char *payload_exp(apr_pool_t *p, apr_int64_t exp)
{
    return apr_psprintf(p, "{\"sub\":\"alice\",\"exp\":%" APR_INT64_T_FMT "}",
                        exp);
}

static void test_valid(void **state)
{
    apr_pool_t *p = *state;
    const char *payload = apr_psprintf(p, "{\"sub\":\"alice\",\"iat\":%d,"
                                       "\"nbf\":%d,\"exp\":%d}",
                                       NOW_SEC - 5, NOW_SEC - 5, NOW_SEC + 60);

    assert_string_equal(expect(p, token(p, HS256, payload), BULKIO_JWT_OK),
                        "alice");
    assert_string_equal(expect(p, token(p, "{\"alg\":\"HS256\"}",
                                        "{\"sub\":\"bob\"}"), BULKIO_JWT_OK),
                        "bob");
    /* psub may be NULL */
    assert_int_equal(bulkio_jwt_verify(p, token(p, HS256, payload), secret,
                                       SECRET_LEN, NOW, NULL),
                     BULKIO_JWT_OK);
}

static void test_alg_none(void **state)
{
    apr_pool_t *p = *state;
    const char *hdr = b64s(p, "{\"alg\":\"none\",\"typ\":\"JWT\"}");
    const char *tok = apr_pstrcat(p, hdr, ".", b64s(p, "{\"sub\":\"admin\"}"),
                                  ".", NULL);

    expect(p, tok, BULKIO_JWT_BAD_ALG);
    expect(p, token(p, "{\"alg\":\"none\"}", "{\"sub\":\"admin\"}"),
           BULKIO_JWT_BAD_ALG);
}

static void test_alg_hs512(void **state)
{
    apr_pool_t *p = *state;
    const char *tok = sign_parts(p, b64s(p, "{\"alg\":\"HS512\"}"),
                                 b64s(p, "{\"sub\":\"alice\"}"), EVP_sha512(),
                                 secret, SECRET_LEN);

    expect(p, tok, BULKIO_JWT_BAD_ALG);
    expect(p, token(p, "{\"alg\":\"RS256\"}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_BAD_ALG);
}

static void test_alg_missing(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, "{\"typ\":\"JWT\"}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_BAD_ALG);
    expect(p, token(p, "{}", "{\"sub\":\"alice\"}"), BULKIO_JWT_BAD_ALG);
    expect(p, token(p, "{\"alg\":null}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_BAD_ALG);
    expect(p, token(p, "{\"alg\":256}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_BAD_ALG);
}

static void test_alg_lowercase(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, "{\"alg\":\"hs256\"}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_BAD_ALG);
    expect(p, token(p, "{\"alg\":\"HS256 \"}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_BAD_ALG);
    expect(p, token(p, "{\"alg\":\"HS256\\u0000\"}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_BAD_ALG);
}

static void test_crit_header(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, "{\"alg\":\"HS256\",\"crit\":[\"x\"],\"x\":1}",
                    "{\"sub\":\"alice\"}"), BULKIO_JWT_MALFORMED);
}

static void test_tampered_payload(void **state)
{
    apr_pool_t *p = *state;
    char *good = token(p, HS256, "{\"sub\":\"alice\"}");
    const char *sig = strrchr(good, '.');
    const char *forged = apr_pstrcat(p, b64s(p, HS256), ".",
                                     b64s(p, "{\"sub\":\"admin\"}"), sig, NULL);

    expect(p, good, BULKIO_JWT_OK);
    expect(p, forged, BULKIO_JWT_BAD_SIGNATURE);
}

static void test_tampered_signature(void **state)
{
    apr_pool_t *p = *state;
    char *tok = token(p, HS256, "{\"sub\":\"alice\"}");
    char *sig = strrchr(tok, '.') + 1;

    assert_int_equal(strlen(sig), 43);
    sig[0] = (char)(sig[0] == 'A' ? 'B' : 'A');
    expect(p, tok, BULKIO_JWT_BAD_SIGNATURE);
}

static void test_non_canonical_signature(void **state)
{
    apr_pool_t *p = *state;
    char *tok = token(p, HS256, "{\"sub\":\"alice\"}");
    char *last = tok + strlen(tok) - 1;
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /* same 32 bytes, but the 2 unused bits of the last character set */
    *last = abc[(strchr(abc, *last) - abc) | 1];
    expect(p, tok, BULKIO_JWT_MALFORMED);
}

static void test_truncated(void **state)
{
    apr_pool_t *p = *state;
    char *tok = token(p, HS256, "{\"sub\":\"alice\"}");
    size_t len = strlen(tok);

    /* signature of 30 bytes */
    expect(p, apr_pstrndup(p, tok, len - 3), BULKIO_JWT_BAD_SIGNATURE);
    /* empty signature */
    expect(p, apr_pstrndup(p, tok, strrchr(tok, '.') - tok + 1),
           BULKIO_JWT_BAD_SIGNATURE);
    /* cut inside the payload */
    expect(p, apr_pstrndup(p, tok, strchr(tok, '.') - tok + 5),
           BULKIO_JWT_MALFORMED);
    expect(p, "", BULKIO_JWT_MALFORMED);
    expect(p, NULL, BULKIO_JWT_MALFORMED);
}

static void test_two_parts(void **state)
{
    apr_pool_t *p = *state;
    char *tok = token(p, HS256, "{\"sub\":\"alice\"}");

    *strrchr(tok, '.') = '\0';
    expect(p, tok, BULKIO_JWT_MALFORMED);
    expect(p, "..", BULKIO_JWT_MALFORMED);
}

static void test_four_parts(void **state)
{
    apr_pool_t *p = *state;
    char *tok = token(p, HS256, "{\"sub\":\"alice\"}");

    expect(p, apr_pstrcat(p, tok, ".", NULL), BULKIO_JWT_MALFORMED);
    expect(p, apr_pstrcat(p, tok, ".AAAA", NULL), BULKIO_JWT_MALFORMED);
}

static void test_padding(void **state)
{
    apr_pool_t *p = *state;
    /* 28 bytes: standard base64 would end in "==" */
    const char *hdr = "{\"alg\":\"HS256\", \"typ\":\"JWT\"}";
    char *tok = token(p, HS256, "{\"sub\":\"alice\"}");

    assert_int_equal(strlen(hdr) % 3, 1);
    expect(p, token(p, hdr, "{\"sub\":\"alice\"}"), BULKIO_JWT_OK);
    expect(p, sign_parts(p, apr_pstrcat(p, b64s(p, hdr), "==", NULL),
                         b64s(p, "{\"sub\":\"alice\"}"), EVP_sha256(),
                         secret, SECRET_LEN),
           BULKIO_JWT_MALFORMED);
    expect(p, apr_pstrcat(p, tok, "=", NULL), BULKIO_JWT_MALFORMED);
}

static void test_invalid_chars(void **state)
{
    apr_pool_t *p = *state;
    const char *hdr = b64s(p, HS256);
    char *payload = b64s(p, "{\"sub\":\"alice\"}");
    char *tok;
    const char *bad[] = { "+", "/", "*", " ", "\xc3", "%" };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        /* properly signed, so only the decoding can object */
        payload[4] = bad[i][0];
        expect(p, sign_parts(p, hdr, payload, EVP_sha256(), secret,
                             SECRET_LEN), BULKIO_JWT_MALFORMED);
        tok = token(p, HS256, "{\"sub\":\"alice\"}");
        strrchr(tok, '.')[3] = bad[i][0];
        expect(p, tok, BULKIO_JWT_MALFORMED);
        tok = token(p, HS256, "{\"sub\":\"alice\"}");
        tok[2] = bad[i][0];
        expect(p, tok, BULKIO_JWT_MALFORMED);
    }
}

static void test_header_not_object(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, "\"HS256\"", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, "[{\"alg\":\"HS256\"}]", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, "{\"alg\":\"HS256\"", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, "{'alg':'HS256'}", "{\"sub\":\"alice\"}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, "", "{\"sub\":\"alice\"}"), BULKIO_JWT_MALFORMED);
}

static void test_payload_array(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, HS256, "[\"alice\"]"), BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\"} {}"), BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, "{\"sub\":\"\xff\"}"), BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, ""), BULKIO_JWT_MALFORMED);
}

static void test_payload_embedded_nul(void **state)
{
    apr_pool_t *p = *state;
    static const char payload[] = "{\"sub\":\"alice\"}\0{\"sub\":\"bob\"}";

    expect(p, sign_parts(p, b64s(p, HS256),
                         b64(p, payload, sizeof(payload) - 1), EVP_sha256(),
                         secret, SECRET_LEN), BULKIO_JWT_MALFORMED);
}

static void test_expired(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, HS256, payload_exp(p, NOW_SEC - 1)),
           BULKIO_JWT_EXPIRED);
    expect(p, token(p, HS256, payload_exp(p, NOW_SEC)), BULKIO_JWT_EXPIRED);
    expect(p, token(p, HS256, payload_exp(p, NOW_SEC + 1)), BULKIO_JWT_OK);
    expect(p, token(p, HS256, payload_exp(p, APR_INT64_MIN)),
           BULKIO_JWT_EXPIRED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"exp\":1e3}"),
           BULKIO_JWT_EXPIRED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"exp\":1700000000.5}"),
           BULKIO_JWT_OK);
    assert_int_equal(bulkio_jwt_verify(p, token(p, HS256,
                         "{\"sub\":\"alice\",\"exp\":1700000000.5}"),
                         secret, SECRET_LEN, NOW + 600000, NULL),
                     BULKIO_JWT_EXPIRED);
    /* a tick past exp, even within the same second */
    assert_int_equal(bulkio_jwt_verify(p, token(p, HS256,
                         payload_exp(p, NOW_SEC + 1)), secret, SECRET_LEN,
                         NOW + 999999, NULL),
                     BULKIO_JWT_OK);
    assert_int_equal(bulkio_jwt_verify(p, token(p, HS256,
                         payload_exp(p, NOW_SEC + 1)), secret, SECRET_LEN,
                         NOW + 1000000, NULL),
                     BULKIO_JWT_EXPIRED);
}

static void test_exp_not_number(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"exp\":\"9999999999\"}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"exp\":null}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"exp\":true}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"exp\":NaN}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"exp\":1e999}"),
           BULKIO_JWT_MALFORMED);
    expect(p, token(p, HS256, "{\"sub\":\"alice\",\"nbf\":\"0\"}"),
           BULKIO_JWT_MALFORMED);
}

static void test_nbf_future(void **state)
{
    apr_pool_t *p = *state;

    expect(p, token(p, HS256, apr_psprintf(p, "{\"sub\":\"alice\",\"nbf\":%d}",
                                           NOW_SEC + 10)),
           BULKIO_JWT_NOT_YET_VALID);
    expect(p, token(p, HS256, apr_psprintf(p, "{\"sub\":\"alice\",\"nbf\":%d}",
                                           NOW_SEC + 1)),
           BULKIO_JWT_NOT_YET_VALID);
    expect(p, token(p, HS256, apr_psprintf(p, "{\"sub\":\"alice\",\"nbf\":%d}",
                                           NOW_SEC)),
           BULKIO_JWT_OK);
}

static void test_bad_subject(void **state)
{
    apr_pool_t *p = *state;
    char long_sub[300];
    const char *bad[] = {
        "{}",
        "{\"exp\":2000000000}",
        "{\"sub\":42}",
        "{\"sub\":null}",
        "{\"sub\":[\"alice\"]}",
        "{\"sub\":\"\"}",
        "{\"sub\":\"ali\\u0000ce\"}",
        "{\"sub\":\"alice\\n\"}",
        "{\"sub\":\"al\\u007fice\"}",
        "{\"sub\":\"al\\u0085ice\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        expect(p, token(p, HS256, bad[i]), BULKIO_JWT_NO_SUBJECT);
    }
    memset(long_sub, 'x', sizeof(long_sub));
    long_sub[255] = '\0';
    assert_int_equal(strlen(expect(p, token(p, HS256,
                         apr_psprintf(p, "{\"sub\":\"%s\"}", long_sub)),
                         BULKIO_JWT_OK)), 255);
    long_sub[255] = 'x';
    long_sub[256] = '\0';
    expect(p, token(p, HS256, apr_psprintf(p, "{\"sub\":\"%s\"}", long_sub)),
           BULKIO_JWT_NO_SUBJECT);
    assert_string_equal(expect(p, token(p, HS256,
                                        "{\"sub\":\"Zo\\u00eb\"}"),
                               BULKIO_JWT_OK), "Zo\xc3\xab");
}

static void test_too_long(void **state)
{
    apr_pool_t *p = *state;
    char *pad = apr_palloc(p, 9001);
    char *tok;
    size_t n;

    memset(pad, 'x', 9000);
    pad[9000] = '\0';
    tok = token(p, HS256, apr_psprintf(p, "{\"sub\":\"alice\",\"pad\":\"%s\"}",
                                       pad));
    assert_true(strlen(tok) > 9000);
    expect(p, tok, BULKIO_JWT_MALFORMED);

    /* the largest tokens that fit are accepted */
    for (n = 6000; ; ++n) {
        pad[n] = '\0';
        tok = token(p, HS256,
                    apr_psprintf(p, "{\"sub\":\"alice\",\"pad\":\"%s\"}", pad));
        pad[n] = 'x';
        if (strlen(tok) >= BULKIO_JWT_MAX_LEN - 1) {
            break;
        }
    }
    assert_true(strlen(tok) <= BULKIO_JWT_MAX_LEN);
    expect(p, tok, BULKIO_JWT_OK);
    pad[n + 3] = '\0';
    expect(p, token(p, HS256,
                    apr_psprintf(p, "{\"sub\":\"alice\",\"pad\":\"%s\"}", pad)),
           BULKIO_JWT_MALFORMED);
}

static void test_wrong_secret(void **state)
{
    apr_pool_t *p = *state;
    static const unsigned char other[] = "unit-test secret, 32 bytes long?";
    const char *tok = token(p, HS256, "{\"sub\":\"alice\"}");
    const char *sub = "unset";

    assert_int_equal(bulkio_jwt_verify(p, tok, other, sizeof(other) - 1, NOW,
                                       &sub), BULKIO_JWT_BAD_SIGNATURE);
    assert_null(sub);
    assert_int_equal(bulkio_jwt_verify(p, tok, secret, SECRET_LEN - 1, NOW,
                                       NULL), BULKIO_JWT_BAD_SIGNATURE);
    assert_int_equal(bulkio_jwt_verify(p, tok, secret, 0, NOW, NULL),
                     BULKIO_JWT_BAD_SIGNATURE);
    assert_int_equal(bulkio_jwt_verify(p, tok, NULL, 0, NOW, NULL),
                     BULKIO_JWT_BAD_SIGNATURE);
}

static void test_round_trip(void **state)
{
    apr_pool_t *p = *state;
    const char *subs[] = { "alice", "Zo\xc3\xab \"quoted\" a/b\\c", "x" };
    const char *tok, *sub;
    size_t i;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); ++i) {
        tok = bulkio_jwt_sign(p, subs[i], NOW_SEC + 3600, secret, SECRET_LEN);
        assert_non_null(tok);
        assert_int_equal(strncmp(tok, b64s(p, HS256), strlen(b64s(p, HS256))),
                         0);
        assert_string_equal(expect(p, tok, BULKIO_JWT_OK), subs[i]);
    }
    tok = bulkio_jwt_sign(p, "bob", 0, secret, SECRET_LEN);
    assert_string_equal(expect(p, tok, BULKIO_JWT_OK), "bob");
    tok = bulkio_jwt_sign(p, "bob", NOW_SEC, secret, SECRET_LEN);
    expect(p, tok, BULKIO_JWT_EXPIRED);
    assert_int_equal(bulkio_jwt_verify(p, tok, secret, SECRET_LEN,
                                       NOW - 1, &sub), BULKIO_JWT_OK);
    assert_null(bulkio_jwt_sign(p, NULL, 0, secret, SECRET_LEN));
    assert_null(bulkio_jwt_sign(p, "bob", 0, secret, 0));
    assert_null(bulkio_jwt_sign(p, "bob", 0, NULL, 0));
}

static void test_strerror(void **state)
{
    const char *msg;
    int i, j;

    (void)state;
    assert_string_equal(bulkio_jwt_strerror(BULKIO_JWT_EXPIRED),
                        "token expired");
    for (i = BULKIO_JWT_OK; i <= BULKIO_JWT_NO_SUBJECT; ++i) {
        msg = bulkio_jwt_strerror((bulkio_jwt_result_e)i);
        assert_true(*msg);
        for (j = 0; j < i; ++j) {
            assert_string_not_equal(
                msg, bulkio_jwt_strerror((bulkio_jwt_result_e)j));
        }
    }
    assert_non_null(bulkio_jwt_strerror((bulkio_jwt_result_e)99));
}

/* BulkIOJWTRequireExp, BulkIOJWTAudience, BulkIOJWTIssuer and the scope
 * claim through bulkio_jwt_verify_rules(). */
static void test_rules(void **state)
{
    apr_pool_t *p = *state;
    bulkio_jwt_rules_t rules = { 1, "https://bulk.test", "https://iss.test" };
    bulkio_jwt_rules_t none = { 0, NULL, NULL };
    bulkio_jwt_claims_t c;
    const char *exp = "\"exp\":1700003600";

#define RULES(r, pl) bulkio_jwt_verify_rules(p, token(p, HS256, pl), secret, \
                                             SECRET_LEN, NOW, r, &c)
    assert_int_equal(RULES(&rules, apr_pstrcat(p, "{\"sub\":\"a\",", exp,
                     ",\"aud\":\"https://bulk.test\",\"iss\":"
                     "\"https://iss.test\",\"scope\":\"x bulkio:export\"}",
                     NULL)), BULKIO_JWT_OK);
    assert_string_equal(c.sub, "a");
    assert_string_equal(c.scope, "x bulkio:export");
    /* no exp */
    assert_int_equal(RULES(&rules, "{\"sub\":\"a\",\"aud\":\"https://bulk.test\","
                           "\"iss\":\"https://iss.test\"}"),
                     BULKIO_JWT_NO_EXPIRY);
    assert_null(c.sub);
    assert_int_equal(RULES(&none, "{\"sub\":\"a\"}"), BULKIO_JWT_OK);
    assert_null(c.scope);
    /* aud: a string or an array holding it; iss: exactly */
    {
        static const struct {
            const char *claims;
            bulkio_jwt_result_e rc;
        } cases[] = {
            { "\"aud\":[\"x\",\"https://bulk.test\"],"
              "\"iss\":\"https://iss.test\"", BULKIO_JWT_OK },
            { "\"aud\":\"https://bulk.test.evil\",\"iss\":\"https://iss.test\"",
              BULKIO_JWT_BAD_AUDIENCE },
            { "\"aud\":[1,[\"https://bulk.test\"]],\"iss\":\"https://iss.test\"",
              BULKIO_JWT_BAD_AUDIENCE },
            { "\"iss\":\"https://iss.test\"", BULKIO_JWT_BAD_AUDIENCE },
            { "\"aud\":\"https://bulk.test\",\"iss\":\"https://iss.test/\"",
              BULKIO_JWT_BAD_ISSUER },
            { "\"aud\":\"https://bulk.test\"", BULKIO_JWT_BAD_ISSUER },
        };
        apr_size_t i;

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
            if (RULES(&rules, apr_pstrcat(p, "{\"sub\":\"a\",", exp, ",",
                                          cases[i].claims, "}", NULL))
                != cases[i].rc) {
                fail_msg("%s: not %d", cases[i].claims, (int)cases[i].rc);
            }
        }
    }
    /* a scope that is not a string */
    assert_int_equal(RULES(&none, "{\"sub\":\"a\",\"scope\":[\"bulkio:import\"]}"),
                     BULKIO_JWT_MALFORMED);
    /* an expired token is expired, whatever else */
    assert_int_equal(RULES(&rules, "{\"sub\":\"a\",\"exp\":1}"),
                     BULKIO_JWT_EXPIRED);
#undef RULES
}

static void test_has_scope(void **state)
{
    (void)state;
    assert_true(bulkio_jwt_has_scope("bulkio:import", "bulkio:import"));
    assert_true(bulkio_jwt_has_scope("  a  bulkio:import b", "bulkio:import"));
    assert_false(bulkio_jwt_has_scope("bulkio:imports", "bulkio:import"));
    assert_false(bulkio_jwt_has_scope("xbulkio:import", "bulkio:import"));
    assert_false(bulkio_jwt_has_scope("bulkio:impor", "bulkio:import"));
    assert_false(bulkio_jwt_has_scope("", "bulkio:import"));
    assert_false(bulkio_jwt_has_scope(NULL, "bulkio:import"));
    assert_false(bulkio_jwt_has_scope("a b", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BULKIO_TEST(test_valid),
        BULKIO_TEST(test_alg_none),
        BULKIO_TEST(test_alg_hs512),
        BULKIO_TEST(test_alg_missing),
        BULKIO_TEST(test_alg_lowercase),
        BULKIO_TEST(test_crit_header),
        BULKIO_TEST(test_tampered_payload),
        BULKIO_TEST(test_tampered_signature),
        BULKIO_TEST(test_non_canonical_signature),
        BULKIO_TEST(test_truncated),
        BULKIO_TEST(test_two_parts),
        BULKIO_TEST(test_four_parts),
        BULKIO_TEST(test_padding),
        BULKIO_TEST(test_invalid_chars),
        BULKIO_TEST(test_header_not_object),
        BULKIO_TEST(test_payload_array),
        BULKIO_TEST(test_payload_embedded_nul),
        BULKIO_TEST(test_expired),
        BULKIO_TEST(test_exp_not_number),
        BULKIO_TEST(test_nbf_future),
        BULKIO_TEST(test_bad_subject),
        BULKIO_TEST(test_too_long),
        BULKIO_TEST(test_wrong_secret),
        BULKIO_TEST(test_round_trip),
        BULKIO_TEST(test_strerror),
        BULKIO_TEST(test_rules),
        BULKIO_TEST(test_has_scope),
    };
    return BULKIO_RUN_TESTS(tests);
}
