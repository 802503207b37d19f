/*
 * mod_sql.c: the sql transformer.
 *
 * The node's query runs in the organisation's warehouse, connected as the
 * organisation's own role (run_wh_open_org()): it can read that
 * organisation's layer schemas and nothing of another's. The rows that
 * reach the node are staged, as they arrive, into a temporary table named
 * input (COPY ... FROM STDIN; the columns keep the types their producer
 * gave, text otherwise). When all have arrived the transaction is made
 * read-only, so that the query can read input and the warehouse but
 * write nothing, and the query's rows go on to the node's successors,
 * read as the postgres extractor reads (run_pg_select(): one statement,
 * :name and ${name} bound as parameters), within the role's statement
 * timeout (the staging before it is the runner's and is not).
 *
 * Without a row of input there is no input relation to query: the node
 * then passes nothing on and says so in the run's log.
 */
#include "config.h"

#include <stdlib.h>

#include "json.h"
#include "pgcopy.h"

struct sql_node {
    PGconn *c;
    const struct run_schema *cols; /* of input, from the first batch */
    struct run_copy_in in;
};

static int
sql_open(struct run_node *n)
{
    struct sql_node *x = sl_pcalloc(n->pool, sizeof(*x));
    int rc;

    if (x == NULL)
        return SL_ENOMEM;
    n->state = x;
    run_copy_in_init(&x->in);
    if ((rc = run_wh_open_org(n, &x->c)) != 0)
        return rc;
    return run_pg_do(n, x->c, "BEGIN");
}

/* Before the first row: the table input, and COPY into it. */
static int
sql_stage(struct run_node *n, struct sql_node *x, const struct run_schema *s)
{
    sl_buf def, cols;
    char *a, *b;
    int rc;

    if ((x->cols = run_schema_copy(n->pool, s)) == NULL)
        return SL_ENOMEM;
    sl_buf_init(&def, 4 * 1024 * 1024);
    sl_buf_init(&cols, 4 * 1024 * 1024);
    for (int i = 0; i < s->ncols; i++) {
        const char *q = run_quote(n->pool, x->c, s->cols[i].name);

        sl_buf_printf(&def, "%s%s %s", i ? ", " : "", q,
                      run_type_ok(s->cols[i].type) ? s->cols[i].type : "text");
        sl_buf_printf(&cols, "%s%s", i ? ", " : "", q);
    }
    a = sl_buf_take(&def);
    b = sl_buf_take(&cols);
    rc = a == NULL || b == NULL
             ? SL_ENOMEM
             : run_pg_do(n, x->c,
                         sl_psprintf(n->pool,
                                     "CREATE TEMPORARY TABLE input (%s) "
                                     "ON COMMIT DROP",
                                     a));
    if (rc == 0)
        rc = run_copy_in_begin(
            n, &x->in, x->c,
            sl_psprintf(n->pool, "COPY input (%s) FROM STDIN", b));
    free(a);
    free(b);
    return rc;
}

static int
sql_push(struct run_node *n, struct run_batch *b)
{
    struct sql_node *x = n->state;
    int rc = 0;

    if (x->cols == NULL && (rc = sql_stage(n, x, b->schema)) != 0)
        goto out;
    if (!run_schema_same(x->cols, b->schema)) {
        rc = run_node_fail(n, "VALIDATION_ERROR",
                           "rows arrive with other columns than the first: "
                           "the inputs of a sql node must have the same "
                           "columns");
        goto out;
    }
    rc = run_copy_in_rows(n, &x->in, b);
out:
    run_batch_free(b);
    return rc;
}

static int
sql_finish(struct run_node *n)
{
    struct sql_node *x = n->state;
    int rc;

    if (!x->in.active) {
        run_node_log(n, "WARNING", NULL,
                     "No input rows: the query did not run, and the node "
                     "passed nothing on");
        return 0;
    }
    if ((rc = run_copy_in_end(n, &x->in)) != 0 ||
        (rc = run_pg_do(n, x->c, "ANALYZE input")) != 0 ||
        (rc = run_pg_do(n, x->c, "SET TRANSACTION READ ONLY")) != 0 ||
        (rc = run_pg_timeout(
             n, x->c, n->job->conf->warehouse_statement_timeout_ms)) != 0 ||
        (rc = run_pg_select(n, x->c, sl_json_get_str(n->config, "query"))) != 0)
        return rc;
    run_node_log(n, "INFO",
                 json_pack("{s:I, s:I}", "rows_input", (json_int_t)n->rows_in,
                           "rows_output", (json_int_t)n->rows_out),
                 "The query turned %llu rows into %llu",
                 (unsigned long long)n->rows_in,
                 (unsigned long long)n->rows_out);
    return 0;
}

static void
sql_close(struct run_node *n, bool ok)
{
    struct sql_node *x = n->state;

    if (x == NULL)
        return;
    run_copy_in_free(&x->in);
    run_pg_close(&x->c, ok);
}

const struct run_module_ops run_mod_sql = {
    .type = SL_MODULE_TRANSFORMER,
    .open = sql_open,
    .push = sql_push,
    .finish = sql_finish,
    .close = sql_close,
};
