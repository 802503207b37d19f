/*
 * uuid.h: UUIDs as text, the form every Sluice id takes.
 *
 * New ids are version 7 (a millisecond timestamp followed by random bits),
 * so rows inserted together sit together in a B-tree index; the random
 * part comes from the CSPRNG, so ids are not guessable.
 */
#ifndef SL_UUID_H
#define SL_UUID_H

#include <stdbool.h>

/* 36 characters and a NUL. */
#define SL_UUID_LEN 37

/* Writes a new version 7 UUID into out. Returns 0 or SL_ECRYPTO. */
int sl_uuid_v7(char *out);

/* Writes a new version 4 (random) UUID into out. Returns 0 or SL_ECRYPTO. */
int sl_uuid_v4(char *out);

/* True when s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
bool sl_uuid_valid(const char *s);

#endif
