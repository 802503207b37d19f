/*
 * utf8.c: well-formed UTF-8, and cutting on character boundaries (see
 * utf8.h).
 */
#include "config.h"

#include <string.h>

#include "utf8.h"

/*
 * The length of the well-formed character at s (n bytes left), or 0 when
 * the bytes there are not one.
 */
static size_t
char_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];

    if (c >= 0x01 && c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        /* E0 needs A0..BF (no overlong); ED needs 80..9F (no surrogate). */
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80,
                      hi = c == 0xed ? 0x9f : 0xbf;

        return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3
                                                                           : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        /* F0 needs 90..BF (no overlong); F4 needs 80..8F (<= U+10FFFF). */
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80,
                      hi = c == 0xf4 ? 0x8f : 0xbf;

        return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
                       (s[3] & 0xc0) == 0x80
                   ? 4
                   : 0;
    }
    return 0;
}

bool
sl_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    while (n > 0) {
        size_t k = char_len(p, n);

        if (k == 0)
            return false;
        p += k;
        n -= k;
    }
    return true;
}

size_t
sl_utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    if (n == max && s[n] != '\0')
        /* Step back over continuation bytes to the start of a character. */
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    return n;
}
