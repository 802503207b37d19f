/*
 * pii_lists.h: the PII engine's word lists (pii_lists.c, generated):
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

#endif
