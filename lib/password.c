/*
 * password.c: scrypt password hashing on OpenSSL's EVP_PBE_scrypt.
 */
#include "password.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "err.h"

#define SALT_LEN 16
#define KEY_LEN  32
#define SCRYPT_R 8
#define SCRYPT_P 1

static int
derive(const char *password, const unsigned char *salt, size_t saltlen,
       int log_n, int r, int p, unsigned char *key, size_t keylen)
{
    uint64_t n = (uint64_t)1 << log_n;
    /* scrypt needs 128 * r * N bytes; leave room for its bookkeeping. */
    uint64_t maxmem = 128 * (uint64_t)r * n * 2 + 1024 * 1024;

    if (EVP_PBE_scrypt(password, strlen(password), salt, saltlen, n,
                       (uint64_t)r, (uint64_t)p, maxmem, key, keylen) != 1)
        return SL_ECRYPTO;
    return SL_OK;
}

int
sl_password_hash(const char *password, int log_n, char *out)
{
    unsigned char salt[SALT_LEN], key[KEY_LEN];
    char s64[32], k64[48];
    int rc;

    if (log_n < SL_PASSWORD_LOG_N_MIN || log_n > SL_PASSWORD_LOG_N_MAX)
        return SL_EINVAL;
    if (sl_random_bytes(salt, sizeof(salt)) != SL_OK)
        return SL_ECRYPTO;
    rc = derive(password, salt, sizeof(salt), log_n, SCRYPT_R, SCRYPT_P, key,
                sizeof(key));
    if (rc != SL_OK)
        return rc;
    sl_b64url_encode(salt, sizeof(salt), s64, sizeof(s64));
    sl_b64url_encode(key, sizeof(key), k64, sizeof(k64));
    snprintf(out, SL_PASSWORD_HASH_MAX, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", log_n,
             SCRYPT_R, SCRYPT_P, s64, k64);
    return SL_OK;
}

/*
 * Reads the parameters at the head of a stored hash. Returns the length
 * of that head ("$scrypt$ln=..,r=..,p=..$"), or 0 when stored is not a
 * hash this module reads.
 */
static int
read_params(const char *stored, int *log_n, int *r, int *p)
{
    int consumed = 0;

    if (stored == NULL ||
        sscanf(stored, "$scrypt$ln=%d,r=%d,p=%d$%n", log_n, r, p, &consumed) !=
            3 ||
        consumed == 0)
        return 0;
    if (*log_n < SL_PASSWORD_LOG_N_MIN || *log_n > SL_PASSWORD_LOG_N_MAX ||
        *r < 1 || *r > 32 || *p < 1 || *p > 4)
        return 0;
    return consumed;
}

int
sl_password_verify(const char *password, const char *stored)
{
    int log_n, r, p, consumed, rc;
    const char *salt_text, *key_text;
    unsigned char salt[64], want[64], got[64];
    size_t saltlen, keylen;

    if ((consumed = read_params(stored, &log_n, &r, &p)) == 0)
        return SL_EPARSE;
    salt_text = stored + consumed;
    key_text = strchr(salt_text, '$');
    if (key_text == NULL)
        return SL_EPARSE;
    if (sl_b64url_decode(salt_text, (size_t)(key_text - salt_text), salt,
                         sizeof(salt), &saltlen) != SL_OK ||
        sl_b64url_decode(key_text + 1, strlen(key_text + 1), want, sizeof(want),
                         &keylen) != SL_OK ||
        saltlen < 8 || keylen < 16)
        return SL_EPARSE;
    rc = derive(password, salt, saltlen, log_n, r, p, got, keylen);
    if (rc != SL_OK)
        return rc;
    return sl_ct_equal(got, want, keylen) ? SL_OK : SL_EAUTH;
}

bool
sl_password_needs_rehash(const char *stored, int log_n)
{
    int ln, r, p;

    if (read_params(stored, &ln, &r, &p) == 0)
        return false;
    /* Only ever stronger: no parameter may go down, and one must go up.
     * A lowered password_cost leaves stronger hashes as they are. */
    if (log_n < ln || SCRYPT_R < r || SCRYPT_P < p)
        return false;
    return log_n > ln || SCRYPT_R > r || SCRYPT_P > p;
}

void
sl_password_burn(const char *password, int log_n)
{
    static const unsigned char salt[SALT_LEN] = {0};
    unsigned char key[KEY_LEN];

    if (log_n < SL_PASSWORD_LOG_N_MIN || log_n > SL_PASSWORD_LOG_N_MAX)
        log_n = SL_PASSWORD_LOG_N_DEFAULT;
    (void)derive(password, salt, sizeof(salt), log_n, SCRYPT_R, SCRYPT_P, key,
                 sizeof(key));
}
