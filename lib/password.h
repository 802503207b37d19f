/*
 * password.h: password storage with scrypt, a memory-hard hash.
 *
 * A stored hash reads "$scrypt$ln=15,r=8,p=1$<salt>$<key>", salt and key in
 * base64url: the parameters travel with the hash, so the cost can be raised
 * later without invalidating what is stored. ln=15, r=8 uses 32 MiB and
 * about 100 ms per hash on one core.
 */
#ifndef SL_PASSWORD_H
#define SL_PASSWORD_H

#include <stddef.h>

/* Big enough for any hash sl_password_hash() writes. */
#define SL_PASSWORD_HASH_MAX 128

/* Accepted cost range: log2 of scrypt's N. */
#define SL_PASSWORD_LOG_N_MIN     10
#define SL_PASSWORD_LOG_N_MAX     20
#define SL_PASSWORD_LOG_N_DEFAULT 15

/*
 * Hashes password with a fresh random salt at cost log_n into out
 * (SL_PASSWORD_HASH_MAX bytes). Returns 0, SL_EINVAL for a cost outside
 * the range, or SL_ECRYPTO.
 */
int sl_password_hash(const char *password, int log_n, char *out);

/*
 * Checks password against a stored hash in constant time. Returns 0 when
 * it matches, SL_EAUTH when it does not, SL_EPARSE for a malformed stored
 * hash, SL_ECRYPTO when the hash could not be computed.
 */
int sl_password_verify(const char *password, const char *stored);

/*
 * Spends the time of one verification at cost log_n and matches nothing:
 * called for an unknown user so that timing does not tell which logins
 * exist.
 */
void sl_password_burn(const char *password, int log_n);

#endif
