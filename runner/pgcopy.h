/*
 * pgcopy.h: PostgreSQL's COPY text format, and what the postgres modules
 * share: reading a query's rows (its placeholders bound as parameters,
 * lib/sqltext.h), checked type names, quoted names, failures.
 *
 * COPY's text format: fields separated by a tab, rows by a newline, NULL
 * as \N, and a backslash escaping \b \f \n \r \t \v \\, octal \ooo and
 * hex \xhh. Values in batches are the decoded text.
 */
#ifndef RUN_PGCOPY_H
#define RUN_PGCOPY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "buf.h"
#include "engine.h"
#include "pool.h"
#include "sqltext.h"

/*
 * Decodes one COPY text line of len bytes (no newline) into row, ncols
 * values in pool p. Returns 0, SL_EPARSE when the line has another number
 * of fields, or SL_ENOMEM.
 */
int run_copy_decode(sl_pool *p, const char *line, size_t len, char **row,
                    int ncols);

/*
 * Appends row (ncols values, NULL for NULL) to out as one COPY text line.
 * Returns 0 or SL_ENOMEM / SL_ETOOBIG.
 */
int run_copy_encode(struct sl_buf *out, char *const *row, int ncols);

/*
 * Whether t is a type name safe to write into CREATE TABLE, as the
 * server's format_type() writes them: one word, optionally followed by
 * "varying", "precision", "with time zone" or "without time zone" (before
 * or after the modifier: "timestamp(3) with time zone"), a numeric
 * modifier "(n)" or "(n,m)" (m may be negative), and "[]".
 */
bool run_type_ok(const char *t);

/* "schema"."table" (or "table" when schema is NULL), quoted, in pool p. */
const char *run_qualified(sl_pool *p, PGconn *c, const char *schema,
                          const char *table);

/* A name quoted for SQL, in pool p; NULL when out of memory. */
const char *run_quote(sl_pool *p, PGconn *c, const char *name);

/*
 * Fails n with the first line of r's error (r NULL: c's). A statement the
 * server cancelled while the run was not being stopped ran past its
 * statement_timeout: code STATEMENT_TIMEOUT. Returns SL_ERR, or
 * RUN_ECANCELLED when the run is being stopped or past its deadline.
 */
int run_pg_fail(struct run_node *n, PGconn *c, const PGresult *r);

/* Runs sql on c; 0, or fails n (run_pg_fail()). */
int run_pg_do(struct run_node *n, PGconn *c, const char *sql);

/* --- moving rows (pgio.c) ------------------------------------------------- */

/*
 * Runs sql, a query of n's config (the user's SQL), on c in the caller's
 * transaction and emits its rows from n in batches. Its placeholders take
 * their values from the run's parameters, then the node's "params"
 * (sqltext.h); the text goes to the server as one prepared statement,
 * the values as its parameters (the extended protocol: never a second
 * statement), and the rows come back one by one (single-row mode).
 * Returns 0, RUN_ECANCELLED, or fails n.
 */
int run_pg_select(struct run_node *n, PGconn *c, const char *sql);

/*
 * As run_pg_select(), for a query the runner wrote itself from checked
 * and quoted names (a table's SELECT *), without placeholders: read
 * through COPY (...) TO STDOUT, the fastest way out of PostgreSQL.
 */
int run_pg_copy_out(struct run_node *n, PGconn *c, const char *sql);

/*
 * Closes a node's connection *c (NULL: nothing) and clears it. Unless ok,
 * the statement in progress is cancelled first so that the server stops
 * at once; closing rolls back whatever transaction was open.
 */
void run_pg_close(PGconn **c, bool ok);

/* A COPY ... FROM STDIN, its data gathered and sent in chunks. */
struct run_copy_in {
    PGconn *c;   /* borrowed */
    bool active; /* between begin and end */
    sl_buf out;
};

void run_copy_in_init(struct run_copy_in *ci);

/* Starts COPY sql (... FROM STDIN) on c. Returns 0, or fails n. */
int run_copy_in_begin(struct run_node *n, struct run_copy_in *ci, PGconn *c,
                      const char *sql);

/* Sends b's rows (b stays the caller's). Returns 0, or fails n. */
int run_copy_in_rows(struct run_node *n, struct run_copy_in *ci,
                     const struct run_batch *b);

/* Ends the COPY and waits for the server's verdict. 0, or fails n. */
int run_copy_in_end(struct run_node *n, struct run_copy_in *ci);

void run_copy_in_free(struct run_copy_in *ci);

#endif
