/*
 * token.h: access tokens, HS256 JSON Web Tokens.
 *
 * An access token carries typ "access", sub (the user id), org (the
 * organisation the user logged into), role, jti (its own id, for
 * revocation), sid (the login session, which is also the refresh-token
 * family), iat and exp.
 *
 * Verification trusts nothing libjwt 1.10 does alone: the HMAC is
 * recomputed with OpenSSL and compared in constant time (libjwt compares
 * with strcmp, CVE-2024-25189), the algorithm must be HS256, and exp, iat
 * and typ are checked here.
 */
#ifndef SL_TOKEN_H
#define SL_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "uuid.h"

/* Tokens may be issued at most this far in the future (clock skew). */
#define SL_TOKEN_SKEW 60

struct sl_claims {
    char sub[SL_UUID_LEN];
    char sid[SL_UUID_LEN];
    char jti[SL_UUID_LEN];
    char org[64];
    char role[16];
    int64_t iat;
    int64_t exp;
};

/*
 * Signs the claims with key (klen bytes). Returns 0 and a token in *out
 * (caller frees with free()), or SL_EINVAL / SL_ENOMEM / SL_ECRYPTO.
 */
int sl_token_issue(const void *key, size_t klen, const struct sl_claims *c,
                   char **out);

/*
 * Verifies token at time now and fills *out. Returns 0; SL_EAUTH for a
 * malformed, tampered, unsigned or wrongly signed token, or one that is
 * not an access token; SL_EEXPIRED for a genuine token past its exp.
 */
int sl_token_verify(const void *key, size_t klen, const char *token,
                    int64_t now, struct sl_claims *out);

#endif
