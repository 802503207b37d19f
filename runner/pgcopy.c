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
run_pg_fail(struct run_node *n, PGconn *c, const PGresult *r)
{
    const char *msg = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c);
    const char *state =
        r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (run_cancelled(n->job) || run_deadline_passed(n->job))
        return RUN_ECANCELLED;
    /* query_canceled, and not by the run's own cancel: the server's
     * statement_timeout. */
    return run_node_fail(n,
                         state != NULL && strcmp(state, "57014") == 0
                             ? "STATEMENT_TIMEOUT"
                             : NULL,
                         "%.*s", (int)strcspn(msg, "\n"), msg);
}

int
run_pg_do(struct run_node *n, PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = run_pg_fail(n, c, r);
    PQclear(r);
    return rc;
}
