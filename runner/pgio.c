/*
 * pgio.c: rows out of PostgreSQL and into it, for the nodes that talk to a
 * database (pgcopy.h: run_pg_select, struct run_copy_in).
 *
 * Out: a query is prepared (a named statement, so that the server infers
 * each parameter's type and describes the result's columns, whose type
 * names come from its own format_type()). A user's query then runs
 * through the extended protocol, its values bound as parameters, never
 * pasted into the text, and its rows are read one at a time
 * (single-row mode). A query the runner wrote itself (a table's
 * SELECT *) is read through COPY ... TO STDOUT instead, which is faster
 * but takes no parameters.
 *
 * In: COPY ... FROM STDIN, the rows encoded in COPY's text format and
 * sent in chunks of COPY_CHUNK bytes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pgcopy.h"

/* How much COPY data is gathered before it is sent. */
#define COPY_CHUNK (256 * 1024)

/* --- out ------------------------------------------------------------------ */

/* The prepared statement a node's query is described and read through. */
#define QUERY_STMT "sluice_query"

/*
 * Prepares text as QUERY_STMT and describes the columns it returns, with
 * the type names the server's own format_type() gives. Fills *schema.
 * The server refuses a text of more than one statement here. Returns 0,
 * or fails n.
 */
static int
prepare(struct run_node *n, PGconn *c, const char *text,
        const struct run_schema **schema)
{
    PGresult *d = PQprepare(c, QUERY_STMT, text, 0, NULL), *r = NULL;
    struct run_schema *s;
    sl_buf oids, mods;
    const char *p[2];
    int nf, rc = 0;

    if (PQresultStatus(d) != PGRES_COMMAND_OK) {
        rc = run_pg_fail(n, c, d);
        PQclear(d);
        return rc;
    }
    PQclear(d);
    d = PQdescribePrepared(c, QUERY_STMT);
    if (PQresultStatus(d) != PGRES_COMMAND_OK) {
        rc = run_pg_fail(n, c, d);
        PQclear(d);
        return rc;
    }
    nf = PQnfields(d);
    if (nf == 0 || nf > RUN_MAX_COLUMNS) {
        PQclear(d);
        return run_node_fail(n, "VALIDATION_ERROR",
                             "the query must return between 1 and %d columns",
                             RUN_MAX_COLUMNS);
    }
    s = sl_pcalloc(n->pool, sizeof(*s));
    if (s == NULL || (s->cols = sl_pcalloc(n->pool, sizeof(*s->cols) *
                                                        (size_t)nf)) == NULL) {
        PQclear(d);
        return SL_ENOMEM;
    }
    s->ncols = nf;
    sl_buf_init(&oids, 1 << 20);
    sl_buf_init(&mods, 1 << 20);
    sl_buf_puts(&oids, "{");
    sl_buf_puts(&mods, "{");
    for (int i = 0; i < nf; i++) {
        sl_buf_printf(&oids, "%s%u", i ? "," : "", PQftype(d, i));
        sl_buf_printf(&mods, "%s%d", i ? "," : "", PQfmod(d, i));
    }
    sl_buf_puts(&oids, "}");
    sl_buf_puts(&mods, "}");
    p[0] = oids.data;
    p[1] = mods.data;
    r = PQexecParams(c,
                     "SELECT format_type(t, nullif(m, -1)) FROM "
                     "unnest($1::oid[], $2::integer[]) WITH ORDINALITY "
                     "AS u(t, m, i) ORDER BY i",
                     2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != nf) {
        rc = run_pg_fail(n, c, r);
        goto out;
    }
    for (int i = 0; i < nf; i++) {
        const char *t = PQgetvalue(r, i, 0);

        s->cols[i].name = sl_pstrdup(n->pool, PQfname(d, i));
        s->cols[i].type = sl_pstrdup(n->pool, run_type_ok(t) ? t : "text");
    }
    *schema = s;
out:
    sl_buf_free(&oids);
    sl_buf_free(&mods);
    PQclear(r);
    PQclear(d);
    return rc;
}

/*
 * A new row in *b (a batch of schema, made when *b is NULL); a full batch
 * is emitted first. Returns the row, or NULL with *rc set.
 */
static char **
next_row(struct run_node *n, const struct run_schema *schema,
         struct run_batch **b, int *rc)
{
    char **row;

    if (*b != NULL && (*b)->nrows == n->job->batch_size) {
        *rc = run_emit(n, *b);
        *b = NULL;
        if (*rc != 0)
            return NULL;
    }
    if (*b == NULL &&
        (*b = run_batch_new(schema, n->job->batch_size)) == NULL) {
        *rc = SL_ENOMEM;
        return NULL;
    }
    if ((row = run_batch_add_row(*b)) == NULL)
        *rc = SL_ENOMEM;
    return row;
}

/* Cancels what c is running, so that the server stops at once. */
static void
cancel_query(PGconn *c)
{
    char err[256];
    PGcancel *cancel = PQgetCancel(c);

    PQcancel(cancel, err, sizeof(err));
    PQfreeCancel(cancel);
}

/* Stops reading midway (rc says why): the query cancelled and drained,
 * the batch b dropped. Returns rc. */
static int
read_abort(struct run_node *n, PGconn *c, struct run_batch *b, int rc)
{
    PGresult *r;

    cancel_query(c);
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    run_node_watch(n, NULL);
    run_batch_free(b);
    return rc;
}

/* After the last row: the server's verdict r (taken), the rest drained,
 * QUERY_STMT let go, and the last batch b emitted. */
static int
read_end(struct run_node *n, PGconn *c, PGresult *r, struct run_batch *b)
{
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = run_pg_fail(n, c, r);
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    run_node_watch(n, NULL);
    if (rc == 0)
        rc = run_pg_do(n, c, "DEALLOCATE " QUERY_STMT);
    if (rc != 0) {
        run_batch_free(b);
        return rc;
    }
    return b != NULL ? run_emit(n, b) : 0;
}

int
run_pg_select(struct run_node *n, PGconn *c, const char *sql)
{
    const struct run_schema *schema = NULL;
    struct run_batch *b = NULL;
    struct sl_sql_query q;
    const char *missing;
    PGresult *r;
    int rc;

    rc = sl_sql_bind(n->pool, sql, n->job->params,
                     json_object_get(n->config, "params"), &q, &missing);
    if (rc == SL_ENOTFOUND)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "the query's parameter :%s has no value", missing);
    if (rc == SL_EINVAL)
        return run_node_fail(n, "VALIDATION_ERROR", "%s", q.refused);
    if (rc == SL_ETOOBIG)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "the query is longer than %d bytes or has more "
                             "than %d parameters",
                             SL_MAX_SQL_BYTES, SL_MAX_SQL_PARAMS);
    if (rc != 0 || (rc = prepare(n, c, q.text, &schema)) != 0)
        return rc;
    run_node_watch(n, c);
    if (!PQsendQueryPrepared(c, QUERY_STMT, q.nparams, q.values, NULL, NULL,
                             0) ||
        !PQsetSingleRowMode(c))
        return run_pg_fail(n, c, NULL);
    while ((r = PQgetResult(c)) != NULL &&
           PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
        char **row = next_row(n, schema, &b, &rc);

        for (int i = 0; row != NULL && i < schema->ncols; i++)
            if (!PQgetisnull(r, 0, i) &&
                (row[i] = sl_pstrndup(b->pool, PQgetvalue(r, 0, i),
                                      (size_t)PQgetlength(r, 0, i))) == NULL) {
                rc = SL_ENOMEM;
                row = NULL;
            }
        PQclear(r);
        if (row == NULL)
            return read_abort(n, c, b, rc);
    }
    return read_end(n, c, r, b);
}

int
run_pg_copy_out(struct run_node *n, PGconn *c, const char *sql)
{
    const struct run_schema *schema = NULL;
    struct run_batch *b = NULL;
    PGresult *r;
    char *line, **row;
    int len, rc;

    if ((rc = prepare(n, c, sql, &schema)) != 0)
        return rc;
    run_node_watch(n, c);
    r = PQexec(c, sl_psprintf(n->pool, "COPY (%s) TO STDOUT", sql));
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        rc = run_pg_fail(n, c, r);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    while ((len = PQgetCopyData(c, &line, 0)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        row = next_row(n, schema, &b, &rc);
        if (row != NULL && run_copy_decode(b->pool, line, (size_t)len, row,
                                           schema->ncols) != 0) {
            rc = run_node_fail(n, NULL, "an unreadable row from COPY");
            row = NULL;
        }
        PQfreemem(line);
        if (row == NULL)
            return read_abort(n, c, b, rc);
    }
    r = PQgetResult(c);
    if (len == -2) {
        PQclear(r);
        r = NULL; /* the connection's error says why */
    }
    return read_end(n, c, r, b);
}

void
run_pg_close(PGconn **c, bool ok)
{
    if (*c == NULL)
        return;
    if (!ok && PQtransactionStatus(*c) == PQTRANS_ACTIVE)
        cancel_query(*c);
    PQfinish(*c);
    *c = NULL;
}

/* --- in ------------------------------------------------------------------- */

void
run_copy_in_init(struct run_copy_in *ci)
{
    ci->c = NULL;
    ci->active = false;
    sl_buf_init(&ci->out, COPY_CHUNK + RUN_MAX_VALUE_BYTES);
}

int
run_copy_in_begin(struct run_node *n, struct run_copy_in *ci, PGconn *c,
                  const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COPY_IN
                 ? 0
                 : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));

    PQclear(r);
    ci->c = c;
    ci->active = rc == 0;
    return rc;
}

static int
send_out(struct run_node *n, struct run_copy_in *ci)
{
    if (ci->out.len == 0)
        return 0;
    if (PQputCopyData(ci->c, ci->out.data, (int)ci->out.len) != 1)
        return run_node_fail(n, NULL, "%s", PQerrorMessage(ci->c));
    sl_buf_reset(&ci->out);
    return 0;
}

int
run_copy_in_rows(struct run_node *n, struct run_copy_in *ci,
                 const struct run_batch *b)
{
    int rc = 0;

    run_node_watch(n, ci->c);
    for (size_t i = 0; i < b->nrows && rc == 0; i++) {
        rc = run_copy_encode(&ci->out, b->cells + i * (size_t)b->schema->ncols,
                             b->schema->ncols);
        if (rc == 0 && ci->out.len >= COPY_CHUNK)
            rc = send_out(n, ci);
    }
    return rc;
}

int
run_copy_in_end(struct run_node *n, struct run_copy_in *ci)
{
    PGresult *r;
    int rc;

    if ((rc = send_out(n, ci)) != 0)
        return rc;
    if (PQputCopyEnd(ci->c, NULL) != 1)
        return run_node_fail(n, NULL, "%s", PQerrorMessage(ci->c));
    ci->active = false;
    r = PQgetResult(ci->c);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK
             ? 0
             : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
    PQclear(r);
    while ((r = PQgetResult(ci->c)) != NULL)
        PQclear(r);
    return rc;
}

void
run_copy_in_free(struct run_copy_in *ci)
{
    sl_buf_free(&ci->out);
}
