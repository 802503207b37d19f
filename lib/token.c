/*
 * token.c: issuing and verifying access tokens (see token.h).
 */
#include "token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "crypto.h"
#include "err.h"
#include "limits.h"

int
sl_token_issue(const void *key, size_t klen, const struct sl_claims *c,
               char **out)
{
    jwt_t *jwt = NULL;
    int rc = SL_ENOMEM;

    *out = NULL;
    if (klen == 0 || klen > 1024)
        return SL_EINVAL;
    if (jwt_new(&jwt) != 0)
        return SL_ENOMEM;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)klen) != 0 ||
        jwt_add_grant(jwt, "typ", "access") != 0 ||
        jwt_add_grant(jwt, "sub", c->sub) != 0 ||
        jwt_add_grant(jwt, "sid", c->sid) != 0 ||
        jwt_add_grant(jwt, "jti", c->jti) != 0 ||
        jwt_add_grant(jwt, "org", c->org) != 0 ||
        jwt_add_grant(jwt, "role", c->role) != 0 ||
        jwt_add_grant_int(jwt, "iat", (long)c->iat) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)c->exp) != 0)
        goto out;
    *out = jwt_encode_str(jwt);
    rc = *out != NULL ? SL_OK : SL_ECRYPTO;
out:
    jwt_free(jwt);
    return rc;
}

/* Checks the signature ourselves: HMAC over "header.payload". */
static int
signature_ok(const void *key, size_t klen, const char *token)
{
    const char *dot1, *dot2;
    unsigned char want[SL_SHA256_LEN], got[64];
    size_t glen = 0;

    dot1 = strchr(token, '.');
    if (dot1 == NULL)
        return 0;
    dot2 = strchr(dot1 + 1, '.');
    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
        return 0;
    if (sl_b64url_decode(dot2 + 1, strlen(dot2 + 1), got, sizeof(got), &glen) !=
            SL_OK ||
        glen != SL_SHA256_LEN)
        return 0;
    if (sl_hmac_sha256(key, klen, token, (size_t)(dot2 - token), want) != SL_OK)
        return 0;
    return sl_ct_equal(want, got, SL_SHA256_LEN);
}

static int
copy_grant(jwt_t *jwt, const char *name, char *dst, size_t dstsz)
{
    const char *v = jwt_get_grant(jwt, name);

    if (v == NULL || strlen(v) >= dstsz)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int
int_grant(jwt_t *jwt, const char *name, int64_t *dst)
{
    long v;

    errno = 0;
    v = jwt_get_grant_int(jwt, name);
    if (errno != 0)
        return -1;
    *dst = v;
    return 0;
}

int
sl_token_verify(const void *key, size_t klen, const char *token, int64_t now,
                struct sl_claims *out)
{
    jwt_t *jwt = NULL;
    const char *typ;
    int rc = SL_EAUTH;

    if (token == NULL || strlen(token) > SL_MAX_TOKEN || klen == 0 ||
        klen > 1024)
        return SL_EAUTH;
    if (!signature_ok(key, klen, token))
        return SL_EAUTH;
    if (jwt_decode(&jwt, token, key, (int)klen) != 0)
        return SL_EAUTH;
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto out;
    typ = jwt_get_grant(jwt, "typ");
    if (typ == NULL || strcmp(typ, "access") != 0)
        goto out;
    memset(out, 0, sizeof(*out));
    if (copy_grant(jwt, "sub", out->sub, sizeof(out->sub)) ||
        copy_grant(jwt, "sid", out->sid, sizeof(out->sid)) ||
        copy_grant(jwt, "jti", out->jti, sizeof(out->jti)) ||
        copy_grant(jwt, "org", out->org, sizeof(out->org)) ||
        copy_grant(jwt, "role", out->role, sizeof(out->role)) ||
        int_grant(jwt, "iat", &out->iat) || int_grant(jwt, "exp", &out->exp))
        goto out;
    if (!sl_uuid_valid(out->sub) || !sl_uuid_valid(out->sid) ||
        !sl_uuid_valid(out->jti))
        goto out;
    if (out->iat > now + SL_TOKEN_SKEW || out->exp <= out->iat)
        goto out;
    rc = out->exp <= now ? SL_EEXPIRED : SL_OK;
out:
    jwt_free(jwt);
    return rc;
}
