/*
 * crypto.c: the primitives of crypto.h on OpenSSL 3.
 */
#include "crypto.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "err.h"

int
sl_sha256(const void *data, size_t n, unsigned char out[SL_SHA256_LEN])
{
    unsigned int len = 0;

    if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 ||
        len != SL_SHA256_LEN)
        return SL_ECRYPTO;
    return SL_OK;
}

int
sl_sha256_hex(const void *data, size_t n, char *out)
{
    unsigned char md[SL_SHA256_LEN];

    if (sl_sha256(data, n, md) != SL_OK)
        return SL_ECRYPTO;
    sl_hex(md, sizeof(md), out);
    return SL_OK;
}

int
sl_hmac_sha256(const void *key, size_t klen, const void *data, size_t n,
               unsigned char out[SL_SHA256_LEN])
{
    unsigned int len = 0;

    if (klen > (size_t)INT32_MAX)
        return SL_EINVAL;
    if (HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len) == NULL ||
        len != SL_SHA256_LEN)
        return SL_ECRYPTO;
    return SL_OK;
}

bool
sl_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool
sl_ct_streq(const char *a, const char *b)
{
    unsigned char ha[SL_SHA256_LEN], hb[SL_SHA256_LEN];

    if (a == NULL || b == NULL)
        return false;
    if (sl_sha256(a, strlen(a), ha) != SL_OK ||
        sl_sha256(b, strlen(b), hb) != SL_OK)
        return false;
    return sl_ct_equal(ha, hb, sizeof(ha));
}

int
sl_random_bytes(void *out, size_t n)
{
    if (n > (size_t)INT32_MAX)
        return SL_EINVAL;
    return RAND_bytes(out, (int)n) == 1 ? SL_OK : SL_ECRYPTO;
}

int
sl_random_alnum(char *out, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char pool[64];
    size_t i = 0, k = sizeof(pool);

    while (i < n) {
        if (k == sizeof(pool)) {
            if (sl_random_bytes(pool, sizeof(pool)) != SL_OK)
                return SL_ECRYPTO;
            k = 0;
        }
        /* 62 * 4 = 248: rejecting 248..255 leaves no bias. */
        if (pool[k] < 248)
            out[i++] = alphabet[pool[k] % 62];
        k++;
    }
    out[n] = '\0';
    return SL_OK;
}

void
sl_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t
sl_b64url_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t
sl_b64url_encode(const void *in, size_t n, char *out, size_t outsz)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = in;
    size_t len = sl_b64url_len(n), o = 0, i = 0;

    if (outsz < len + 1)
        return 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

static int
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int
sl_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outsz,
                 size_t *outlen)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;

    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return SL_EPARSE;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in[i]);

        if (v < 0)
            return SL_EPARSE;
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outsz)
                return SL_ETOOBIG;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    /* Leftover bits must be zero in canonical encoding. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return SL_EPARSE;
    *outlen = o;
    return SL_OK;
}
