/*
 * mod_postgres.c: the postgres extractor and loader.
 *
 * The extractor runs its query in a read-only transaction, one statement
 * through the extended protocol, its :name and ${name} placeholders bound
 * as parameters, never pasted (run_pg_select() in pgio.c); a table it
 * reads through COPY ... TO STDOUT (run_pg_copy_out()).
 *
 * The loader writes through COPY ... FROM STDIN inside one transaction,
 * committed only when the whole run succeeded (engine.h), so a failed or
 * cancelled run leaves the table as it was. append copies into the table;
 * replace empties it first (TRUNCATE, in the same transaction); upsert
 * copies into a staging table and merges with INSERT ... ON CONFLICT on
 * key_columns, the last row of a key winning. With create_table (the
 * default) a missing table is created with the columns and types of the
 * first batch, and key_columns as its primary key.
 *
 * The transaction takes part in the run's two-phase commit (commit.h):
 * prepare is PREPARE TRANSACTION '<gid>', commit is COMMIT PREPARED, and
 * close without the decision ROLLBACK PREPARED. A prepared transaction
 * may not have touched temporary tables, so upsert's staging table is an
 * unlogged table beside the target, made and dropped in the transaction
 * (nobody else ever sees it). A server that refuses PREPARE
 * (max_prepared_transactions = 0) cannot take part: its transaction is
 * committed in one phase, last, within the decision (the "last
 * resource"), and the run warns that it did so.
 *
 * Without connection_id both work in the organisation's warehouse: the
 * loader in its layer schemas (schema: bronze, silver or gold), the
 * extractor reading a table there, as the runner's own role. An
 * extractor's query there is the user's SQL, so it runs as the
 * organisation's own warehouse role, which can read only its schemas
 * (run_wh_open_org() in datastores.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "json.h"
#include "pgcopy.h"
#include "warehouse.h"

/* --- extract -------------------------------------------------------------- */

struct pg_extract {
    PGconn *c;
    bool warehouse;
};

static int
extract_open(struct run_node *n)
{
    struct pg_extract *x = sl_pcalloc(n->pool, sizeof(*x));

    if (x == NULL)
        return SL_ENOMEM;
    n->state = x;
    if (sl_json_get_str(n->config, "connection_id") == NULL &&
        sl_json_get_str(n->config, "query") != NULL) {
        x->warehouse = true;
        return run_wh_open_org(n, &x->c);
    }
    return run_pg_open(n, &x->c, &x->warehouse);
}

static int
extract_produce(struct run_node *n)
{
    struct pg_extract *x = n->state;
    const char *query = sl_json_get_str(n->config, "query"), *t = NULL;
    int rc;

    if (query == NULL) {
        t = run_qualified(
            n->pool, x->c,
            x->warehouse
                ? run_wh_schema(n, sl_json_get_str(n->config, "schema"))
                : sl_json_get_str(n->config, "schema"),
            sl_json_get_str(n->config, "table"));
        if (t == NULL)
            return SL_ERR;
    }
    /* A warehouse query is the user's SQL: its role's statement timeout. */
    if (x->warehouse && query != NULL &&
        (rc = run_pg_timeout(
             n, x->c, n->job->conf->warehouse_statement_timeout_ms)) != 0)
        return rc;
    if ((rc = run_pg_do(n, x->c,
                        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) !=
            0 ||
        (rc = query != NULL
                  ? run_pg_select(n, x->c, query)
                  : run_pg_copy_out(
                        n, x->c,
                        sl_psprintf(n->pool, "SELECT * FROM %s", t))) != 0)
        return rc;
    run_pg_do(n, x->c, "COMMIT");
    n->progress = 1;
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
        run_pg_close(&x->c, ok);
}

const struct run_module_ops run_mod_pg_extract = {
    .type = SL_MODULE_EXTRACTOR,
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
    const char *stage;  /* upsert's staging table, quoted, qualified */
    const char *mode;
    const struct run_schema *cols; /* of the first batch */
    const char *col_list;          /* quoted, comma-separated */
    struct run_copy_in in;
    bool prepare_sent; /* PREPARE TRANSACTION went out, whatever came back */
};

/*
 * Whether the server of c takes prepared transactions: 1, 0, or fails n
 * (< 0).
 */
static int
takes_prepared(struct run_node *n, PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT current_setting("
                            "'max_prepared_transactions')::integer > 0");
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                 ? PQgetvalue(r, 0, 0)[0] == 't'
                 : run_node_fail(n, NULL, "%s", PQresultErrorMessage(r));

    PQclear(r);
    return rc;
}

static int
load_open(struct run_node *n)
{
    struct pg_load *l = sl_pcalloc(n->pool, sizeof(*l));
    int rc;

    if (l == NULL)
        return SL_ENOMEM;
    n->state = l;
    run_copy_in_init(&l->in);
    l->mode = sl_json_get_str(n->config, "mode");
    if (l->mode == NULL)
        l->mode = "append";
    if (strcmp(l->mode, "upsert") == 0 &&
        json_array_size(json_object_get(n->config, "key_columns")) == 0)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "mode upsert needs key_columns");
    if ((rc = run_pg_open(n, &l->c, &l->warehouse)) != 0)
        return rc;
    if ((rc = takes_prepared(n, l->c)) < 0)
        return rc;
    run_part_gid(n, n->part.gid);
    if (rc == 1) {
        n->part.kind = RUN_PART_POSTGRES;
        n->part.connector_id = sl_json_get_str(n->config, "connection_id");
    } else {
        n->part.last_resource = true;
        run_node_warn(n,
                      "the server of table %.63s does not take prepared "
                      "transactions (max_prepared_transactions = 0): its "
                      "rows are committed on their own, last, and could "
                      "stay committed while the run is not recorded",
                      sl_json_get_str(n->config, "table"));
    }
    l->schema = l->warehouse
                    ? run_wh_schema(n, sl_json_get_str(n->config, "schema"))
                    : sl_json_get_str(n->config, "schema");
    if (l->warehouse && l->schema == NULL)
        return SL_ERR;
    l->target = run_qualified(n->pool, l->c, l->schema,
                              sl_json_get_str(n->config, "table"));
    if (l->target == NULL)
        return SL_ENOMEM;
    if (l->warehouse) {
        char err[256];

        if ((rc = sl_wh_schema_create(l->c, l->schema, err, sizeof(err))) != 0)
            return run_node_fail(n, NULL, "%s",
                                 rc == SL_EDB ? err : sl_strerror(rc));
    }
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
        l->stage = run_qualified(n->pool, l->c, l->schema,
                                 sl_psprintf(n->pool, "%s_stage", n->part.gid));
        if (l->stage == NULL)
            return SL_ENOMEM;
        into = l->stage;
        rc = run_pg_do(n, l->c,
                       sl_psprintf(n->pool,
                                   "CREATE UNLOGGED TABLE %s AS SELECT %s "
                                   "FROM %s WITH NO DATA",
                                   l->stage, l->col_list, l->target));
        if (rc != 0)
            return rc;
    }
    return run_copy_in_begin(
        n, &l->in, l->c,
        sl_psprintf(n->pool, "COPY %s (%s) FROM STDIN", into, l->col_list));
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
    rc = run_copy_in_rows(n, &l->in, b);
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

    if (!l->in.active) {
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
    rc = run_copy_in_end(n, &l->in);
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
                      "%s ORDER BY %s, ctid DESC ON CONFLICT (%s) ",
                      l->target, l->col_list, keys, l->col_list, l->stage, keys,
                      keys);
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
        if (rc == 0)
            rc = run_pg_do(n, l->c,
                           sl_psprintf(n->pool, "DROP TABLE %s", l->stage));
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

/* PREPARE TRANSACTION, unless the server cannot: then nothing yet. */
static int
load_prepare(struct run_node *n)
{
    struct pg_load *l = n->state;

    if (n->part.last_resource)
        return 0;
    l->prepare_sent = true;
    return run_pg_do(
        n, l->c, sl_psprintf(n->pool, "PREPARE TRANSACTION '%s'", n->part.gid));
}

/* After the decision: COMMIT PREPARED, or the last resource's COMMIT. */
static int
load_commit(struct run_node *n)
{
    struct pg_load *l = n->state;
    char err[256];

    if (n->part.last_resource)
        return run_pg_do(n, l->c, "COMMIT");
    if (run_pg_end_prepared(l->c, n->part.gid, true, err, sizeof(err)) != 0)
        return run_node_fail(n, NULL, "%s", err);
    n->part.resolved = true;
    return 0;
}

/*
 * Without the decision, a prepared transaction is rolled back; anything
 * else ends with the connection. The participant is resolved when it is
 * known that nothing of it is left prepared.
 */
static void
load_close(struct run_node *n, bool ok)
{
    struct pg_load *l = n->state;
    char err[256];

    if (l == NULL)
        return;
    run_copy_in_free(&l->in);
    if (!ok && n->part.prepared && !n->part.committed) {
        if (run_pg_end_prepared(l->c, n->part.gid, false, err, sizeof(err)) ==
            0)
            n->part.resolved = true;
        else
            sl_log_warn(n->job->log,
                        "run %s: node %s: cannot roll back %s now (%s); the "
                        "sweep will",
                        n->job->run_id, n->id, n->part.gid, err);
    } else if (!ok && (!l->prepare_sent ||
                       (l->c != NULL && PQstatus(l->c) == CONNECTION_OK))) {
        /* Never prepared: the transaction dies with the connection. */
        n->part.resolved = true;
    }
    run_pg_close(&l->c, ok);
}

const struct run_module_ops run_mod_pg_load = {
    .type = SL_MODULE_LOADER,
    .open = load_open,
    .push = load_push,
    .finish = load_finish,
    .prepare = load_prepare,
    .commit = load_commit,
    .close = load_close,
};
