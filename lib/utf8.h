/*
 * utf8.h: UTF-8 text as clients send it: whether bytes are well-formed
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF),
 * and where a string may be cut without splitting a character.
 *
 * PostgreSQL refuses text that is not UTF-8 with an error a handler would
 * otherwise answer 500; what a client sends as text (headers, names) is
 * checked here first and refused with a 422 naming the field.
 */
#ifndef SL_UTF8_H
#define SL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the n bytes at s are well-formed UTF-8 (NUL bytes excluded). */
bool sl_utf8_valid(const char *s, size_t n);

/*
 * The length, at most max bytes, of the longest prefix of the string s
 * that ends on a character boundary: s[0..result) is whole characters
 * when s is UTF-8. s is NUL-terminated.
 */
size_t sl_utf8_prefix(const char *s, size_t max);

#endif
