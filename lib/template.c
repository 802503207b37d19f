/*
 * template.c: "{{field}}" substitution for alert templates (template.h).
 *
 * One scanner serves both the check and the rendering: it walks the
 * template once, handing literal runs and placeholder names to a
 * callback, so that what sl_template_check() accepts is exactly what
 * sl_template_render() can render.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "template.h"
#include "utf8.h"

/* Called with a literal run (name false) or a placeholder's name (name
 * true), n bytes at s. Returns 0 to go on, or a negative code to stop. */
typedef int (*piece_fn)(void *arg, bool name, const char *s, size_t n);

static bool
name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static void __attribute__((format(printf, 3, 4)))
say(char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whysz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whysz, fmt, ap);
    va_end(ap);
}

/*
 * Walks tmpl, calling fn for each piece. Returns 0, fn's code, or
 * SL_EINVAL / SL_ETOOBIG with why filled.
 */
static int
scan(const char *tmpl, piece_fn fn, void *arg, char *why, size_t whysz)
{
    size_t len = tmpl ? strlen(tmpl) : 0, i = 0, lit = 0;
    int rc;

    if (len > SL_TEMPLATE_MAX_IN) {
        say(why, whysz, "is longer than %d bytes", SL_TEMPLATE_MAX_IN);
        return SL_ETOOBIG;
    }
    if (len > 0 && !sl_utf8_valid(tmpl, len)) {
        say(why, whysz, "is not UTF-8");
        return SL_EINVAL;
    }
    while (i < len) {
        size_t open, a, b;

        if (tmpl[i] == '}' && tmpl[i + 1] == '}') {
            say(why, whysz, "'}}' at byte %zu has no '{{' before it", i);
            return SL_EINVAL;
        }
        if (!(tmpl[i] == '{' && tmpl[i + 1] == '{')) {
            i++;
            continue;
        }
        open = i;
        a = i + 2;
        while (tmpl[a] == ' ')
            a++;
        b = a;
        while (b < len && name_char(tmpl[b]))
            b++;
        if (b == a) {
            if (strstr(tmpl + open + 2, "}}") == NULL)
                say(why, whysz, "'{{' at byte %zu is not closed by '}}'", open);
            else
                say(why, whysz,
                    "the placeholder at byte %zu has no field name (letters, "
                    "digits, '_', '-' and '.')",
                    open);
            return SL_EINVAL;
        }
        if (b - a > SL_TEMPLATE_NAME_MAX) {
            say(why, whysz, "the field name at byte %zu is too long", open);
            return SL_EINVAL;
        }
        i = b;
        while (tmpl[i] == ' ')
            i++;
        if (!(tmpl[i] == '}' && tmpl[i + 1] == '}')) {
            if (strstr(tmpl + open + 2, "}}") == NULL)
                say(why, whysz, "'{{' at byte %zu is not closed by '}}'", open);
            else
                say(why, whysz,
                    "the placeholder at byte %zu holds more than a field name",
                    open);
            return SL_EINVAL;
        }
        if (tmpl[a] == '.' || tmpl[b - 1] == '.' ||
            memmem(tmpl + a, b - a, "..", 2) != NULL) {
            say(why, whysz, "the field name at byte %zu is malformed", open);
            return SL_EINVAL;
        }
        if (fn != NULL && ((open > lit && (rc = fn(arg, false, tmpl + lit,
                                                   open - lit)) != 0) ||
                           (rc = fn(arg, true, tmpl + a, b - a)) != 0))
            return rc;
        i += 2;
        lit = i;
    }
    if (fn != NULL && len > lit &&
        (rc = fn(arg, false, tmpl + lit, len - lit)) != 0)
        return rc;
    return 0;
}

int
sl_template_check(const char *tmpl, char *why, size_t whysz)
{
    if (why != NULL && whysz > 0)
        why[0] = '\0';
    return scan(tmpl, NULL, NULL, why, whysz);
}

/* --- rendering -------------------------------------------------------------
 */

struct render {
    json_t *event;
    sl_buf out;
    bool full; /* the output reached SL_TEMPLATE_MAX_OUT */
};

/* The value at the dotted path name (n bytes) under root, or NULL. */
static json_t *
walk(json_t *root, const char *name, size_t n)
{
    json_t *v = root;
    size_t i = 0;

    while (v != NULL && i < n) {
        char key[SL_TEMPLATE_NAME_MAX + 1];
        size_t j = i;

        while (j < n && name[j] != '.')
            j++;
        memcpy(key, name + i, j - i);
        key[j - i] = '\0';
        v = json_is_object(v) ? json_object_get(v, key) : NULL;
        i = j + 1;
    }
    return v;
}

/*
 * Appends n bytes of s, cutting at a character boundary at the bound: the
 * cut steps back over the continuation bytes of s itself (the byte at the
 * bound tells whether a character starts there), so that a character is
 * kept whole or dropped whole.
 */
static int
put(struct render *rd, const char *s, size_t n)
{
    size_t room, keep;

    if (rd->full)
        return 0;
    room = SL_TEMPLATE_MAX_OUT - rd->out.len;
    if (n <= room)
        return sl_buf_append(&rd->out, s, n);
    keep = room;
    while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
        keep--;
    rd->full = true;
    return sl_buf_append(&rd->out, s, keep);
}

static int
on_piece(void *arg, bool name, const char *s, size_t n)
{
    struct render *rd = arg;
    json_t *v;
    char num[64];

    if (!name)
        return put(rd, s, n);
    v = walk(json_object_get(rd->event, "data"), s, n);
    if (v == NULL)
        v = walk(rd->event, s, n);
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return put(rd, json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return put(rd, num, strlen(num));
    }
    if (json_is_boolean(v))
        return put(rd, json_is_true(v) ? "true" : "false",
                   json_is_true(v) ? 4 : 5);
    {
        /* Reals, objects and arrays as compact JSON. */
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc;

        if (t == NULL)
            return SL_ENOMEM;
        rc = put(rd, t, strlen(t));
        free(t);
        return rc;
    }
}

int
sl_template_render(const char *tmpl, json_t *event, char **out)
{
    struct render rd = {.event = json_is_object(event) ? event : NULL};
    int rc;

    *out = NULL;
    sl_buf_init(&rd.out, SL_TEMPLATE_MAX_OUT);
    rc = scan(tmpl, on_piece, &rd, NULL, 0);
    if (rc == 0)
        rc = sl_buf_append(&rd.out, "", 0);
    if (rc != 0) {
        sl_buf_free(&rd.out);
        return rc;
    }
    *out = sl_buf_take(&rd.out);
    return *out != NULL ? 0 : SL_ENOMEM;
}
