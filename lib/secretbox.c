/*
 * secretbox.c: AES-256-GCM sealing of small secrets as printable text (see
 * secretbox.h), on OpenSSL 3's EVP interface and crypto.h's base64url.
 */
#include "secretbox.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "err.h"
#include "limits.h"

#define PREFIX_LEN (sizeof(SL_SECRETBOX_PREFIX) - 1)
#define OVERHEAD   (SL_SECRETBOX_NONCE_LEN + SL_SECRETBOX_TAG_LEN)

/* The longest base64url text, after the prefix, of a seal of SL_MAX_SECRET. */
#define MAX_SEALED_B64 ((OVERHEAD + SL_MAX_SECRET + 2) / 3 * 4)

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Decodes 64 hex digits into key[]. Returns 0 or SL_EINVAL. */
static int
key_from_hex(const char *s, unsigned char key[SL_SECRETBOX_KEY_LEN])
{
    for (size_t i = 0; i < SL_SECRETBOX_KEY_LEN; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return SL_EINVAL;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return SL_OK;
}

/*
 * Decodes n characters of base64, either alphabet, into exactly
 * SL_SECRETBOX_KEY_LEN bytes. Returns 0 or SL_EINVAL.
 */
static int
key_from_base64(const char *s, size_t n,
                unsigned char key[SL_SECRETBOX_KEY_LEN])
{
    char url[48];
    size_t got = 0;
    int rc;

    /* 32 bytes are 43 characters, 44 with padding. */
    if (n < 43 || n > 44)
        return SL_EINVAL;
    for (size_t i = 0; i < n; i++)
        url[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
    rc = sl_b64url_decode(url, n, key, SL_SECRETBOX_KEY_LEN, &got);
    OPENSSL_cleanse(url, sizeof(url));
    return rc == SL_OK && got == SL_SECRETBOX_KEY_LEN ? SL_OK : SL_EINVAL;
}

int
sl_secretbox_key_parse(const char *text,
                       unsigned char key[SL_SECRETBOX_KEY_LEN])
{
    const char *s = text;
    size_t n;
    int rc = SL_EINVAL;

    if (text == NULL)
        goto out;
    while (is_space(*s))
        s++;
    /* Nothing longer than a padded base64 key and some spaces is a key. */
    n = strnlen(s, 128);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n == 2 * SL_SECRETBOX_KEY_LEN)
        rc = key_from_hex(s, key);
    else
        rc = key_from_base64(s, n, key);
out:
    if (rc != SL_OK)
        OPENSSL_cleanse(key, SL_SECRETBOX_KEY_LEN);
    return rc;
}

/* Length of aad, or SL_EINVAL past SL_MAX_SECRET_AAD; NULL counts as "". */
static int
aad_length(const char *aad, size_t *n)
{
    *n = aad ? strnlen(aad, SL_MAX_SECRET_AAD + 1) : 0;
    return *n > SL_MAX_SECRET_AAD ? SL_EINVAL : SL_OK;
}

/*
 * Sets ctx up for AES-256-GCM in the direction enc (1 seals, 0 opens) under
 * key and nonce, and feeds it the associated data: the version prefix, then
 * the caller's aad. Returns true on success.
 */
static bool
gcm_start(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *key,
          const unsigned char *nonce, const char *aad, size_t aadlen)
{
    int outl = 0;

    return EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) ==
               1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                               SL_SECRETBOX_NONCE_LEN, NULL) == 1 &&
           EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
           EVP_CipherUpdate(ctx, NULL, &outl,
                            (const unsigned char *)SL_SECRETBOX_PREFIX,
                            (int)PREFIX_LEN) == 1 &&
           (aadlen == 0 ||
            EVP_CipherUpdate(ctx, NULL, &outl, (const unsigned char *)aad,
                             (int)aadlen) == 1);
}

int
sl_secretbox_seal(const unsigned char key[SL_SECRETBOX_KEY_LEN],
                  const char *aad, const void *plain, size_t len, char **out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *bin = NULL, *nonce, *ct, *tag;
    char *text = NULL;
    size_t aadlen, binlen, textsz;
    int outl = 0, finl = 0, rc;

    *out = NULL;
    if (len > SL_MAX_SECRET)
        return SL_ETOOBIG;
    if ((rc = aad_length(aad, &aadlen)) != SL_OK)
        return rc;
    binlen = OVERHEAD + len;
    textsz = PREFIX_LEN + sl_b64url_len(binlen) + 1;
    bin = malloc(binlen);
    text = malloc(textsz);
    ctx = EVP_CIPHER_CTX_new();
    if (bin == NULL || text == NULL || ctx == NULL) {
        rc = SL_ENOMEM;
        goto out;
    }
    nonce = bin;
    ct = bin + SL_SECRETBOX_NONCE_LEN;
    tag = ct + len;
    rc = SL_ECRYPTO;
    if (sl_random_bytes(nonce, SL_SECRETBOX_NONCE_LEN) != SL_OK)
        goto out;
    if (!gcm_start(ctx, 1, key, nonce, aad, aadlen))
        goto out;
    if (len > 0 && EVP_EncryptUpdate(ctx, ct, &outl, plain, (int)len) != 1)
        goto out;
    if (EVP_EncryptFinal_ex(ctx, ct + outl, &finl) != 1 ||
        (size_t)outl + (size_t)finl != len ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SL_SECRETBOX_TAG_LEN,
                            tag) != 1)
        goto out;
    memcpy(text, SL_SECRETBOX_PREFIX, PREFIX_LEN);
    if (!sl_b64url_encode(bin, binlen, text + PREFIX_LEN, textsz - PREFIX_LEN))
        goto out;
    *out = text;
    text = NULL;
    rc = SL_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    free(text);
    free(bin);
    return rc;
}

int
sl_secretbox_open(const unsigned char key[SL_SECRETBOX_KEY_LEN],
                  const char *aad, const char *sealed, char **plain,
                  size_t *len)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *bin = NULL, *ct, *tag;
    char *pt = NULL;
    size_t aadlen, n, binlen = 0, ctlen = 0;
    int outl = 0, finl = 0, rc;

    *plain = NULL;
    *len = 0;
    if ((rc = aad_length(aad, &aadlen)) != SL_OK)
        return rc;
    if (sealed == NULL || strncmp(sealed, SL_SECRETBOX_PREFIX, PREFIX_LEN) != 0)
        return SL_EPARSE;
    n = strnlen(sealed + PREFIX_LEN, MAX_SEALED_B64 + 1);
    if (n > MAX_SEALED_B64)
        return SL_ETOOBIG;
    /* Only the canonical text is accepted: no padding, no other alphabet. */
    if (memchr(sealed + PREFIX_LEN, '=', n) != NULL)
        return SL_EPARSE;
    bin = malloc(n / 4 * 3 + 3);
    if (bin == NULL)
        return SL_ENOMEM;
    rc = sl_b64url_decode(sealed + PREFIX_LEN, n, bin, n / 4 * 3 + 3, &binlen);
    if (rc != SL_OK || binlen < OVERHEAD) {
        rc = SL_EPARSE;
        goto out;
    }
    ctlen = binlen - OVERHEAD;
    if (ctlen > SL_MAX_SECRET) {
        rc = SL_ETOOBIG;
        goto out;
    }
    ct = bin + SL_SECRETBOX_NONCE_LEN;
    tag = ct + ctlen;
    pt = malloc(ctlen + 1);
    ctx = EVP_CIPHER_CTX_new();
    if (pt == NULL || ctx == NULL) {
        rc = SL_ENOMEM;
        goto out;
    }
    rc = SL_ECRYPTO;
    if (!gcm_start(ctx, 0, key, bin, aad, aadlen))
        goto out;
    if (ctlen > 0 &&
        EVP_DecryptUpdate(ctx, (unsigned char *)pt, &outl, ct, (int)ctlen) != 1)
        goto out;
    /* The tag is checked by the final step; until then pt is unverified. */
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SL_SECRETBOX_TAG_LEN,
                            tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + outl, &finl) != 1 ||
        (size_t)outl + (size_t)finl != ctlen)
        goto out;
    pt[ctlen] = '\0';
    *plain = pt;
    *len = ctlen;
    pt = NULL;
    rc = SL_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (pt != NULL)
        sl_secretbox_free(pt, ctlen);
    free(bin);
    return rc;
}

void
sl_secretbox_free(char *p, size_t len)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, len + 1);
    free(p);
}
