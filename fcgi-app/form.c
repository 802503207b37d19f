/*
 * form.c: URL decoding and form parsing (see form.h).
 */
#include "form.h"

#include <string.h>

#include "err.h"

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ssize_t
api_url_decode(const char *s, size_t n, char *out, bool plus_space)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= n)
                return SL_EPARSE;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return SL_EPARSE;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            out[o++] = ' ';
        } else if (c == '\0') {
            return SL_EPARSE;
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return (ssize_t)o;
}

int
api_form_parse(sl_pool *pool, const char *s, size_t n, struct api_param *out,
               int max)
{
    int count = 0;
    size_t i = 0;

    while (i < n) {
        size_t end = i, eq;
        char *name, *value;

        while (end < n && s[end] != '&')
            end++;
        if (end > i) {
            if (count == max)
                return SL_ETOOBIG;
            eq = i;
            while (eq < end && s[eq] != '=')
                eq++;
            name = sl_palloc(pool, eq - i + 1);
            value = sl_palloc(pool, eq < end ? end - eq : 1);
            if (name == NULL || value == NULL)
                return SL_ENOMEM;
            if (api_url_decode(s + i, eq - i, name, true) < 0)
                return SL_EPARSE;
            if (eq < end) {
                if (api_url_decode(s + eq + 1, end - eq - 1, value, true) < 0)
                    return SL_EPARSE;
            } else {
                value[0] = '\0';
            }
            out[count].name = name;
            out[count].value = value;
            count++;
        }
        i = end + 1;
    }
    return count;
}
