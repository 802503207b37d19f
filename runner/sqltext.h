/*
 * sqltext.h: a user's SQL as PostgreSQL's lexer sees it, just enough to
 * bind its named placeholders and to know it is one statement.
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
#ifndef RUN_SQLTEXT_H
#define RUN_SQLTEXT_H

#include <jansson.h>

#include "pool.h"

/* Most placeholders one query may have. */
#define RUN_MAX_PARAMS 100

/* Longest query text accepted, in bytes. */
#define RUN_MAX_QUERY_BYTES (1024 * 1024)

struct run_query {
    char *text;                         /* in the pool; $1..$n */
    int nparams;                        /* 0..RUN_MAX_PARAMS */
    const char *values[RUN_MAX_PARAMS]; /* text; NULL for SQL NULL */
    const char *names[RUN_MAX_PARAMS];
    const char *refused; /* why the text was refused (SL_EINVAL); static */
};

/*
 * Rewrites sql into q, in pool p, taking each name's value from first
 * (the run's parameters), then from second (the node's "params"); either
 * may be NULL. Returns 0; SL_ENOTFOUND with the missing name in *missing;
 * SL_EINVAL with q->refused saying why (a second statement, a positional
 * parameter); SL_ETOOBIG (more than RUN_MAX_PARAMS names, or a text over
 * RUN_MAX_QUERY_BYTES); or SL_ENOMEM.
 */
int run_query_bind(sl_pool *p, const char *sql, const json_t *first,
                   const json_t *second, struct run_query *q,
                   const char **missing);

#endif
