/*
 * webhook.c: signatures, the retry schedule and Retry-After for the
 * webhook deliverer (see webhook.h), in one place so the hub, the tests'
 * receivers and the benchmark's sign and verify alike.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "err.h"
#include "webhook.h"

#define WHSEC_PREFIX "whsec_"

/* Svix's schedule: the delay after the nth failed attempt (n from 1). */
static const int64_t retry_schedule_s[SL_WEBHOOK_MAX_ATTEMPTS - 1] = {
    5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600,
};

/*
 * The HMAC key of secret for Standard Webhooks: the decoded tail of a
 * whsec_ secret, else the secret's bytes. Returns 0 and the key's length
 * in *klen, or SL_EINVAL.
 */
static int
std_key(const char *secret, unsigned char *key, size_t keysz, size_t *klen)
{
    size_t n = strlen(secret);
    char tail[SL_WEBHOOK_MAX_SECRET];
    size_t t = 0;

    if (n == 0 || n > SL_WEBHOOK_MAX_SECRET)
        return SL_EINVAL;
    if (strncmp(secret, WHSEC_PREFIX, strlen(WHSEC_PREFIX)) != 0) {
        if (n > keysz)
            return SL_EINVAL;
        memcpy(key, secret, n);
        *klen = n;
        return SL_OK;
    }
    /* Standard base64, padded or not: through the url alphabet's decoder. */
    for (const char *p = secret + strlen(WHSEC_PREFIX); *p != '\0'; p++) {
        if (*p == '=')
            break;
        tail[t++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        if (*p == '-' || *p == '_')
            return SL_EINVAL;
    }
    if (t == 0 || sl_b64url_decode(tail, t, key, keysz, klen) != SL_OK ||
        *klen == 0)
        return SL_EINVAL;
    return SL_OK;
}

int
sl_webhook_sign_hex(const char *secret, const void *body, size_t len,
                    char out[SL_WEBHOOK_HEX_SIG_SIZE])
{
    unsigned char mac[SL_SHA256_LEN];
    size_t n = secret == NULL ? 0 : strlen(secret);

    out[0] = '\0';
    if (n == 0 || n > SL_WEBHOOK_MAX_SECRET)
        return SL_EINVAL;
    if (sl_hmac_sha256(secret, n, body, len, mac) != SL_OK)
        return SL_ECRYPTO;
    memcpy(out, "sha256=", 7);
    sl_hex(mac, sizeof(mac), out + 7);
    return SL_OK;
}

int
sl_webhook_sign_std(const char *secret, const char *msg_id, int64_t ts,
                    const void *body, size_t len,
                    char out[SL_WEBHOOK_STD_SIG_SIZE])
{
    unsigned char key[SL_WEBHOOK_MAX_SECRET], mac[SL_SHA256_LEN];
    char prefix[160];
    size_t klen = 0;
    unsigned char *msg = NULL;
    int pn, rc = SL_EINVAL;

    out[0] = '\0';
    if (secret == NULL || msg_id == NULL ||
        std_key(secret, key, sizeof(key), &klen) != SL_OK)
        goto out;
    pn = snprintf(prefix, sizeof(prefix), "%s.%lld.", msg_id, (long long)ts);
    if (pn < 0 || (size_t)pn >= sizeof(prefix))
        goto out;
    /* The signed content is "<id>.<timestamp>.<body>", in one piece. */
    rc = SL_ENOMEM;
    if ((msg = malloc((size_t)pn + len + 1)) == NULL)
        goto out;
    memcpy(msg, prefix, (size_t)pn);
    if (len > 0)
        memcpy(msg + pn, body, len);
    rc = SL_ECRYPTO;
    if (sl_hmac_sha256(key, klen, msg, (size_t)pn + len, mac) != SL_OK)
        goto out;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)sizeof(mac));
    rc = SL_OK;
out:
    free(msg);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

bool
sl_webhook_verify_std(const char *secret, const char *header,
                      const char *msg_id, int64_t ts, const void *body,
                      size_t len)
{
    char want[SL_WEBHOOK_STD_SIG_SIZE];
    size_t wn;
    bool ok = false;

    if (header == NULL ||
        sl_webhook_sign_std(secret, msg_id, ts, body, len, want) != SL_OK)
        return false;
    wn = strlen(want);
    for (const char *p = header; *p != '\0';) {
        size_t n;

        while (*p == ' ')
            p++;
        n = strcspn(p, " ");
        if (n == wn && sl_ct_equal(p, want, wn))
            ok = true;
        p += n;
    }
    return ok;
}

int64_t
sl_webhook_retry_delay_ms(int attempts, uint32_t rnd)
{
    int64_t base, span;

    if (attempts < 1 || attempts >= SL_WEBHOOK_MAX_ATTEMPTS)
        return -1;
    base = retry_schedule_s[attempts - 1] * 1000;
    /* rnd picks a point in [-J%, +J%] of base. */
    span = base * SL_WEBHOOK_JITTER_PCT / 100;
    return base - span + (int64_t)(rnd % (uint32_t)(2 * span + 1));
}

int64_t
sl_webhook_retry_after_ms(const char *value, int64_t now)
{
    const int64_t max = (int64_t)SL_WEBHOOK_RETRY_AFTER_MAX_S * 1000;
    struct tm tm;
    const char *end;
    int64_t ms;

    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *e;
        unsigned long long s = strtoull(value, &e, 10);

        while (*e == ' ' || *e == '\t')
            e++;
        if (*e != '\0')
            return -1;
        return s >= (unsigned long long)SL_WEBHOOK_RETRY_AFTER_MAX_S
                   ? max
                   : (int64_t)s * 1000;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
    memset(&tm, 0, sizeof(tm));
    end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return -1;
    ms = ((int64_t)timegm(&tm) - now) * 1000;
    return ms < 0 ? 0 : ms > max ? max : ms;
}
