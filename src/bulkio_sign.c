/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <limits.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bulkio_sign.h"
#include "bulkio_util.h"

#define MAC_LEN 32

const char *bulkio_hmac_hex(apr_pool_t *p, const char *secret,
                            const char *data, apr_size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    apr_size_t key_len = secret ? strlen(secret) : 0;

    if (!key_len || key_len > INT_MAX
        || !HMAC(EVP_sha256(), secret, (int)key_len,
                 (const unsigned char *)data, len, mac, &mac_len)
        || mac_len != MAC_LEN) {
        return NULL;
    }
    return bulkio_hex(p, mac, mac_len);
}

const char *bulkio_hook_signature(apr_pool_t *p, const char *secret,
                                  apr_int64_t t, const char *body,
                                  apr_size_t len)
{
    const char *stamp = apr_psprintf(p, "%" APR_INT64_T_FMT, t);
    apr_size_t n = strlen(stamp);
    char *input = apr_palloc(p, n + 1 + len + 1);
    const char *mac;

    memcpy(input, stamp, n);
    input[n] = '.';
    memcpy(input + n + 1, body, len);
    input[n + 1 + len] = '\0';
    mac = bulkio_hmac_hex(p, secret, input, n + 1 + len);
    return mac ? apr_pstrcat(p, "t=", stamp, ",v1=", mac, NULL) : NULL;
}

const char *bulkio_link_signature(apr_pool_t *p, const char *secret,
                                  const char *job_id, apr_int64_t expires)
{
    char *input = apr_psprintf(p, "%s.%" APR_INT64_T_FMT, job_id, expires);
    char *c;

    for (c = input; *c && *c != '.'; ++c) {
        *c = (char)apr_tolower(*c);
    }
    return bulkio_hmac_hex(p, secret, input, strlen(input));
}

apr_status_t bulkio_link_verify(apr_pool_t *p, const char *secret,
                                const char *job_id, const char *expires,
                                const char *signature, apr_int64_t now)
{
    const char *want;
    apr_int64_t at;
    apr_size_t i;

    /* the number as the server writes it: digits, no leading zero */
    if (!expires || !signature || !*expires || strlen(expires) > 18
        || (expires[0] == '0' && expires[1])) {
        return APR_EACCES;
    }
    for (i = 0; expires[i]; ++i) {
        if (!apr_isdigit(expires[i])) {
            return APR_EACCES;
        }
    }
    at = apr_atoi64(expires);
    want = bulkio_link_signature(p, secret, job_id, at);
    if (!want || strlen(signature) != strlen(want)
        || CRYPTO_memcmp(want, signature, strlen(want))) {
        return APR_EACCES;
    }
    return at < now ? APR_TIMEUP : APR_SUCCESS;
}
