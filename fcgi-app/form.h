/*
 * form.h: percent-decoding and key=value&key=value parsing, for query
 * strings and application/x-www-form-urlencoded bodies.
 */
#ifndef API_FORM_H
#define API_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pool.h"

/* A name and its value: a path or query parameter, a form field. */
struct api_param {
    const char *name;
    const char *value;
};

/*
 * Decodes n bytes of s (%XX escapes, and '+' as a space when plus_space)
 * into out, which holds at least n + 1 bytes, and NUL-terminates it.
 * Returns the decoded length, or SL_EPARSE for a malformed escape or an
 * encoded NUL byte.
 */
ssize_t api_url_decode(const char *s, size_t n, char *out, bool plus_space);

/*
 * Parses n bytes of "k=v&k2=v2" into out (at most max pairs, names and
 * values decoded into pool memory). Empty pieces are skipped; a piece
 * without '=' has the value "". Returns the number of pairs; SL_EPARSE
 * for a malformed escape, SL_ETOOBIG for more than max pairs, SL_ENOMEM.
 */
int api_form_parse(sl_pool *pool, const char *s, size_t n,
                   struct api_param *out, int max);

#endif
