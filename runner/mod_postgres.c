/*
 * mod_postgres.c: the postgres extractor and loader.
 *
 * The extractor runs its query (or reads its table) in a read-only
 * transaction and reads the rows through COPY ... TO STDOUT. Its :name
 * and ${name} placeholders are bound, never pasted: the query is first
 * prepared with $1..$n so that the server infers each parameter's type
 * and describes the result's columns; each value is then handed to the
 * server as a parameter of set_config(), and the query COPY runs reads
 * it back as current_setting('sluice.pN')::type. Only type names the
 * server gave, and checked, go into the text.
 *
 * The loader writes through COPY ... FROM STDIN inside one transaction,
 * committed only when the whole run succeeded (engine.h), so a failed or
 * cancelled run leaves the table as it was. append copies into the table;
 * replace empties it first (TRUNCATE, in the same transaction); upsert
 * copies into a temporary table and merges with INSERT ... ON CONFLICT
 * on key_columns, the last row of a key winning. With create_table (the
 * default) a missing table is created with the columns and types of the
 * first batch, and key_columns as its primary key.
 *
 * Without connection_id both work in the organisation's warehouse: the
 * loader in its layer schemas (schema: bronze, silver or gold), the
 * extractor reading a table there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pgcopy.h"

/* How much COPY data the loader gathers before sending it. */
#define COPY_CHUNK (256 * 1024)

/* --- extract -------------------------------------------------------------- */

struct pg_extract {
    PGconn *c;
    bool warehouse;
};

/*
 * Closes a module's connection. After a failure or a cancel, whatever the
 * connection was doing (a COPY in either direction, a transaction) is
 * abandoned: the statement in progress is cancelled so that the server
 * stops at once, and closing the connection rolls the transaction back.
 */
static void
pg_close(PGconn **c, bool ok)
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

static int
extract_open(struct run_node *n)
{
    struct pg_extract *x = sl_pcalloc(n->pool, sizeof(*x));

    if (x == NULL)
        return SL_ENOMEM;
    n->state = x;
    return run_pg_open(n, &x->c, &x->warehouse);
}

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

static int
extract_produce(struct run_node *n)
{
    struct pg_extract *x = n->state;
    const char *sql = sl_json_get_str(n->config, "query"), *missing;
    const char *types[RUN_MAX_PARAMS];
    const struct run_schema *schema = NULL;
    struct run_batch *b = NULL;
    struct run_query q;
    PGresult *r;
    char *copy = NULL, *line;
    int len, rc;

    if (sql == NULL) {
        const char *t = run_qualified(
            n->pool, x->c,
            x->warehouse
                ? run_wh_schema(n, sl_json_get_str(n->config, "schema"))
                : sl_json_get_str(n->config, "schema"),
            sl_json_get_str(n->config, "table"));

        if (t == NULL)
            return SL_ERR;
        sql = sl_psprintf(n->pool, "SELECT * FROM %s", t);
    } else if (x->warehouse) {
        return run_node_fail(n, "VALIDATION_ERROR",
                             "a query needs a connection_id: in the "
                             "warehouse, name a schema and a table");
    }
    rc = run_query_bind(n->pool, sql, n->job->params,
                        json_object_get(n->config, "params"), &q, &missing);
    if (rc == SL_ENOTFOUND)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "the query's parameter :%s has no value", missing);
    if (rc != 0)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "the query has more than %d parameters",
                             RUN_MAX_PARAMS);
    if ((rc = run_pg_do(
             n, x->c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != 0)
        return rc;
    r = PQprepare(x->c, "", q.text, 0, NULL);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK
             ? 0
             : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
    PQclear(r);
    if (rc != 0 || (rc = describe(n, x->c, q.nparams, &schema, types)) != 0)
        return rc;
    for (int k = 0; k < q.nparams; k++) {
        char name[32];
        const char *p[2] = {name, q.values[k]};

        if (q.values[k] == NULL)
            continue;
        snprintf(name, sizeof(name), "sluice.p%d", k + 1);
        r = PQexecParams(x->c, "SELECT set_config($1, $2, true)", 2, NULL, p,
                         NULL, NULL, 0);
        rc = PQresultStatus(r) == PGRES_TUPLES_OK
                 ? 0
                 : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
        PQclear(r);
        if (rc != 0)
            return rc;
    }
    if ((copy = copy_text(&q, types)) == NULL)
        return SL_ENOMEM;
    run_node_watch(n, x->c);
    r = PQexec(x->c, copy);
    free(copy);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        rc = run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return rc;
    }
    PQclear(r);
    while ((len = PQgetCopyData(x->c, &line, 0)) > 0) {
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
    r = PQgetResult(x->c);
    if (len == -2 || PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = run_cancelled(n->job)
                 ? RUN_ECANCELLED
                 : run_node_fail(n, NULL, "%s",
                                 len == -2 ? PQerrorMessage(x->c)
                                           : PQresultErrorMessage(r));
        PQclear(r);
        run_batch_free(b);
        return rc;
    }
    PQclear(r);
    while ((r = PQgetResult(x->c)) != NULL)
        PQclear(r);
    run_node_watch(n, NULL);
    run_pg_do(n, x->c, "COMMIT");
    n->progress = 1;
    if (b != NULL && (rc = run_emit(n, b)) != 0)
        return rc;
    run_node_log(n, "INFO", json_pack("{s:I}", "rows", (json_int_t)n->rows_out),
                 "Extracted %llu rows from PostgreSQL",
                 (unsigned long long)n->rows_out);
    return 0;
}

static void
extract_close(struct run_node *n, bool ok)
{
    struct pg_extract *x = n->state;

    if (x != NULL)
        pg_close(&x->c, ok);
}

const struct run_module_ops run_mod_pg_extract = {
    .type = SL_MODULE_EXTRACTOR,
    .name = "postgres",
    .open = extract_open,
    .produce = extract_produce,
    .close = extract_close,
};

/* --- load ------------------------------------------------------------------
 */

struct pg_load {
    PGconn *c;
    bool warehouse;
    const char *schema; /* physical, or NULL: the search path */
    const char *target; /* quoted, qualified */
    const char *mode;
    const struct run_schema *cols; /* of the first batch */
    const char *col_list;          /* quoted, comma-separated */
    bool copying;
    sl_buf out;
};

static int
load_open(struct run_node *n)
{
    struct pg_load *l = sl_pcalloc(n->pool, sizeof(*l));
    int rc;

    if (l == NULL)
        return SL_ENOMEM;
    n->state = l;
    sl_buf_init(&l->out, COPY_CHUNK + RUN_MAX_VALUE_BYTES);
    l->mode = sl_json_get_str(n->config, "mode");
    if (l->mode == NULL)
        l->mode = "append";
    if (strcmp(l->mode, "upsert") == 0 &&
        json_array_size(json_object_get(n->config, "key_columns")) == 0)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "mode upsert needs key_columns");
    if ((rc = run_pg_open(n, &l->c, &l->warehouse)) != 0)
        return rc;
    l->schema = l->warehouse
                    ? run_wh_schema(n, sl_json_get_str(n->config, "schema"))
                    : sl_json_get_str(n->config, "schema");
    if (l->warehouse && l->schema == NULL)
        return SL_ERR;
    l->target = run_qualified(n->pool, l->c, l->schema,
                              sl_json_get_str(n->config, "table"));
    if (l->target == NULL)
        return SL_ENOMEM;
    if (l->warehouse &&
        (rc = run_pg_do(n, l->c,
                        sl_psprintf(n->pool, "CREATE SCHEMA IF NOT EXISTS %s",
                                    run_quote(n->pool, l->c, l->schema)))) != 0)
        return rc;
    return run_pg_do(n, l->c, "BEGIN");
}

/* The key columns, quoted and comma-separated; NULL (n failed) if one is
 * not a column of the input. */
static const char *
key_list(struct run_node *n, struct pg_load *l)
{
    json_t *keys = json_object_get(n->config, "key_columns"), *k;
    sl_buf b;
    size_t i;
    char *text;
    const char *out;

    sl_buf_init(&b, 1 << 20);
    json_array_foreach(keys, i, k)
    {
        const char *name = json_string_value(k);

        if (name == NULL || run_schema_find(l->cols, name) < 0) {
            sl_buf_free(&b);
            run_node_fail(n, "VALIDATION_ERROR",
                          "key_columns[%zu]: the input has no column %.63s", i,
                          name ? name : "");
            return NULL;
        }
        sl_buf_printf(&b, "%s%s", i ? ", " : "",
                      run_quote(n->pool, l->c, name));
    }
    text = sl_buf_take(&b);
    out = text ? sl_pstrdup(n->pool, text) : NULL;
    free(text);
    return out;
}

/* Before the first row: creates, empties or stages, and starts COPY. */
static int
load_begin(struct run_node *n, struct pg_load *l, const struct run_schema *s)
{
    bool upsert = strcmp(l->mode, "upsert") == 0;
    const char *keys = NULL, *into = l->target;
    sl_buf b;
    char *text;
    PGresult *r;
    int rc;

    l->cols = run_schema_copy(n->pool, s);
    if (l->cols == NULL)
        return SL_ENOMEM;
    sl_buf_init(&b, 4 * 1024 * 1024);
    for (int i = 0; i < s->ncols; i++)
        sl_buf_printf(&b, "%s%s", i ? ", " : "",
                      run_quote(n->pool, l->c, s->cols[i].name));
    text = sl_buf_take(&b);
    l->col_list = text ? sl_pstrdup(n->pool, text) : NULL;
    free(text);
    if (l->col_list == NULL)
        return SL_ENOMEM;
    if (upsert && (keys = key_list(n, l)) == NULL)
        return SL_ERR;
    if (sl_json_get_bool(n->config, "create_table", true)) {
        sl_buf_init(&b, 4 * 1024 * 1024);
        sl_buf_printf(&b, "CREATE TABLE IF NOT EXISTS %s (", l->target);
        for (int i = 0; i < s->ncols; i++)
            sl_buf_printf(&b, "%s%s %s", i ? ", " : "",
                          run_quote(n->pool, l->c, s->cols[i].name),
                          run_type_ok(s->cols[i].type) ? s->cols[i].type
                                                       : "text");
        if (upsert)
            sl_buf_printf(&b, ", PRIMARY KEY (%s)", keys);
        sl_buf_puts(&b, ")");
        text = sl_buf_take(&b);
        rc = text ? run_pg_do(n, l->c, text) : SL_ENOMEM;
        free(text);
        if (rc != 0)
            return rc;
    }
    if (strcmp(l->mode, "replace") == 0 &&
        (rc = run_pg_do(n, l->c,
                        sl_psprintf(n->pool, "TRUNCATE %s", l->target))) != 0)
        return rc;
    if (upsert) {
        into = "sluice_stage";
        rc = run_pg_do(n, l->c,
                       sl_psprintf(n->pool,
                                   "CREATE TEMPORARY TABLE sluice_stage "
                                   "ON COMMIT DROP AS SELECT %s FROM %s "
                                   "WITH NO DATA",
                                   l->col_list, l->target));
        if (rc != 0)
            return rc;
    }
    r = PQexec(l->c, sl_psprintf(n->pool, "COPY %s (%s) FROM STDIN", into,
                                 l->col_list));
    rc = PQresultStatus(r) == PGRES_COPY_IN
             ? 0
             : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
    PQclear(r);
    l->copying = rc == 0;
    return rc;
}

static int
send_out(struct run_node *n, struct pg_load *l)
{
    if (l->out.len == 0)
        return 0;
    if (PQputCopyData(l->c, l->out.data, (int)l->out.len) != 1)
        return run_node_fail(n, NULL, "%s", PQerrorMessage(l->c));
    sl_buf_reset(&l->out);
    return 0;
}

static int
load_push(struct run_node *n, struct run_batch *b)
{
    struct pg_load *l = n->state;
    int rc = 0;

    if (l->cols == NULL && (rc = load_begin(n, l, b->schema)) != 0)
        goto out;
    if (!run_schema_same(l->cols, b->schema)) {
        rc = run_node_fail(n, "VALIDATION_ERROR",
                           "rows arrive with other columns than the first");
        goto out;
    }
    run_node_watch(n, l->c);
    for (size_t i = 0; i < b->nrows && rc == 0; i++) {
        rc = run_copy_encode(&l->out, b->cells + i * (size_t)b->schema->ncols,
                             b->schema->ncols);
        if (rc == 0 && l->out.len >= COPY_CHUNK)
            rc = send_out(n, l);
    }
out:
    run_batch_free(b);
    return rc;
}

static int
load_finish(struct run_node *n)
{
    struct pg_load *l = n->state;
    PGresult *r;
    int rc = 0;

    if (!l->copying) {
        /* No row came: replace still empties the table, when it exists. */
        if (strcmp(l->mode, "replace") == 0) {
            const char *p[1] = {l->target};

            r = PQexecParams(l->c, "SELECT to_regclass($1) IS NOT NULL", 1,
                             NULL, p, NULL, NULL, 0);
            rc = PQresultStatus(r) != PGRES_TUPLES_OK
                     ? run_node_fail(n, NULL, "%s", PQresultErrorMessage(r))
                 : PQgetvalue(r, 0, 0)[0] == 't'
                     ? run_pg_do(n, l->c,
                                 sl_psprintf(n->pool, "TRUNCATE %s", l->target))
                     : 0;
            PQclear(r);
            return rc;
        }
        return 0;
    }
    if ((rc = send_out(n, l)) != 0)
        return rc;
    if (PQputCopyEnd(l->c, NULL) != 1)
        return run_node_fail(n, NULL, "%s", PQerrorMessage(l->c));
    l->copying = false;
    r = PQgetResult(l->c);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK
             ? 0
             : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));
    PQclear(r);
    while ((r = PQgetResult(l->c)) != NULL)
        PQclear(r);
    if (rc == 0 && strcmp(l->mode, "upsert") == 0) {
        const char *keys = key_list(n, l);
        sl_buf b;
        char *text;
        bool any = false;

        if (keys == NULL)
            return SL_ERR;
        sl_buf_init(&b, 4 * 1024 * 1024);
        sl_buf_printf(&b,
                      "INSERT INTO %s (%s) SELECT DISTINCT ON (%s) %s FROM "
                      "sluice_stage ORDER BY %s, ctid DESC ON CONFLICT (%s) ",
                      l->target, l->col_list, keys, l->col_list, keys, keys);
        for (int i = 0; i < l->cols->ncols; i++) {
            const char *c = l->cols->cols[i].name;
            json_t *k;
            size_t j;
            bool is_key = false;

            json_array_foreach(json_object_get(n->config, "key_columns"), j, k)
                is_key |= strcmp(json_string_value(k), c) == 0;
            if (is_key)
                continue;
            sl_buf_printf(
                &b, "%s%s = EXCLUDED.%s", any ? ", " : "DO UPDATE SET ",
                run_quote(n->pool, l->c, c), run_quote(n->pool, l->c, c));
            any = true;
        }
        if (!any)
            sl_buf_puts(&b, "DO NOTHING");
        text = sl_buf_take(&b);
        rc = text ? run_pg_do(n, l->c, text) : SL_ENOMEM;
        free(text);
    }
    run_node_watch(n, NULL);
    if (rc == 0)
        run_node_log(n, "INFO",
                     json_pack("{s:I, s:s}", "rows", (json_int_t)n->rows_in,
                               "mode", l->mode),
                     "Loaded %llu rows into %s (%s)",
                     (unsigned long long)n->rows_in,
                     sl_json_get_str(n->config, "table"), l->mode);
    return rc;
}

static int
load_commit(struct run_node *n)
{
    struct pg_load *l = n->state;

    return run_pg_do(n, l->c, "COMMIT");
}

static void
load_close(struct run_node *n, bool ok)
{
    struct pg_load *l = n->state;

    if (l == NULL)
        return;
    sl_buf_free(&l->out);
    pg_close(&l->c, ok);
}

const struct run_module_ops run_mod_pg_load = {
    .type = SL_MODULE_LOADER,
    .name = "postgres",
    .open = load_open,
    .push = load_push,
    .finish = load_finish,
    .commit = load_commit,
    .close = load_close,
};
