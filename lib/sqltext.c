/*
 * sqltext.c: a small SQL lexer, and placeholders bound and seed 001's
 * quoted placeholders unquoted with it (see sqltext.h).
 *
 * The lexer cuts text into the tokens that matter for finding
 * placeholders and statement ends: blanks, comments, literals (strings,
 * dollar quotes, quoted identifiers), words (names and numbers, whole, so
 * that the '$' inside a name such as a$1 is part of it), ':name' and
 * '${name}', '$n', '::', ';', closing brackets, and any other byte alone.
 * It never fails: text the server would refuse (an unterminated string)
 * is passed on for the server to say so.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sqltext.h"

enum tok {
    T_BLANK,
    T_COMMENT,
    T_LITERAL,
    T_WORD,
    T_NAMED,      /* :name or ${name} */
    T_POSITIONAL, /* $n */
    T_CAST,       /* :: */
    T_SEMI,
    T_CLOSE, /* ) or ] */
    T_OTHER,
};

static bool
ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c >= 0x80;
}

static bool
ident_char(unsigned char c)
{
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Past a '...' literal starting at s; backslash escapes when escapes. */
static const char *
skip_quoted(const char *s, char quote, bool escapes)
{
    for (s++; *s != '\0'; s++) {
        if (escapes && *s == '\\' && s[1] != '\0')
            s++;
        else if (*s == quote && s[1] == quote)
            s++;
        else if (*s == quote)
            return s + 1;
    }
    return s;
}

/* Past a dollar-quoted string at s ("$tag$...$tag$"), or NULL if s does
 * not open one. */
static const char *
skip_dollar(const char *s)
{
    const char *t = s + 1, *e;
    size_t tag;

    if (ident_start((unsigned char)*t))
        while (ident_char((unsigned char)*t) && *t != '$')
            t++;
    if (*t != '$')
        return NULL;
    tag = (size_t)(t - s) + 1;
    for (e = t + 1; (e = strchr(e, '$')) != NULL; e++)
        if (strncmp(e, s, tag) == 0)
            return e + tag;
    return s + strlen(s);
}

/* Past a block comment at s, nested ones included. */
static const char *
skip_block_comment(const char *s)
{
    int depth = 0;

    while (*s != '\0') {
        if (s[0] == '/' && s[1] == '*') {
            depth++;
            s += 2;
        } else if (s[0] == '*' && s[1] == '/') {
            s += 2;
            if (--depth == 0)
                return s;
        } else {
            s++;
        }
    }
    return s;
}

/*
 * The token at s (not at its end): its kind, and where it ends in *end.
 * For T_NAMED, the name in *name, *nlen bytes. prev is the kind of the
 * token right before (T_BLANK at the start).
 */
static enum tok
lex(const char *s, enum tok prev, const char **end, const char **name,
    size_t *nlen)
{
    const unsigned char c = (unsigned char)*s;
    const char *e;

    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
        c == '\v') {
        *end = s + 1;
        return T_BLANK;
    }
    if (c == '-' && s[1] == '-') {
        *end = s + strcspn(s, "\n");
        return T_COMMENT;
    }
    if (c == '/' && s[1] == '*') {
        *end = skip_block_comment(s);
        return T_COMMENT;
    }
    if (c == '\'' || c == '"') {
        *end = skip_quoted(s, (char)c, false);
        return T_LITERAL;
    }
    if (ident_start(c) || is_digit(c)) {
        for (e = s + 1; ident_char((unsigned char)*e) ||
                        (is_digit(c) && *e == '.' && is_digit(e[1]));
             e++)
            ;
        /* A word right before a quote prefixes a string: E'..' escapes;
         * U&'..' and U&".." are Unicode forms; B, X, N are standard. */
        if (*e == '\'') {
            *end = skip_quoted(e, '\'', e - s == 1 && (c == 'E' || c == 'e'));
            return T_LITERAL;
        }
        if (e - s == 1 && (c == 'U' || c == 'u') && e[0] == '&' &&
            (e[1] == '\'' || e[1] == '"')) {
            *end = skip_quoted(e + 1, e[1], false);
            return T_LITERAL;
        }
        *end = e;
        return T_WORD;
    }
    if (c == '$') {
        if (is_digit((unsigned char)s[1])) {
            for (e = s + 1; is_digit((unsigned char)*e); e++)
                ;
            *end = e;
            return T_POSITIONAL;
        }
        if (s[1] == '{' && ident_start((unsigned char)s[2])) {
            for (e = s + 3; ident_char((unsigned char)*e) && *e != '$'; e++)
                ;
            if (*e == '}') {
                *name = s + 2;
                *nlen = (size_t)(e - *name);
                *end = e + 1;
                return T_NAMED;
            }
        }
        if ((e = skip_dollar(s)) != NULL) {
            *end = e;
            return T_LITERAL;
        }
    }
    if (c == ':' && s[1] == ':') {
        *end = s + 2;
        return T_CAST;
    }
    if (c == ':' && ident_start((unsigned char)s[1]) && prev != T_WORD &&
        prev != T_CLOSE) {
        for (e = s + 2; ident_char((unsigned char)*e) && *e != '$'; e++)
            ;
        *name = s + 1;
        *nlen = (size_t)(e - *name);
        *end = e;
        return T_NAMED;
    }
    *end = s + 1;
    return c == ';' ? T_SEMI : c == ')' || c == ']' ? T_CLOSE : T_OTHER;
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

/* The number of the parameter name (nlen bytes), added if new. Returns
 * it (1..), or a negative code with *missing set for SL_ENOTFOUND. */
static int
param_number(sl_pool *p, const char *name, size_t nlen, const json_t *first,
             const json_t *second, struct sl_sql_query *q, const char **missing)
{
    char *key = sl_pstrndup(p, name, nlen);
    const json_t *v = NULL;
    int k;

    if (key == NULL)
        return SL_ENOMEM;
    for (k = 0; k < q->nparams; k++)
        if (strcmp(q->names[k], key) == 0)
            return k + 1;
    if (first != NULL)
        v = json_object_get(first, key);
    if (v == NULL && second != NULL)
        v = json_object_get(second, key);
    if (v == NULL) {
        *missing = key;
        return SL_ENOTFOUND;
    }
    if (q->nparams == SL_MAX_SQL_PARAMS)
        return SL_ETOOBIG;
    q->names[k] = key;
    q->values[k] = value_text(p, v);
    if (q->values[k] == NULL && !json_is_null(v))
        return SL_ENOMEM;
    q->nparams++;
    return k + 1;
}

int
sl_sql_bind(sl_pool *p, const char *sql, const json_t *first,
            const json_t *second, struct sl_sql_query *q, const char **missing)
{
    size_t len = strlen(sql);
    char *out, *w;
    const char *s = sql, *end, *name = NULL;
    enum tok t = T_BLANK;
    bool ended = false; /* a ';' was seen */
    size_t nlen = 0;

    memset(q, 0, sizeof(*q));
    *missing = NULL;
    if (len > SL_MAX_SQL_BYTES)
        return SL_ETOOBIG;
    /* "$100" is no longer than ":a" plus two: room for every rewrite. */
    if ((out = w = sl_palloc(p, len * 2 + 16)) == NULL)
        return SL_ENOMEM;
    while (*s != '\0') {
        int k;

        t = lex(s, t, &end, &name, &nlen);
        if (ended && t != T_BLANK && t != T_COMMENT && t != T_SEMI) {
            q->refused = "the query must be one SQL statement: "
                         "something follows its ';'";
            return SL_EINVAL;
        }
        if (t == T_SEMI)
            ended = true;
        if (t == T_POSITIONAL) {
            q->refused = "the query may not use positional parameters "
                         "($1): name its values :name or ${name}";
            return SL_EINVAL;
        }
        if (t != T_NAMED) {
            memcpy(w, s, (size_t)(end - s));
            w += end - s;
            s = end;
            continue;
        }
        k = param_number(p, name, nlen, first, second, q, missing);
        if (k < 0)
            return k;
        w += sprintf(w, "$%d", k);
        s = end;
    }
    *w = '\0';
    q->text = out;
    return 0;
}

/*
 * Whether the literal token [s, end) is '${name}': a plain string, no
 * prefix, whose text is one ${name} placeholder as lex() reads one.
 */
static bool
quoted_placeholder(const char *s, const char *end)
{
    const char *e, *name;
    size_t nlen;

    if (end - s < 5 || s[0] != '\'' || s[1] != '$' || end[-1] != '\'')
        return false;
    return lex(s + 1, T_BLANK, &e, &name, &nlen) == T_NAMED && e == end - 1;
}

char *
sl_sql_unquote_placeholders(sl_pool *p, const char *sql)
{
    char *out = sl_palloc(p, strlen(sql) + 1), *w = out;
    const char *s = sql, *end, *name = NULL;
    enum tok t = T_BLANK;
    size_t nlen = 0, n;

    if (out == NULL)
        return NULL;
    while (*s != '\0') {
        t = lex(s, t, &end, &name, &nlen);
        n = (size_t)(end - s);
        if (t == T_LITERAL && quoted_placeholder(s, end)) {
            memcpy(w, s + 1, n - 2);
            w += n - 2;
        } else {
            memcpy(w, s, n);
            w += n;
        }
        s = end;
    }
    *w = '\0';
    return out;
}
