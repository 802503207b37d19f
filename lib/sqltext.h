/*
 * sqltext.h: a user's SQL as PostgreSQL's lexer sees it, just enough to
 * bind its named placeholders and to know it is one statement. The
 * runner binds the queries of a pipeline's nodes with it; the API reads
 * seed 001's SQL with it (graph.c). One lexer for both, so that what the
 * API accepts is what the runner runs.
 *
 * A query of a node's config may name values as :name or ${name}. They
 * are found only outside string literals ('...', E'...', U&'...', B'...',
 * X'...', dollar-quoted $tag$...$tag$), quoted identifiers ("..."),
 * comments (-- and nested block comments), after a "::" cast (::text is a
 * type), or right after a name, a number, ')' or ']' (arr[lo:hi] is an
 * array slice). Each becomes $k, the same name the same k, and its value
 * is bound as parameter k: a value never becomes part of the text. A
 * literal keeps its text exactly, "$1" included.
 *
 * The text must be one statement: a ';' followed by anything but blanks
 * and comments is refused, and so is a positional $n written by the
 * user (its value would be whichever the placeholders put there). The
 * server, which receives the text through the extended protocol, refuses
 * a second statement too; this says so earlier, and more clearly.
 *
 * Strings follow standard_conforming_strings = on (PostgreSQL's default):
 * a backslash escapes only in E'...'.
 */
#ifndef SL_SQLTEXT_H
#define SL_SQLTEXT_H

#include <jansson.h>

#include "limits.h"
#include "pool.h"

struct sl_sql_query {
    char *text;                            /* in the pool; $1..$n */
    int nparams;                           /* 0..SL_MAX_SQL_PARAMS */
    const char *values[SL_MAX_SQL_PARAMS]; /* text; NULL for SQL NULL */
    const char *names[SL_MAX_SQL_PARAMS];
    const char *refused; /* why the text was refused (SL_EINVAL); static */
};

/*
 * Rewrites sql into q, in pool p, taking each name's value from first
 * (the run's parameters), then from second (the node's "params"); either
 * may be NULL. Returns 0; SL_ENOTFOUND with the missing name in *missing;
 * SL_EINVAL with q->refused saying why (a second statement, a positional
 * parameter); SL_ETOOBIG (more than SL_MAX_SQL_PARAMS names, or a text
 * over SL_MAX_SQL_BYTES); or SL_ENOMEM.
 */
int sl_sql_bind(sl_pool *p, const char *sql, const json_t *first,
                const json_t *second, struct sl_sql_query *q,
                const char **missing);

/*
 * Seed 001's SQL, where a value is pasted into the text, made Sluice's,
 * where it is bound: every string literal that is one ${name} placeholder
 * and nothing else, '${name}', becomes the bare placeholder ${name}, the
 * literal's value being the parameter's. Placeholders inside longer
 * literals, prefixed literals (E'', X'', U&''...), quoted identifiers,
 * comments and dollar quotes, and ':name' literals, are left as they are.
 * Returns the text in pool p, or NULL out of memory.
 */
char *sl_sql_unquote_placeholders(sl_pool *p, const char *sql);

#endif
