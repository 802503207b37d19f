/*
 * password.h: password storage with scrypt, a memory-hard hash.
 *
 * A stored hash reads "$scrypt$ln=17,r=8,p=1$<salt>$<key>", salt and key in
 * base64url: the parameters travel with the hash, so the cost can be raised
 * later without invalidating what is stored, and a hash made at a lower
 * cost is made again at the next login (sl_password_needs_rehash()); one
 * made at a higher cost is kept. The default, ln=17, r=8, p=1, is OWASP's
 * recommendation for scrypt: 128 MiB and a few hundred milliseconds per
 * hash on one core.
 */
#ifndef SL_PASSWORD_H
#define SL_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Big enough for any hash sl_password_hash() writes. */
#define SL_PASSWORD_HASH_MAX 128

/* Accepted cost range: log2 of scrypt's N. */
#define SL_PASSWORD_LOG_N_MIN     10
#define SL_PASSWORD_LOG_N_MAX     20
#define SL_PASSWORD_LOG_N_DEFAULT 17

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
 * Whether a hash sl_password_hash() makes at cost log_n is stronger than
 * stored, so that a login that verified stored should store the password
 * hashed again: none of log N, r and p lower than stored's, and one of
 * them higher. A hash is never weakened this way: after password_cost is
 * lowered, hashes made at the higher cost stay as they are (and
 * auth_password_rehash(), sql/016, refuses a weaker one too). False for a
 * hash that cannot be read (verification refuses it anyway).
 */
bool sl_password_needs_rehash(const char *stored, int log_n);

/*
 * Spends the time of one verification at cost log_n and matches nothing:
 * called for an unknown user so that timing does not tell which logins
 * exist.
 */
void sl_password_burn(const char *password, int log_n);

#endif
