/*
 * mod_cast.c: the cast transformer: {"columns": {"age": "integer"},
 * "on_error": "fail" | "null" | "skip_row"}.
 *
 * Each value of a named column is checked against its new type and
 * written in PostgreSQL's form of it (booleans as true/false, numbers
 * without surrounding blanks); the column's type becomes that type, which
 * a postgres loader then creates it as. A value that is not of the type
 * fails the run (naming the column, the row and the value), becomes NULL,
 * or has its row set aside (counted in records_failed), as on_error says.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "json.h"

/* A check: 0 and the value in PostgreSQL's form in *out (may be v). */
typedef int (*cast_fn)(sl_pool *p, char *v, char **out);

static int
cast_text(sl_pool *p, char *v, char **out)
{
    (void)p;
    *out = v;
    return 0;
}

static int
int_in(char *v, char **out, long long lo, long long hi)
{
    char *s = run_trim(v), *e;
    long long x;

    errno = 0;
    x = strtoll(s, &e, 10);
    if (*s == '\0' || *e != '\0' || errno != 0 || x < lo || x > hi)
        return SL_EINVAL;
    *out = s;
    return 0;
}

static int
cast_integer(sl_pool *p, char *v, char **out)
{
    (void)p;
    return int_in(v, out, INT_MIN, INT_MAX);
}

static int
cast_bigint(sl_pool *p, char *v, char **out)
{
    (void)p;
    return int_in(v, out, LLONG_MIN, LLONG_MAX);
}

/* Digits with an optional sign, point and exponent (numeric's input). */
static int
cast_numeric(sl_pool *p, char *v, char **out)
{
    char *s = run_trim(v), *t = s;
    int digits = 0;

    (void)p;
    if (*t == '+' || *t == '-')
        t++;
    while (isdigit((unsigned char)*t))
        t++, digits++;
    if (*t == '.')
        for (t++; isdigit((unsigned char)*t); t++)
            digits++;
    if (digits == 0)
        return strcasecmp(s, "NaN") == 0 ? (*out = s, 0) : SL_EINVAL;
    if (*t == 'e' || *t == 'E') {
        t++;
        if (*t == '+' || *t == '-')
            t++;
        if (!isdigit((unsigned char)*t))
            return SL_EINVAL;
        while (isdigit((unsigned char)*t))
            t++;
    }
    if (*t != '\0')
        return SL_EINVAL;
    *out = s;
    return 0;
}

static int
cast_double(sl_pool *p, char *v, char **out)
{
    char *s = run_trim(v), *e;

    (void)p;
    errno = 0;
    strtod(s, &e);
    if (*s == '\0' || *e != '\0' || errno == ERANGE)
        return SL_EINVAL;
    *out = s;
    return 0;
}

static int
cast_boolean(sl_pool *p, char *v, char **out)
{
    static const char *const yes[] = {"t", "true", "y", "yes", "on", "1"};
    static const char *const no[] = {"f", "false", "n", "no", "off", "0"};
    char *s = run_trim(v);

    /* Cells stay writable: later nodes may change them in place. */
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return (*out = sl_pstrdup(p, "true")) ? 0 : SL_ENOMEM;
        if (strcasecmp(s, no[i]) == 0)
            return (*out = sl_pstrdup(p, "false")) ? 0 : SL_ENOMEM;
    }
    return SL_EINVAL;
}

/* YYYY-MM-DD with a real day; returns past it, or NULL. */
static const char *
date_part(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, used = 0;

    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || used != 10 ||
        m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return NULL;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return NULL;
    return s + used;
}

static int
cast_date(sl_pool *p, char *v, char **out)
{
    char *s = run_trim(v);
    const char *e = date_part(s);

    (void)p;
    if (e == NULL || *e != '\0')
        return SL_EINVAL;
    *out = s;
    return 0;
}

/* date, then [ T]HH:MM[:SS[.frac]], then, with zone, Z or +hh[:mm]. */
static int
stamp(char *v, char **out, bool zone)
{
    char *s = run_trim(v);
    const char *t = date_part(s);
    int h, mi, used = 0;

    if (t == NULL)
        return SL_EINVAL;
    if (*t == '\0') {
        *out = s;
        return 0;
    }
    if ((*t != ' ' && *t != 'T') ||
        sscanf(t + 1, "%2d:%2d%n", &h, &mi, &used) != 2 || used != 5 ||
        h > 23 || mi > 59)
        return SL_EINVAL;
    t += 6;
    if (t[0] == ':' && isdigit((unsigned char)t[1]) &&
        isdigit((unsigned char)t[2]) && t[1] <= '5') {
        t += 3;
        if (*t == '.')
            for (t++; isdigit((unsigned char)*t); t++)
                ;
    }
    if (zone && (*t == 'Z' || *t == 'z'))
        t++;
    else if (zone && (*t == '+' || *t == '-') && isdigit((unsigned char)t[1]) &&
             isdigit((unsigned char)t[2])) {
        t += 3;
        if (*t == ':')
            t++;
        while (isdigit((unsigned char)*t))
            t++;
    }
    if (*t != '\0')
        return SL_EINVAL;
    *out = s;
    return 0;
}

static int
cast_timestamp(sl_pool *p, char *v, char **out)
{
    (void)p;
    return stamp(v, out, false);
}

static int
cast_timestamptz(sl_pool *p, char *v, char **out)
{
    (void)p;
    return stamp(v, out, true);
}

static const struct {
    const char *name, *pg_type, *phrase;
    cast_fn fn;
} casts[] = {
    {"text", "text", "text", cast_text},
    {"integer", "integer", "an integer", cast_integer},
    {"bigint", "bigint", "a bigint", cast_bigint},
    {"numeric", "numeric", "a number", cast_numeric},
    {"double", "double precision", "a number", cast_double},
    {"boolean", "boolean", "a boolean", cast_boolean},
    {"date", "date", "a date (YYYY-MM-DD)", cast_date},
    {"timestamp", "timestamp", "a timestamp", cast_timestamp},
    {"timestamptz", "timestamptz", "a timestamp with time zone",
     cast_timestamptz},
};

enum on_error { ON_FAIL, ON_NULL, ON_SKIP };

struct cast {
    const struct run_schema *in, *out;
    int *how; /* per column: index into casts, or -1 */
    enum on_error on_error;
};

static int
plan(struct run_node *n, struct cast *x, const struct run_schema *s)
{
    json_t *cols = json_object_get(n->config, "columns"), *v;
    struct run_schema *out;
    const char *name;

    if (x->in == s)
        return 0;
    out = run_schema_copy(n->pool, s);
    x->how = sl_palloc(n->pool, sizeof(int) * (size_t)(s->ncols + 1));
    if (out == NULL || x->how == NULL)
        return SL_ENOMEM;
    for (int i = 0; i < s->ncols; i++)
        x->how[i] = -1;
    json_object_foreach(cols, name, v)
    {
        int k = run_schema_find(s, name);
        size_t c;

        if (k < 0)
            return run_node_fail(n, "VALIDATION_ERROR",
                                 "columns: the input has no column %.63s",
                                 name);
        for (c = 0; c < sizeof(casts) / sizeof(casts[0]); c++)
            if (json_is_string(v) &&
                strcmp(json_string_value(v), casts[c].name) == 0)
                break;
        if (c == sizeof(casts) / sizeof(casts[0]))
            return run_node_fail(n, "VALIDATION_ERROR",
                                 "columns.%.63s: unknown type", name);
        x->how[k] = (int)c;
        out->cols[k].type = casts[c].pg_type;
    }
    x->in = s;
    x->out = out;
    return 0;
}

static int
cast_open(struct run_node *n)
{
    struct cast *x = sl_pcalloc(n->pool, sizeof(*x));
    const char *e = sl_json_get_str(n->config, "on_error");

    if (x == NULL)
        return SL_ENOMEM;
    x->on_error = e == NULL || strcmp(e, "fail") == 0 ? ON_FAIL
                  : strcmp(e, "null") == 0            ? ON_NULL
                                                      : ON_SKIP;
    n->state = x;
    return 0;
}

static int
cast_push(struct run_node *n, struct run_batch *b)
{
    struct cast *x = n->state;
    size_t w, keep = 0;
    int rc = plan(n, x, b->schema);

    if (rc != 0) {
        run_batch_free(b);
        return rc;
    }
    w = (size_t)b->schema->ncols;
    for (size_t r = 0; r < b->nrows; r++) {
        char **row = b->cells + r * w;
        bool bad = false;

        for (size_t c = 0; c < w && !bad; c++) {
            char *v = row[c];

            if (x->how[c] < 0 || v == NULL ||
                casts[x->how[c]].fn(b->pool, v, &row[c]) == 0)
                continue;
            if (x->on_error == ON_NULL) {
                row[c] = NULL;
            } else if (x->on_error == ON_SKIP) {
                bad = true;
            } else {
                rc = run_node_fail(
                    n, "CAST_ERROR",
                    "column %.63s, row %llu: \"%.40s\" is not "
                    "%s",
                    b->schema->cols[c].name,
                    (unsigned long long)(n->rows_in - b->nrows + r + 1), v,
                    casts[x->how[c]].phrase);
                run_batch_free(b);
                return rc;
            }
        }
        if (bad) {
            n->rows_failed++;
            n->rows_filtered++;
            continue;
        }
        if (keep != r)
            memmove(b->cells + keep * w, row, w * sizeof(char *));
        keep++;
    }
    b->nrows = keep;
    b->schema = x->out;
    return run_emit(n, b);
}

const struct run_module_ops run_mod_cast = {
    .type = SL_MODULE_TRANSFORMER,
    .open = cast_open,
    .push = cast_push,
};
