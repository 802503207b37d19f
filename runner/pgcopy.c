/*
 * pgcopy.c: COPY's text format and the postgres modules' shared pieces
 * (see pgcopy.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "pgcopy.h"

static int
hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes the escape after a backslash at s into *w; returns past it. */
static const char *
unescape(const char *s, const char *end, char **w)
{
    static const char simple[] = "b\bf\fn\nr\rt\tv\v";
    /* strchr() finds a NUL too: the terminator, past which is nothing. */
    const char *m = *s != '\0' ? strchr(simple, *s) : NULL;
    int v;

    if (m != NULL && ((m - simple) % 2) == 0) {
        *(*w)++ = m[1];
        return s + 1;
    }
    if (*s == 'x' && s + 1 < end && hexval(s[1]) >= 0) {
        v = hexval(s[1]);
        s += 2;
        if (s < end && hexval(*s) >= 0)
            v = v * 16 + hexval(*s++);
        *(*w)++ = (char)v;
        return s;
    }
    if (*s >= '0' && *s <= '7') {
        v = 0;
        for (int k = 0; k < 3 && s < end && *s >= '0' && *s <= '7'; k++)
            v = v * 8 + (*s++ - '0');
        *(*w)++ = (char)v;
        return s;
    }
    *(*w)++ = *s;
    return s + 1;
}

int
run_copy_decode(sl_pool *p, const char *line, size_t len, char **row, int ncols)
{
    char *w = sl_palloc(p, len + 1);
    const char *s = line, *end = line + len;
    int col = 0;

    if (w == NULL)
        return SL_ENOMEM;
    for (;;) {
        char *start = w;

        if (col == ncols)
            return SL_EPARSE;
        if (end - s >= 2 && s[0] == '\\' && s[1] == 'N' &&
            (s + 2 == end || s[2] == '\t')) {
            row[col++] = NULL;
            s += 2;
        } else {
            while (s < end && *s != '\t') {
                if (*s != '\\' || s + 1 == end) {
                    *w++ = *s++;
                    continue;
                }
                s++;
                s = unescape(s, end, &w);
            }
            *w++ = '\0';
            row[col++] = start;
        }
        if (s == end)
            break;
        s++; /* the tab */
    }
    return col == ncols ? 0 : SL_EPARSE;
}

int
run_copy_encode(struct sl_buf *out, char *const *row, int ncols)
{
    for (int i = 0; i < ncols; i++) {
        const unsigned char *v = (const unsigned char *)row[i];

        if (i > 0 && sl_buf_append(out, "\t", 1) != 0)
            return SL_ENOMEM;
        if (v == NULL) {
            if (sl_buf_append(out, "\\N", 2) != 0)
                return SL_ENOMEM;
            continue;
        }
        /* Runs without a byte to escape are copied whole. */
        for (const unsigned char *s = v; *s != '\0'; s++) {
            const char *esc = NULL;

            switch (*s) {
            case '\\':
                esc = "\\\\";
                break;
            case '\t':
                esc = "\\t";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            }
            if (esc == NULL)
                continue;
            if (s > v && sl_buf_append(out, v, (size_t)(s - v)) != 0)
                return SL_ENOMEM;
            if (sl_buf_append(out, esc, 2) != 0)
                return SL_ENOMEM;
            v = s + 1;
        }
        if (*v != '\0' && sl_buf_append(out, v, strlen((const char *)v)) != 0)
            return SL_ENOMEM;
    }
    return sl_buf_append(out, "\n", 1) == 0 ? 0 : SL_ENOMEM;
}

/* --- placeholders -----------------------------------------------------------
 */

static bool
ident_start(int c)
{
    return isalpha(c) || c == '_';
}

static bool
ident_char(int c)
{
    return isalnum(c) || c == '_';
}

/* Past a dollar-quoted string starting at s ("$tag$"), or NULL if none. */
static const char *
skip_dollar(const char *s)
{
    const char *t = s + 1;
    size_t tag;
    const char *end;

    while (ident_char((unsigned char)*t))
        t++;
    if (*t != '$' || (t > s + 1 && isdigit((unsigned char)s[1])))
        return NULL;
    tag = (size_t)(t - s) + 1;
    for (end = t + 1; (end = strchr(end, '$')) != NULL; end++)
        if (strncmp(end, s, tag) == 0)
            return end + tag;
    return s + strlen(s);
}

/* The parameter's value as text (NULL for JSON null), in p. */
static const char *
value_text(sl_pool *p, const json_t *v)
{
    char *dump;
    const char *out;

    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_null(v))
        return NULL;
    if (json_is_true(v))
        return "true";
    if (json_is_false(v))
        return "false";
    if (json_is_integer(v))
        return sl_psprintf(p, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return sl_psprintf(p, "%.17g", json_real_value(v));
    dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    out = dump ? sl_pstrdup(p, dump) : NULL;
    free(dump);
    return out;
}

int
run_query_bind(sl_pool *p, const char *sql, const json_t *first,
               const json_t *second, struct run_query *q, const char **missing)
{
    size_t len = strlen(sql);
    /* "$100" is no longer than ":a" plus two: room for every rewrite. */
    char *out = sl_palloc(p, len * 2 + 16), *w = out;
    const char *s = sql;

    memset(q, 0, sizeof(*q));
    *missing = NULL;
    if (out == NULL)
        return SL_ENOMEM;
    while (*s != '\0') {
        const char *name = NULL, *next = NULL;
        size_t nlen = 0;

        if (s[0] == '-' && s[1] == '-') {
            next = s + strcspn(s, "\n");
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");

            next = e ? e + 2 : s + strlen(s);
        } else if (*s == '\'' || *s == '"') {
            char quote = *s;
            bool backslash =
                *s == '\'' && s > sql && (s[-1] == 'E' || s[-1] == 'e') &&
                (s - 1 == sql || !ident_char((unsigned char)s[-2]));

            next = s + 1;
            while (*next != '\0') {
                if (backslash && *next == '\\' && next[1] != '\0') {
                    next += 2;
                } else if (*next == quote) {
                    next++;
                    if (*next != quote)
                        break;
                    next++;
                } else {
                    next++;
                }
            }
        } else if (*s == '$' && s[1] == '{' &&
                   ident_start((unsigned char)s[2])) {
            const char *e = s + 2;

            while (ident_char((unsigned char)*e))
                e++;
            if (*e == '}') {
                name = s + 2;
                nlen = (size_t)(e - name);
                next = e + 1;
            }
        } else if (*s == '$' &&
                   (s == sql || !ident_char((unsigned char)s[-1]))) {
            next = skip_dollar(s);
        } else if (*s == ':' && s[1] == ':') {
            next = s + 2;
        } else if (*s == ':' && ident_start((unsigned char)s[1]) &&
                   (s == sql || s[-1] != ':')) {
            const char *e = s + 1;

            while (ident_char((unsigned char)*e))
                e++;
            name = s + 1;
            nlen = (size_t)(e - name);
            next = e;
        }
        if (name != NULL) {
            char *key = sl_pstrndup(p, name, nlen);
            const json_t *v = NULL;
            int k;

            if (key == NULL)
                return SL_ENOMEM;
            if (first != NULL)
                v = json_object_get(first, key);
            if (v == NULL && second != NULL)
                v = json_object_get(second, key);
            if (v == NULL) {
                *missing = key;
                return SL_ENOTFOUND;
            }
            for (k = 0; k < q->nparams; k++)
                if (strcmp(q->names[k], key) == 0)
                    break;
            if (k == q->nparams) {
                if (q->nparams == RUN_MAX_PARAMS)
                    return SL_ETOOBIG;
                q->names[k] = key;
                q->values[k] = value_text(p, v);
                q->nparams++;
            }
            w += sprintf(w, "$%d", k + 1);
            s = next;
            continue;
        }
        if (next == NULL)
            next = s + 1;
        memcpy(w, s, (size_t)(next - s));
        w += next - s;
        s = next;
    }
    *w = '\0';
    q->text = out;
    return 0;
}

/* --- names and types -------------------------------------------------------
 */

/* Past one of the words that may follow a type's name ("character
 * varying", "timestamp(3) with time zone"), or s when none does. */
static const char *
type_tail(const char *s)
{
    static const char *const tails[] = {
        " varying", " precision", " with time zone", " without time zone"};

    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++)
        if (strncmp(s, tails[i], strlen(tails[i])) == 0)
            return s + strlen(tails[i]);
    return s;
}

bool
run_type_ok(const char *t)
{
    const char *s = t;
    bool tailed;

    if (!isalpha((unsigned char)*s) && *s != '_')
        return false;
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    if (s - t > 63)
        return false;
    tailed = type_tail(s) != s;
    s = type_tail(s);
    if (*s == '(') {
        s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
        if (*s == ',') {
            s++;
            if (*s == '-')
                s++;
            if (!isdigit((unsigned char)*s))
                return false;
            while (isdigit((unsigned char)*s))
                s++;
        }
        if (*s++ != ')')
            return false;
        /* The words may follow the modifier instead, once. */
        if (!tailed)
            s = type_tail(s);
    }
    if (strcmp(s, "[]") == 0)
        return true;
    return *s == '\0';
}

const char *
run_quote(sl_pool *p, PGconn *c, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name));
    const char *out = q ? sl_pstrdup(p, q) : NULL;

    PQfreemem(q);
    return out;
}

const char *
run_qualified(sl_pool *p, PGconn *c, const char *schema, const char *table)
{
    const char *t = run_quote(p, c, table), *s;

    if (schema == NULL || t == NULL)
        return t;
    s = run_quote(p, c, schema);
    return s ? sl_psprintf(p, "%s.%s", s, t) : NULL;
}

int
run_pg_do(struct run_node *n, PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(r);

        rc = run_node_fail(n, NULL, "%.*s", (int)strcspn(msg, "\n"), msg);
    }
    PQclear(r);
    return rc;
}
