/*
 * expr.h: the filter module's expression language, parsed once and
 * evaluated against each row.
 *
 * An expression is a condition on the columns of a row, in a small subset
 * of SQL:
 *
 *   expr      := expr OR expr | expr AND expr | NOT expr | ( expr )
 *              | operand cmp operand
 *              | operand IS [NOT] NULL
 *              | operand [NOT] IN ( literal [, literal]... )
 *              | operand [NOT] LIKE 'pattern'
 *   cmp       := = | == | != | <> | < | <= | > | >=
 *   operand   := column | literal
 *   column    := name | "quoted name"
 *   literal   := 'string' | number | TRUE | FALSE | NULL
 *
 * Keywords are case-insensitive; NOT binds tighter than AND, AND tighter
 * than OR. A name is [A-Za-z_][A-Za-z0-9_]* and not a keyword; a quoted
 * name may hold any text, "" standing for one double quote (so a column
 * named "and" or "Order Date" can be written). Both match a column name
 * exactly, case included. A string literal writes '' for one quote. A
 * number is [-]digits[.digits][e[+|-]digits] (or [-].digits...).
 *
 * Values are text in PostgreSQL's text output form, or NULL for SQL NULL.
 * A comparison of two values is:
 *
 * - boolean, when one side is the literal TRUE or FALSE: the other side
 *   must read as t, true, f, false, 1 or 0 (any case), else the comparison
 *   is unknown; false sorts before true;
 * - numeric, when both texts are decimal numbers as above (a leading '+'
 *   allowed, no spaces, no hexadecimal, NaN or Infinity). Numbers without
 *   an exponent compare exactly, whatever their number of digits; with an
 *   exponent, as doubles, and a number too large for a double is text;
 * - otherwise by bytes, as strcmp() does.
 *
 * Logic is SQL's, with three values: a comparison, IN or LIKE with a NULL
 * operand is unknown; NOT unknown is unknown; false AND unknown is false;
 * true OR unknown is true. x IN (...) is true when x equals an item,
 * unknown when it equals none but an item is NULL or unknown, and false
 * otherwise. A row is kept only when the whole expression is true.
 * Comparing with the literal NULL ("x = null") is refused at parse time
 * as the mistake it always is: write "x is null".
 *
 * LIKE matches the whole value against a string literal, in which '%'
 * stands for any run of characters and '_' for exactly one (UTF-8)
 * character; there is no escape character, and matching is
 * case-sensitive.
 *
 * Nothing in an expression reaches a shell or SQL: it is only ever
 * evaluated here.
 */
#ifndef RUN_EXPR_H
#define RUN_EXPR_H

#include <stddef.h>

#include "pool.h"

/* Bounds on what an expression may make the parser hold. */
#define RUN_EXPR_MAX_TEXT  4096 /* bytes of expression text */
#define RUN_EXPR_MAX_DEPTH 64   /* nested parentheses and NOTs */
#define RUN_EXPR_MAX_NODES 512  /* conditions, connectives and IN items */

/* A parsed expression; opaque, and immutable once parsed. */
struct run_expr;

/*
 * Parses text against the column names columns[0..ncols-1] (borrowed for
 * the call only) and stores in *out an expression allocated from p, which
 * lives as long as p does and is never freed on its own.
 *
 * Returns 0, or:
 *   SL_EPARSE   a syntax error;
 *   SL_EINVAL   a column not among columns, or a NULL argument;
 *   SL_ETOOBIG  text, nesting or node count beyond the RUN_EXPR_MAX_*;
 *   SL_ENOMEM   p is out of memory.
 * On failure *out is untouched and, when err is not NULL and errsz is not
 * 0, err holds a message saying what and where, as a byte offset from 0
 * into text: "unknown column \"amout\" at offset 0". On success err is "".
 */
int run_expr_parse(sl_pool *p, const char *text, const char *const *columns,
                   int ncols, struct run_expr **out, char *err, size_t errsz);

/*
 * Evaluates e against row, an array of the ncols values of the columns
 * given to run_expr_parse() (a NULL pointer is SQL NULL; all borrowed).
 * Returns 1 when the expression is true (keep the row), 0 when it is false
 * or unknown (drop it). Never fails and allocates nothing.
 */
int run_expr_eval(const struct run_expr *e, char *const *row);

#endif
