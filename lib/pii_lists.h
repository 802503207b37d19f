/*
 * pii_lists.h: the PII engine's word lists (pii_lists.c, generated into
 * the build tree by scripts/gen_pii_lists.c from the lists in lib/pii-data/):
 * given names, family names and places, lower case (ASCII letters only
 * lowered), words separated by one space, sorted in strcmp order.
 */
#ifndef SL_PII_LISTS_H
#define SL_PII_LISTS_H

#include <stddef.h>

extern const char *const sl_pii_first_names[];
extern const size_t sl_pii_first_names_n;
extern const char *const sl_pii_surnames[];
extern const size_t sl_pii_surnames_n;
extern const char *const sl_pii_places[];
extern const size_t sl_pii_places_n;

/*
 * Each list's hash table: slot FNV-1a(entry) & mask (then the next ones,
 * linear probing) holds the entry's index + 1; 0 ends a probe.
 */
extern const unsigned short sl_pii_first_names_table[];
extern const size_t sl_pii_first_names_mask;
extern const unsigned short sl_pii_surnames_table[];
extern const size_t sl_pii_surnames_mask;
extern const unsigned short sl_pii_places_table[];
extern const size_t sl_pii_places_mask;

/*
 * A 65536-bit set: bit FNV-1a(w) & 0xffff is set for every word w a name,
 * a place, a title or a month may start with (lower case, UTF-8). A clear
 * bit means the word is none of them; a set one, that it may be.
 */
extern const unsigned char sl_pii_word_bits[8192];

#endif
