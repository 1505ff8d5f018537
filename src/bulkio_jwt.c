/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <limits.h>
#include <math.h>
#include <string.h>

#include <apr_strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "bulkio_jwt.h"

/* Nesting depth allowed in a token's header and payload. */
#define JWT_JSON_DEPTH 16

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, -1 when outside the alphabet. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

/*
 * Decode len characters of unpadded base64url into a NUL-terminated buffer
 * from p.  Padding, other characters, an impossible length and non-zero
 * unused bits in the last character are all refused, so every byte string
 * has exactly one accepted encoding.
 */
static apr_status_t b64url_decode(apr_pool_t *p, const char *s, apr_size_t len,
                                  unsigned char **pout, apr_size_t *pout_len)
{
    apr_size_t i, n = 0;
    apr_uint32_t acc = 0;
    unsigned char *out;
    int v;

    if (len % 4 == 1) {
        return APR_EINVAL;
    }
    out = apr_palloc(p, len / 4 * 3 + 3);
    for (i = 0; i < len; ++i) {
        if ((v = b64url_value((unsigned char)s[i])) < 0) {
            return APR_EINVAL;
        }
        acc = (acc << 6) | (apr_uint32_t)v;
        if (i % 4 == 3) {
            out[n++] = (unsigned char)(acc >> 16);
            out[n++] = (unsigned char)(acc >> 8);
            out[n++] = (unsigned char)acc;
            acc = 0;
        }
    }
    if (len % 4 == 2) {
        if (acc & 0x0f) {
            return APR_EINVAL;
        }
        out[n++] = (unsigned char)(acc >> 4);
    }
    else if (len % 4 == 3) {
        if (acc & 0x03) {
            return APR_EINVAL;
        }
        out[n++] = (unsigned char)(acc >> 10);
        out[n++] = (unsigned char)(acc >> 2);
    }
    out[n] = '\0';
    *pout = out;
    *pout_len = n;
    return APR_SUCCESS;
}

/* Unpadded base64url of len bytes, allocated from p. */
static char *b64url_encode(apr_pool_t *p, const unsigned char *in,
                           apr_size_t len)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    char *o = out;
    apr_size_t i;
    apr_uint32_t acc;

    for (i = 0; i + 2 < len; i += 3) {
        acc = ((apr_uint32_t)in[i] << 16) | ((apr_uint32_t)in[i + 1] << 8)
              | in[i + 2];
        *o++ = b64url_alphabet[(acc >> 18) & 0x3f];
        *o++ = b64url_alphabet[(acc >> 12) & 0x3f];
        *o++ = b64url_alphabet[(acc >> 6) & 0x3f];
        *o++ = b64url_alphabet[acc & 0x3f];
    }
    if (len - i == 1) {
        acc = (apr_uint32_t)in[i] << 16;
        *o++ = b64url_alphabet[(acc >> 18) & 0x3f];
        *o++ = b64url_alphabet[(acc >> 12) & 0x3f];
    }
    else if (len - i == 2) {
        acc = ((apr_uint32_t)in[i] << 16) | ((apr_uint32_t)in[i + 1] << 8);
        *o++ = b64url_alphabet[(acc >> 18) & 0x3f];
        *o++ = b64url_alphabet[(acc >> 12) & 0x3f];
        *o++ = b64url_alphabet[(acc >> 6) & 0x3f];
    }
    *o = '\0';
    return out;
}

/* HMAC-SHA256 of data into mac (32 bytes); non-zero on success. */
static int hmac_sha256(const unsigned char *key, apr_size_t key_len,
                       const char *data, apr_size_t len, unsigned char *mac)
{
    unsigned int mac_len = 0;

    if (!key || key_len == 0 || key_len > INT_MAX) {
        return 0;
    }
    return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data,
                len, mac, &mac_len) != NULL
           && mac_len == SHA256_DIGEST_LENGTH;
}

/*
 * Parse exactly len bytes as one strict, UTF-8 JSON object; NULL when that
 * fails.  The caller owns the returned reference.
 */
static json_object *parse_object(const unsigned char *buf, apr_size_t len)
{
    json_tokener *tok = json_tokener_new_ex(JWT_JSON_DEPTH);
    json_object *obj;

    if (!tok) {
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
    if (obj && (json_tokener_get_error(tok) != json_tokener_success
                || json_tokener_get_parse_end(tok) != len
                || !json_object_is_type(obj, json_type_object))) {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    return obj;
}

/* Decode one base64url part of a token and parse it as a JSON object. */
static json_object *decode_object(apr_pool_t *p, const char *s, apr_size_t len)
{
    unsigned char *buf;
    apr_size_t n;

    if (b64url_decode(p, s, len, &buf, &n) != APR_SUCCESS) {
        return NULL;
    }
    return parse_object(buf, n);
}

/* Non-zero when the numeric claim v is at or before now. */
static int claim_not_after(json_object *v, apr_time_t now)
{
    apr_int64_t secs = now / APR_USEC_PER_SEC;

    if (json_object_is_type(v, json_type_int)) {
        /* for whole seconds, comparing with floor(now) is exact */
        if (now % APR_USEC_PER_SEC < 0) {
            --secs;
        }
        return json_object_get_int64(v) <= secs;
    }
    return json_object_get_double(v) <= (double)now / APR_USEC_PER_SEC;
}

/* Look up a time claim: 0 when absent, 1 when a finite number, -1 else. */
static int get_time_claim(json_object *payload, const char *name,
                          json_object **pv)
{
    if (!json_object_object_get_ex(payload, name, pv)) {
        return 0;
    }
    if (json_object_is_type(*pv, json_type_int)) {
        return 1;
    }
    if (json_object_is_type(*pv, json_type_double)
        && isfinite(json_object_get_double(*pv))) {
        return 1;
    }
    return -1;
}

/* Non-zero when the "sub" claim is acceptable. */
static int valid_subject(json_object *v)
{
    const unsigned char *s;
    int i, len;

    if (!v || !json_object_is_type(v, json_type_string)) {
        return 0;
    }
    len = json_object_get_string_len(v);
    if (len < 1 || len > BULKIO_JWT_MAX_SUB) {
        return 0;
    }
    s = (const unsigned char *)json_object_get_string(v);
    for (i = 0; i < len; ++i) {
        /* C0, DEL and (UTF-8 encoded) C1 controls */
        if (s[i] < 0x20 || s[i] == 0x7f
            || (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80
                && s[i + 1] <= 0x9f)) {
            return 0;
        }
    }
    return 1;
}

/* A string claim's value, allocated from p. */
static const char *string_claim(apr_pool_t *p, json_object *v)
{
    return apr_pstrmemdup(p, json_object_get_string(v),
                          (apr_size_t)json_object_get_string_len(v));
}

/* Whether v is a string equal to want. */
static int string_is(json_object *v, const char *want)
{
    return json_object_is_type(v, json_type_string)
           && (apr_size_t)json_object_get_string_len(v) == strlen(want)
           && !memcmp(json_object_get_string(v), want, strlen(want));
}

/* Whether the "aud" claim (a string or an array of strings) names want. */
static int audience_holds(json_object *pl, const char *want)
{
    json_object *v;
    size_t i, n;

    if (!json_object_object_get_ex(pl, "aud", &v)) {
        return 0;
    }
    if (!json_object_is_type(v, json_type_array)) {
        return string_is(v, want);
    }
    n = json_object_array_length(v);
    for (i = 0; i < n; ++i) {
        if (string_is(json_object_array_get_idx(v, i), want)) {
            return 1;
        }
    }
    return 0;
}

/* The rules' claims of an authentic payload: exp, aud, iss, scope. */
static bulkio_jwt_result_e check_rules(apr_pool_t *p, json_object *pl,
                                       int has_exp,
                                       const bulkio_jwt_rules_t *rules,
                                       bulkio_jwt_claims_t *claims)
{
    json_object *v;

    if (rules && rules->require_exp && !has_exp) {
        return BULKIO_JWT_NO_EXPIRY;
    }
    if (rules && rules->audience && !audience_holds(pl, rules->audience)) {
        return BULKIO_JWT_BAD_AUDIENCE;
    }
    if (rules && rules->issuer
        && (!json_object_object_get_ex(pl, "iss", &v)
            || !string_is(v, rules->issuer))) {
        return BULKIO_JWT_BAD_ISSUER;
    }
    if (json_object_object_get_ex(pl, "scope", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            return BULKIO_JWT_MALFORMED;
        }
        claims->scope = string_claim(p, v);
    }
    return BULKIO_JWT_OK;
}

/* The body of bulkio_jwt_verify_rules(); the caller releases *phdr and
 * *ppl. */
static bulkio_jwt_result_e verify(apr_pool_t *p, const char *token,
                                  const unsigned char *secret,
                                  apr_size_t secret_len, apr_time_t now,
                                  const bulkio_jwt_rules_t *rules,
                                  bulkio_jwt_claims_t *claims,
                                  json_object **phdr, json_object **ppl)
{
    bulkio_jwt_result_e rc;
    int has_exp;
    unsigned char mac[SHA256_DIGEST_LENGTH], *sig;
    const char *dot1, *dot2;
    json_object *v;
    apr_size_t len, sig_len;
    int has;

    if (!token || (len = strnlen(token, BULKIO_JWT_MAX_LEN + 1))
                  > BULKIO_JWT_MAX_LEN) {
        return BULKIO_JWT_MALFORMED;
    }
    if (!(dot1 = memchr(token, '.', len))
        || !(dot2 = memchr(dot1 + 1, '.', len - (apr_size_t)(dot1 + 1 - token)))
        || memchr(dot2 + 1, '.', len - (apr_size_t)(dot2 + 1 - token))) {
        return BULKIO_JWT_MALFORMED;
    }

    /* the header only decides whether the signature is worth checking */
    if (!(*phdr = decode_object(p, token, (apr_size_t)(dot1 - token)))) {
        return BULKIO_JWT_MALFORMED;
    }
    if (!json_object_object_get_ex(*phdr, "alg", &v)
        || !json_object_is_type(v, json_type_string)
        || json_object_get_string_len(v) != 5
        || memcmp(json_object_get_string(v), "HS256", 5) != 0) {
        return BULKIO_JWT_BAD_ALG;
    }
    if (json_object_object_get_ex(*phdr, "crit", NULL)) {
        return BULKIO_JWT_MALFORMED;
    }

    if (b64url_decode(p, dot2 + 1, len - (apr_size_t)(dot2 + 1 - token),
                      &sig, &sig_len) != APR_SUCCESS) {
        return BULKIO_JWT_MALFORMED;
    }
    if (sig_len != SHA256_DIGEST_LENGTH
        || !hmac_sha256(secret, secret_len, token,
                        (apr_size_t)(dot2 - token), mac)
        || CRYPTO_memcmp(mac, sig, SHA256_DIGEST_LENGTH) != 0) {
        return BULKIO_JWT_BAD_SIGNATURE;
    }

    /* from here on the payload is authentic */
    if (!(*ppl = decode_object(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1)))) {
        return BULKIO_JWT_MALFORMED;
    }
    if ((has_exp = has = get_time_claim(*ppl, "exp", &v)) < 0) {
        return BULKIO_JWT_MALFORMED;
    }
    if (has && claim_not_after(v, now)) {
        return BULKIO_JWT_EXPIRED;
    }
    if ((has = get_time_claim(*ppl, "nbf", &v)) < 0) {
        return BULKIO_JWT_MALFORMED;
    }
    if (has && !claim_not_after(v, now)) {
        return BULKIO_JWT_NOT_YET_VALID;
    }
    if ((rc = check_rules(p, *ppl, has_exp, rules, claims))
        != BULKIO_JWT_OK) {
        return rc;
    }
    if (!json_object_object_get_ex(*ppl, "sub", &v) || !valid_subject(v)) {
        return BULKIO_JWT_NO_SUBJECT;
    }
    claims->sub = string_claim(p, v);
    return BULKIO_JWT_OK;
}

bulkio_jwt_result_e bulkio_jwt_verify_rules(apr_pool_t *p, const char *token,
                                            const unsigned char *secret,
                                            apr_size_t secret_len,
                                            apr_time_t now,
                                            const bulkio_jwt_rules_t *rules,
                                            bulkio_jwt_claims_t *claims)
{
    json_object *hdr = NULL, *pl = NULL;
    bulkio_jwt_result_e rc;

    memset(claims, 0, sizeof(*claims));
    rc = verify(p, token, secret, secret_len, now, rules, claims, &hdr, &pl);
    json_object_put(hdr);
    json_object_put(pl);
    if (rc != BULKIO_JWT_OK) {
        memset(claims, 0, sizeof(*claims));
    }
    return rc;
}

bulkio_jwt_result_e bulkio_jwt_verify(apr_pool_t *p, const char *token,
                                      const unsigned char *secret,
                                      apr_size_t secret_len,
                                      apr_time_t now, const char **psub)
{
    bulkio_jwt_claims_t claims;
    bulkio_jwt_result_e rc;

    rc = bulkio_jwt_verify_rules(p, token, secret, secret_len, now, NULL,
                                 &claims);
    if (psub) {
        *psub = claims.sub;
    }
    return rc;
}

int bulkio_jwt_has_scope(const char *scope, const char *want)
{
    apr_size_t n = strlen(want), w;

    while (scope && *scope) {
        scope += strspn(scope, " ");
        w = strcspn(scope, " ");
        if (w == n && n && !memcmp(scope, want, n)) {
            return 1;
        }
        scope += w;
    }
    return 0;
}

const char *bulkio_jwt_strerror(bulkio_jwt_result_e rc)
{
    switch (rc) {
    case BULKIO_JWT_OK:
        return "ok";
    case BULKIO_JWT_MALFORMED:
        return "malformed token";
    case BULKIO_JWT_BAD_ALG:
        return "unsupported algorithm";
    case BULKIO_JWT_BAD_SIGNATURE:
        return "bad signature";
    case BULKIO_JWT_EXPIRED:
        return "token expired";
    case BULKIO_JWT_NOT_YET_VALID:
        return "token not yet valid";
    case BULKIO_JWT_NO_SUBJECT:
        return "missing or invalid subject";
    case BULKIO_JWT_NO_EXPIRY:
        return "the token has no expiry (exp)";
    case BULKIO_JWT_BAD_AUDIENCE:
        return "the token is not for this audience (aud)";
    case BULKIO_JWT_BAD_ISSUER:
        return "the token is not from the expected issuer (iss)";
    }
    return "unknown error";
}

/* Add v to obj under key, taking ownership of v; non-zero on success. */
static int add_member(json_object *obj, const char *key, json_object *v)
{
    if (!v) {
        return 0;
    }
    if (json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        return 0;
    }
    return 1;
}

const char *bulkio_jwt_sign(apr_pool_t *p, const char *sub, apr_int64_t exp,
                            const unsigned char *secret,
                            apr_size_t secret_len)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    unsigned char mac[SHA256_DIGEST_LENGTH];
    json_object *pl;
    const char *json;
    char *input = NULL;

    if (!sub || !secret || secret_len == 0
        || !(pl = json_object_new_object())) {
        return NULL;
    }
    if (add_member(pl, "sub", json_object_new_string(sub))
        && (exp == 0 || add_member(pl, "exp", json_object_new_int64(exp)))
        && (json = json_object_to_json_string_ext(pl,
                       JSON_C_TO_STRING_PLAIN
                       | JSON_C_TO_STRING_NOSLASHESCAPE)) != NULL) {
        input = apr_pstrcat(p,
                            b64url_encode(p, (const unsigned char *)header,
                                          sizeof(header) - 1),
                            ".",
                            b64url_encode(p, (const unsigned char *)json,
                                          strlen(json)),
                            NULL);
    }
    json_object_put(pl);
    if (!input || !hmac_sha256(secret, secret_len, input, strlen(input), mac)) {
        return NULL;
    }
    return apr_pstrcat(p, input, ".", b64url_encode(p, mac, sizeof(mac)), NULL);
}
