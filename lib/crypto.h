/*
 * crypto.h: hashes, MACs, constant-time comparison, base64url and secure
 * random, all on OpenSSL.
 *
 * Secrets are compared only with sl_ct_equal(). Random bytes come from
 * OpenSSL's CSPRNG; a failure there is reported, never papered over.
 */
#ifndef SL_CRYPTO_H
#define SL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define SL_SHA256_LEN     32
#define SL_SHA256_HEX_LEN 65 /* 64 hex digits and a NUL */

/* SHA-256 of n bytes. Returns 0 or SL_ECRYPTO. */
int sl_sha256(const void *data, size_t n, unsigned char out[SL_SHA256_LEN]);

/* SHA-256 as lower-case hex into out (SL_SHA256_HEX_LEN bytes). */
int sl_sha256_hex(const void *data, size_t n, char *out);

/* HMAC-SHA256(key, data). Returns 0 or SL_ECRYPTO. */
int sl_hmac_sha256(const void *key, size_t klen, const void *data, size_t n,
                   unsigned char out[SL_SHA256_LEN]);

/* True when the n bytes at a and b are equal; time depends on n only. */
bool sl_ct_equal(const void *a, const void *b, size_t n);

/*
 * True when the two strings are equal. Both are hashed first, so the time
 * taken reveals neither their contents nor their lengths.
 */
bool sl_ct_streq(const char *a, const char *b);

/* Fills out with n random bytes. Returns 0 or SL_ECRYPTO. */
int sl_random_bytes(void *out, size_t n);

/*
 * Writes n random characters from [A-Za-z0-9] and a NUL into out (n + 1
 * bytes), without modulo bias. Returns 0 or SL_ECRYPTO.
 */
int sl_random_alnum(char *out, size_t n);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void sl_hex(const unsigned char *in, size_t n, char *out);

/* Length of the unpadded base64url text for n bytes, without the NUL. */
size_t sl_b64url_len(size_t n);

/*
 * Writes unpadded base64url of n bytes and a NUL into out, which holds
 * outsz bytes. Returns the text length, or 0 when out is too small.
 */
size_t sl_b64url_encode(const void *in, size_t n, char *out, size_t outsz);

/*
 * Decodes unpadded (or padded) base64url text of length n into out
 * (outsz bytes). Returns 0 and sets *outlen, or SL_EPARSE for a character
 * outside the alphabet or a bad length, or SL_ETOOBIG when out is short.
 */
int sl_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outsz,
                     size_t *outlen);

#endif
