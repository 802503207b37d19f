/*
 * pgio.c: rows out of PostgreSQL and into it, for the nodes that talk to a
 * database (pgcopy.h: run_pg_select, struct run_copy_in).
 *
 * Out: a query of the node's config is prepared with its placeholders as
 * $1..$n so that the server infers each parameter's type and describes
 * the result's columns; each value is then handed to the server as a
 * parameter of set_config(), and the COPY (query) TO STDOUT that reads
 * the rows refers to it as current_setting('sluice.pN')::type. A value is
 * never pasted into the text; only type names the server gave, and
 * checked, are.
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

/*
 * The columns the prepared statement "" returns, and the type names of
 * its parameters, from the server's own format_type(). Fills *schema and
 * types[0..nparams).
 */
static int
describe(struct run_node *n, PGconn *c, int nparams,
         const struct run_schema **schema, const char **types)
{
    PGresult *d = PQdescribePrepared(c, "");
    struct run_schema *s;
    sl_buf oids, mods;
    PGresult *r = NULL;
    const char *p[2];
    int nf, rc = 0;

    if (PQresultStatus(d) != PGRES_COMMAND_OK) {
        rc = run_node_fail(n, NULL, "%s", PQresultErrorMessage(d));
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
    for (int i = 0; i < nf + nparams; i++) {
        sl_buf_printf(&oids, "%s%u", i ? "," : "",
                      i < nf ? PQftype(d, i) : PQparamtype(d, i - nf));
        sl_buf_printf(&mods, "%s%d", i ? "," : "", i < nf ? PQfmod(d, i) : -1);
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
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != nf + nparams) {
        rc = run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
        goto out;
    }
    for (int i = 0; i < nf; i++) {
        const char *t = PQgetvalue(r, i, 0);

        s->cols[i].name = sl_pstrdup(n->pool, PQfname(d, i));
        s->cols[i].type = sl_pstrdup(n->pool, run_type_ok(t) ? t : "text");
    }
    for (int i = 0; i < nparams; i++) {
        const char *t = PQgetvalue(r, nf + i, 0);

        types[i] = sl_pstrdup(n->pool, run_type_ok(t) ? t : "text");
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
 * The text COPY runs: q's $k replaced by the setting that carries its
 * value, cast to the type the server inferred.
 */
static char *
copy_text(const struct run_query *q, const char **types)
{
    sl_buf b;
    const char *s = q->text;
    char *out;

    sl_buf_init(&b, 4 * 1024 * 1024);
    sl_buf_puts(&b, "COPY (");
    while (*s != '\0') {
        /* run_query_bind() wrote every $k itself; user text has none
         * (describe() would have found more parameters than bound). */
        if (*s == '$' && s[1] >= '1' && s[1] <= '9') {
            char *e;
            long k = strtol(s + 1, &e, 10);

            if (k >= 1 && k <= q->nparams) {
                if (q->values[k - 1] == NULL)
                    sl_buf_printf(&b, "NULL::%s", types[k - 1]);
                else
                    sl_buf_printf(&b, "current_setting('sluice.p%ld')::%s", k,
                                  types[k - 1]);
                s = e;
                continue;
            }
        }
        sl_buf_append(&b, s, 1);
        s++;
    }
    sl_buf_puts(&b, ") TO STDOUT");
    out = sl_buf_take(&b);
    return out;
}

int
run_pg_select(struct run_node *n, PGconn *c, const char *sql)
{
    const char *types[RUN_MAX_PARAMS], *missing;
    const struct run_schema *schema = NULL;
    struct run_batch *b = NULL;
    struct run_query q;
    PGresult *r;
    char *copy, *line;
    int len, rc;

    rc = run_query_bind(n->pool, sql, n->job->params,
                        json_object_get(n->config, "params"), &q, &missing);
    if (rc == SL_ENOTFOUND)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "the query's parameter :%s has no value", missing);
    if (rc != 0)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "the query has more than %d parameters",
                             RUN_MAX_PARAMS);
    r = PQprepare(c, "", q.text, 0, NULL);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK
             ? 0
             : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
    PQclear(r);
    if (rc != 0 || (rc = describe(n, c, q.nparams, &schema, types)) != 0)
        return rc;
    for (int k = 0; k < q.nparams; k++) {
        char name[32];
        const char *p[2] = {name, q.values[k]};

        if (q.values[k] == NULL)
            continue;
        snprintf(name, sizeof(name), "sluice.p%d", k + 1);
        r = PQexecParams(c, "SELECT set_config($1, $2, true)", 2, NULL, p, NULL,
                         NULL, 0);
        rc = PQresultStatus(r) == PGRES_TUPLES_OK
                 ? 0
                 : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
        PQclear(r);
        if (rc != 0)
            return rc;
    }
    if ((copy = copy_text(&q, types)) == NULL)
        return SL_ENOMEM;
    run_node_watch(n, c);
    r = PQexec(c, copy);
    free(copy);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        rc = run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return rc;
    }
    PQclear(r);
    while ((len = PQgetCopyData(c, &line, 0)) > 0) {
        char **row;

        if (b == NULL &&
            (b = run_batch_new(schema, n->job->batch_size)) == NULL) {
            PQfreemem(line);
            return SL_ENOMEM;
        }
        if (line[len - 1] == '\n')
            len--;
        row = run_batch_add_row(b);
        rc = row == NULL ? SL_ENOMEM
                         : run_copy_decode(b->pool, line, (size_t)len, row,
                                           schema->ncols);
        PQfreemem(line);
        if (rc != 0) {
            run_batch_free(b);
            return run_node_fail(n, NULL, "an unreadable row from COPY");
        }
        if (b->nrows == n->job->batch_size) {
            rc = run_emit(n, b);
            b = NULL;
            if (rc != 0)
                return rc;
        }
    }
    r = PQgetResult(c);
    if (len == -2 || PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = run_cancelled(n->job)
                 ? RUN_ECANCELLED
                 : run_node_fail(n, NULL, "%s",
                                 len == -2 ? PQerrorMessage(c)
                                           : PQresultErrorMessage(r));
        PQclear(r);
        run_batch_free(b);
        return rc;
    }
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    run_node_watch(n, NULL);
    return b != NULL ? run_emit(n, b) : 0;
}

void
run_pg_close(PGconn **c, bool ok)
{
    if (*c == NULL)
        return;
    if (!ok && PQtransactionStatus(*c) == PQTRANS_ACTIVE) {
        char err[256];
        PGcancel *cancel = PQgetCancel(*c);

        PQcancel(cancel, err, sizeof(err));
        PQfreeCancel(cancel);
    }
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
