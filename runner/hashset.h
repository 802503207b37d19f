/*
 * hashset.h: a set of rows (or values) remembered by a keyed 64-bit hash,
 * for deduplication and uniqueness checks over a stream that does not fit
 * in memory.
 *
 * Only the hash is kept: 16 to 32 bytes of table per distinct member
 * (the table doubles when half full). The key is random per set, so input
 * cannot be crafted to collide; two distinct members still share a hash
 * with probability about n^2 / 2^65 (under 3e-8 for a million members),
 * in which case the second is taken for a duplicate.
 */
#ifndef RUN_HASHSET_H
#define RUN_HASHSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most members a set takes (a 2^27-slot table: 1 GiB). */
#define RUN_HASHSET_MAX ((size_t)1 << 26)

struct run_hashset {
    uint64_t *slots; /* 0: empty */
    size_t cap, n;
    uint64_t k0, k1;
};

/* Prepares an empty set with a random key. Returns 0 or SL_EIO. */
int run_hashset_init(struct run_hashset *s);
void run_hashset_free(struct run_hashset *s);

/* The keyed hash of the cells (NULL cells count), ncells of them. */
uint64_t run_hashset_hash(const struct run_hashset *s, char *const *cells,
                          int ncells);

/*
 * Adds h. Returns 1 when it was new, 0 when already there, SL_ENOMEM, or
 * SL_ETOOBIG past RUN_HASHSET_MAX members.
 */
int run_hashset_add(struct run_hashset *s, uint64_t h);

#endif
