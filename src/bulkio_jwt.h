/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_JWT_H
#define BULKIO_JWT_H

#include <apr_pools.h>
#include <apr_time.h>

/** Longest token bulkio_jwt_verify() looks at, in bytes. */
#define BULKIO_JWT_MAX_LEN 8192

/** Longest subject accepted, in bytes. */
#define BULKIO_JWT_MAX_SUB 255

typedef enum {
    BULKIO_JWT_OK = 0,
    BULKIO_JWT_MALFORMED,       /* not three base64url parts, bad JSON,
                                 * not objects, too long */
    BULKIO_JWT_BAD_ALG,         /* alg missing or not exactly "HS256" */
    BULKIO_JWT_BAD_SIGNATURE,   /* HMAC mismatch, signature not 32 bytes */
    BULKIO_JWT_EXPIRED,         /* "exp" present and <= now */
    BULKIO_JWT_NOT_YET_VALID,   /* "nbf" present and > now */
    BULKIO_JWT_NO_SUBJECT,      /* "sub" missing, not a string, empty, too
                                 * long or containing control characters */
    BULKIO_JWT_NO_EXPIRY,       /* no "exp" where the rules require one */
    BULKIO_JWT_BAD_AUDIENCE,    /* "aud" missing or not naming the audience */
    BULKIO_JWT_BAD_ISSUER       /* "iss" missing or not the issuer */
} bulkio_jwt_result_e;

/** What a token must carry besides a good signature and a subject. */
typedef struct {
    int require_exp;            /**< refuse a token without "exp" */
    const char *audience;       /**< "aud" (a string, or an array of
                                 * strings) must hold it; NULL: unchecked */
    const char *issuer;         /**< "iss" must equal it; NULL: unchecked */
} bulkio_jwt_rules_t;

/** What an accepted token says. */
typedef struct {
    const char *sub;            /**< the subject */
    const char *scope;          /**< the "scope" claim (space-separated
                                 * scopes, as in OAuth), or NULL */
} bulkio_jwt_claims_t;

/**
 * Verify an HS256 JSON Web Token (compact serialisation) and extract its
 * subject.  The signature is checked before anything in the payload is
 * looked at.  "exp" and "nbf", when present, must be JSON numbers of
 * seconds since the epoch.  A header carrying "crit" is refused as
 * malformed, since no extension is understood.
 * @param p pool for *psub and scratch memory
 * @param token the token; NULL is malformed
 * @param secret the HMAC key; an empty key verifies nothing
 * @param secret_len length of secret in bytes
 * @param now the current time
 * @param psub on BULKIO_JWT_OK, the subject allocated from p (may be NULL)
 * @return BULKIO_JWT_OK or the reason the token was refused
 */
bulkio_jwt_result_e bulkio_jwt_verify(apr_pool_t *p, const char *token,
                                      const unsigned char *secret,
                                      apr_size_t secret_len,
                                      apr_time_t now, const char **psub);

/**
 * bulkio_jwt_verify() under rules: "exp" required, "aud" and "iss" checked
 * as they say. A "scope" claim that is not a string is malformed.
 * @param rules what the token must carry (NULL: nothing more)
 * @param claims on BULKIO_JWT_OK, the subject and scope allocated from p
 * @return BULKIO_JWT_OK or the reason the token was refused
 */
bulkio_jwt_result_e bulkio_jwt_verify_rules(apr_pool_t *p, const char *token,
                                            const unsigned char *secret,
                                            apr_size_t secret_len,
                                            apr_time_t now,
                                            const bulkio_jwt_rules_t *rules,
                                            bulkio_jwt_claims_t *claims);

/**
 * Whether a space-separated scope list holds want (exactly, as a word).
 * @param scope the list; NULL holds nothing
 */
int bulkio_jwt_has_scope(const char *scope, const char *want);

/**
 * A short human-readable message for a verification result.
 * @return a static string, never NULL
 */
const char *bulkio_jwt_strerror(bulkio_jwt_result_e rc);

/**
 * Create an HS256 token with header {"alg":"HS256","typ":"JWT"} and a
 * payload holding "sub" and, unless exp is 0, "exp".
 * @param p pool for the result
 * @param sub the subject
 * @param exp expiry in seconds since the epoch, 0 for none
 * @param secret the HMAC key (must not be empty)
 * @param secret_len length of secret in bytes
 * @return the token, or NULL when sub is NULL, the key is empty or
 *         signing fails
 */
const char *bulkio_jwt_sign(apr_pool_t *p, const char *sub, apr_int64_t exp,
                            const unsigned char *secret,
                            apr_size_t secret_len);

#endif /* BULKIO_JWT_H */
