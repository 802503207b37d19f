/*
 * secretbox.h: small secrets sealed at rest with AES-256-GCM.
 *
 * A secret the platform must be able to use again later (the password of a
 * user's PostgreSQL connector, say) is stored sealed: encrypted and
 * authenticated under one 32-byte key from the configuration, bound to the
 * row that holds it by associated data ("tenant/connector-id"), and written
 * as printable text that fits a text column:
 *
 *   v1.<base64url of nonce (12 bytes) || ciphertext || tag (16 bytes)>
 *
 * without padding. The nonce is random for every seal, so sealing the same
 * plaintext twice gives different texts; random 96-bit nonces keep GCM safe
 * for far more seals than one key will ever make (NIST's bound is 2^32).
 * The version prefix is authenticated with the associated data, so a later
 * format cannot be passed off as this one.
 *
 * Opening fails with SL_ECRYPTO, and reveals nothing, when the key, the
 * associated data or any byte of the text is not what was sealed. Sizes are
 * bounded by SL_MAX_SECRET and SL_MAX_SECRET_AAD (limits.h).
 */
#ifndef SL_SECRETBOX_H
#define SL_SECRETBOX_H

#include <stddef.h>

#define SL_SECRETBOX_KEY_LEN   32
#define SL_SECRETBOX_NONCE_LEN 12
#define SL_SECRETBOX_TAG_LEN   16
#define SL_SECRETBOX_PREFIX    "v1."

/*
 * Parses a key from configuration text: 64 hexadecimal digits, or base64
 * (standard or URL alphabet, padded or not) of exactly 32 bytes. Spaces and
 * line ends around the text are ignored. Returns 0 and the key in key[], or
 * SL_EINVAL for anything else (key[] is then zeroed).
 */
int sl_secretbox_key_parse(const char *text,
                           unsigned char key[SL_SECRETBOX_KEY_LEN]);

/*
 * Seals len bytes of plain under key, bound to aad (a C string, such as
 * "tenant/connector-id"; NULL is taken as ""). Returns 0 and the sealed
 * text in *out, NUL-terminated and owned by the caller (free() it); or
 * SL_ETOOBIG when len passes SL_MAX_SECRET, SL_EINVAL when aad passes
 * SL_MAX_SECRET_AAD, SL_ENOMEM, or SL_ECRYPTO. *out is NULL on failure.
 */
int sl_secretbox_seal(const unsigned char key[SL_SECRETBOX_KEY_LEN],
                      const char *aad, const void *plain, size_t len,
                      char **out);

/*
 * Opens text made by sl_secretbox_seal() with the same key and aad.
 * Returns 0, the plaintext in *plain (NUL-terminated, owned by the caller,
 * to be released with sl_secretbox_free(*plain, *len)) and its length in
 * *len. Fails with SL_EPARSE when sealed is not of the form above (wrong
 * prefix, not base64url, shorter than a nonce and a tag), SL_ETOOBIG when
 * it is longer than any seal of SL_MAX_SECRET bytes, SL_EINVAL for an aad
 * longer than SL_MAX_SECRET_AAD, SL_ECRYPTO when authentication fails
 * (wrong key, wrong aad, altered text), or SL_ENOMEM. On failure *plain is
 * NULL, *len is 0, and no byte of a failed decryption is left in memory.
 */
int sl_secretbox_open(const unsigned char key[SL_SECRETBOX_KEY_LEN],
                      const char *aad, const char *sealed, char **plain,
                      size_t *len);

/*
 * Overwrites len bytes of p (and its terminating NUL) and frees it. For
 * plaintexts from sl_secretbox_open(). Accepts NULL.
 */
void sl_secretbox_free(char *p, size_t len);

#endif
