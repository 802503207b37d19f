/*
 * router.c: route matching (see router.h).
 *
 * Patterns and paths are compared segment by segment. A literal segment
 * must equal the path's segment byte for byte; a {name} segment takes any
 * non-empty segment, percent-decoded. The table is small enough that a
 * linear scan costs less than building an index would.
 */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "form.h"
#include "request.h"

/* Length of the segment starting at s (up to '/' or the end). */
static size_t
seglen(const char *s, const char *end)
{
    const char *p = s;

    while (p < end && *p != '/')
        p++;
    return (size_t)(p - s);
}

/*
 * Matches path[0..plen) against pattern. When params is not NULL, fills
 * the parameters. Returns true on a match.
 */
static bool
match(const char *pattern, const char *path, size_t plen, sl_pool *pool,
      struct api_param *params, int *nparams)
{
    const char *pe = pattern + strlen(pattern), *se = path + plen;
    const char *p = pattern, *s = path;
    int n = 0;

    while (p < pe && s < se) {
        size_t pl, sl;

        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        pl = seglen(p, pe);
        sl = seglen(s, se);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || n == API_MAX_PARAMS)
                return false;
            if (params != NULL) {
                char *name = sl_pstrndup(pool, p + 1, pl - 2);
                char *value = sl_palloc(pool, sl + 1);

                if (name == NULL || value == NULL ||
                    api_url_decode(s, sl, value, false) <= 0)
                    return false;
                params[n].name = name;
                params[n].value = value;
            }
            n++;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return false;
        }
        p += pl;
        s += sl;
    }
    if (p != pe || s != se)
        return false;
    if (nparams != NULL)
        *nparams = n;
    return true;
}

static void
allow_add(char *allow, size_t allowsz, const char *method)
{
    size_t len = strlen(allow), mlen = strlen(method);
    const char *p = allow;

    /* Already listed? */
    while ((p = strstr(p, method)) != NULL) {
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == 0))
            return;
        p += mlen;
    }
    snprintf(allow + len, allowsz - len, "%s%s", len ? ", " : "", method);
}

const struct api_route *
api_route_find(const struct api_route *routes, size_t n, const char *method,
               const char *path, sl_pool *pool, struct api_param *params,
               int *nparams, char *allow, size_t allowsz)
{
    size_t plen = strlen(path);
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;

    allow[0] = '\0';
    *nparams = 0;
    if (plen > 1 && path[plen - 1] == '/')
        plen--;
    for (size_t i = 0; i < n; i++) {
        if (!match(routes[i].pattern, path, plen, pool, NULL, NULL))
            continue;
        if (strcmp(routes[i].method, want) == 0) {
            if (!match(routes[i].pattern, path, plen, pool, params, nparams))
                return NULL; /* a parameter would not decode */
            return &routes[i];
        }
        allow_add(allow, allowsz, routes[i].method);
    }
    return NULL;
}
