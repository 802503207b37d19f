/*
 * test_pgio.c: rows out of PostgreSQL and into it through COPY's text
 * format, against a real server: a query's rows, in batches, with their
 * columns' types and awkward values (tabs, line breaks, backslashes, "\N"
 * as text, NULL, the empty string) as the server holds them; parameters
 * bound, never pasted; and COPY ... FROM STDIN of the same values, in
 * chunks, read back exactly, or refused with the server's reason.
 *
 * Runs inside a private stack (tests/integration/with-stack, PostgreSQL
 * alone): SLUICE_TEST_WH_DB_URL names its warehouse database.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "pgcopy.h"
#include "runfix.h"
#include "unit.h"

static struct runfix fx;
static PGconn *conn;

static void
setup(void)
{
    const char *url = getenv("SLUICE_TEST_WH_DB_URL");

    runfix_init(&fx);
    ck_assert_msg(url != NULL, "SLUICE_TEST_WH_DB_URL is not set: run this "
                               "test through make check");
    conn = PQconnectdb(url);
    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
}

static void
teardown(void)
{
    run_pg_close(&conn, true);
    runfix_free(&fx);
}

static void
exec_ok(const char *sql)
{
    PGresult *r = PQexec(conn, sql);

    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
                      PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The values the tests move, as the server holds them, and NULL. */
#define AWKWARD_VALUES                                                         \
    "(1, E'tab\\there', NULL::text), "                                         \
    "(2, E'line\\nnext\\r', E'back\\\\slash'), "                               \
    "(3, '', E'\\\\N'), "                                                      \
    "(4, 'caf\xc3\xa9 \xe2\x82\xac', ' spaced ')"

static const char *const awkward[4][2] = {
    {"tab\there", NULL},
    {"line\nnext\r", "back\\slash"},
    {"", "\\N"},
    {"caf\xc3\xa9 \xe2\x82\xac", " spaced "},
};

/* Asserts that value is want, NULL included. */
static void
assert_value(const char *value, const char *want)
{
    if (want == NULL)
        ck_assert_ptr_null(value);
    else
        ck_assert_str_eq(value, want);
}

START_TEST(a_query_streams_its_rows_in_batches)
{
    struct runfix_sink sink;
    struct run_node *next[1] = {runfix_sink_node(&fx, "sink", &sink)};
    struct run_node *n = runfix_feeding(&fx, next, 1);
    const struct run_schema *s;
    int row = 0;

    fx.job.batch_size = 3;
    json_object_set_new(fx.job.params, "min", json_string("1"));
    exec_ok("BEGIN");
    ck_assert_int_eq(run_pg_select(n, conn,
                                   "SELECT * FROM (VALUES " AWKWARD_VALUES
                                   ") AS v(id, txt, other) WHERE id >= :min "
                                   "ORDER BY id"),
                     0);
    exec_ok("COMMIT");
    /* Four rows, three to a batch. */
    ck_assert_int_eq(sink.nbatches, 2);
    ck_assert_uint_eq(sink.batches[0]->nrows, 3);
    ck_assert_uint_eq(sink.batches[1]->nrows, 1);
    ck_assert_uint_eq(n->rows_out, 4);
    s = sink.batches[0]->schema;
    ck_assert_ptr_eq(sink.batches[1]->schema, s);
    ck_assert_int_eq(s->ncols, 3);
    ck_assert_str_eq(s->cols[0].name, "id");
    ck_assert_str_eq(s->cols[0].type, "integer");
    ck_assert_str_eq(s->cols[1].name, "txt");
    ck_assert_str_eq(s->cols[1].type, "text");
    for (int b = 0; b < sink.nbatches; b++)
        for (size_t r = 0; r < sink.batches[b]->nrows; r++, row++) {
            char id[16];

            snprintf(id, sizeof(id), "%d", row + 1);
            ck_assert_str_eq(run_cell(sink.batches[b], r, 0), id);
            assert_value(run_cell(sink.batches[b], r, 1), awkward[row][0]);
            assert_value(run_cell(sink.batches[b], r, 2), awkward[row][1]);
        }
    runfix_sink_free(&sink);
}
END_TEST

START_TEST(parameters_are_bound_and_typed_by_the_server)
{
    struct runfix_sink sink;
    struct run_node *next[1] = {runfix_sink_node(&fx, "sink", &sink)};
    struct run_node *n = runfix_feeding(&fx, next, 1);
    const struct run_schema *s;

    /* A value that would be SQL if pasted stays a value; the node's own
     * params fill what the run's do not; NULL is NULL. */
    json_object_set_new(fx.job.params, "name", json_string("x'; DROP x; --"));
    n->config = sl_json_pool_own(
        fx.job.pool, json_pack("{s:{s:i, s:n}}", "params", "n", 41, "none"));
    exec_ok("BEGIN");
    ck_assert_int_eq(
        run_pg_select(n, conn,
                      "SELECT ${name} AS name, :n + 1 AS next, "
                      ":none::text IS NULL AS none, "
                      "now()::timestamp(3) with time zone AS at, "
                      "1.5::numeric(10,2) AS amount, ARRAY[1, 2] AS list"),
        0);
    exec_ok("COMMIT");
    ck_assert_int_eq(sink.nbatches, 1);
    ck_assert_str_eq(run_cell(sink.batches[0], 0, 0), "x'; DROP x; --");
    ck_assert_str_eq(run_cell(sink.batches[0], 0, 1), "42");
    ck_assert_str_eq(run_cell(sink.batches[0], 0, 2), "t");
    ck_assert_str_eq(run_cell(sink.batches[0], 0, 4), "1.50");
    ck_assert_str_eq(run_cell(sink.batches[0], 0, 5), "{1,2}");
    /* The columns keep the server's types, for a loader to create. */
    s = sink.batches[0]->schema;
    ck_assert_str_eq(s->cols[1].type, "integer");
    ck_assert_str_eq(s->cols[3].type, "timestamp(3) with time zone");
    ck_assert_str_eq(s->cols[4].type, "numeric(10,2)");
    ck_assert_str_eq(s->cols[5].type, "integer[]");
    runfix_sink_free(&sink);
}
END_TEST

START_TEST(a_query_that_fails_fails_its_node)
{
    struct runfix_sink sink;
    struct run_node *next[1] = {runfix_sink_node(&fx, "sink", &sink)};
    struct run_node *n = runfix_feeding(&fx, next, 1);

    exec_ok("BEGIN");
    ck_assert_int_lt(run_pg_select(n, conn, "SELECT :nowhere"), 0);
    ck_assert_str_eq(n->error_code, "VALIDATION_ERROR");
    ck_assert_ptr_nonnull(strstr(n->error, ":nowhere has no value"));
    exec_ok("ROLLBACK");

    n = runfix_feeding(&fx, next, 1);
    exec_ok("BEGIN");
    ck_assert_int_lt(run_pg_select(n, conn, "SELECT * FROM no_such_table"), 0);
    ck_assert_int_eq(n->status, RUN_NODE_FAILED);
    ck_assert_ptr_nonnull(strstr(n->error, "no_such_table"));
    exec_ok("ROLLBACK");

    n = runfix_feeding(&fx, next, 1);
    exec_ok("BEGIN");
    ck_assert_int_lt(run_pg_select(n, conn,
                                   "SELECT 1/0 FROM "
                                   "generate_series(1, 3)"),
                     0);
    ck_assert_ptr_nonnull(strstr(n->error, "division by zero"));
    exec_ok("ROLLBACK");
    ck_assert_int_eq(sink.nbatches, 0);
}
END_TEST

/* A batch of the awkward values, n times over, as (id, a, b). */
static struct run_batch *
awkward_batch(const struct run_schema *s, int times)
{
    struct run_batch *b = run_batch_new(s, 4);

    for (int t = 0; t < times; t++)
        for (int i = 0; i < 4; i++) {
            char **row = run_batch_add_row(b);

            ck_assert_ptr_nonnull(row);
            row[0] = sl_psprintf(b->pool, "%d", t * 4 + i + 1);
            row[1] = sl_pstrdup(b->pool, awkward[i][0]);
            row[2] = awkward[i][1] ? sl_pstrdup(b->pool, awkward[i][1]) : NULL;
        }
    return b;
}

static struct run_col copy_cols[] = {
    {"id", "integer"}, {"a", "text"}, {"b", "text"}};
static const struct run_schema copy_schema = {3, copy_cols};

START_TEST(copy_in_loads_the_values_exactly)
{
    struct run_node *n = runfix_node(&fx, "load", NULL);
    /* 4000 rows, well over a chunk of COPY data. */
    struct run_batch *b = awkward_batch(&copy_schema, 1000);
    struct run_copy_in ci;
    PGresult *r;

    exec_ok("CREATE TEMP TABLE copied (id integer, a text, b text)");
    run_copy_in_init(&ci);
    ck_assert_int_eq(run_copy_in_begin(n, &ci, conn, "COPY copied FROM STDIN"),
                     0);
    ck_assert(ci.active);
    ck_assert_int_eq(run_copy_in_rows(n, &ci, b), 0);
    ck_assert_int_eq(run_copy_in_rows(n, &ci, b), 0); /* b stays ours */
    ck_assert_int_eq(run_copy_in_end(n, &ci), 0);
    ck_assert(!ci.active);
    run_copy_in_free(&ci);
    run_batch_free(b);

    r = PQexec(conn, "SELECT id, a, b FROM copied ORDER BY id");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_int_eq(PQntuples(r), 8000);
    for (int i = 0; i < PQntuples(r); i++) {
        int k = i / 2 % 4; /* each id twice, in order */

        ck_assert_str_eq(PQgetvalue(r, i, 1), awkward[k][0]);
        if (awkward[k][1] == NULL)
            ck_assert(PQgetisnull(r, i, 2));
        else
            ck_assert_str_eq(PQgetvalue(r, i, 2), awkward[k][1]);
    }
    PQclear(r);
}
END_TEST

START_TEST(copy_in_refused_says_why)
{
    struct run_node *n = runfix_node(&fx, "load", NULL);
    struct run_batch *b = awkward_batch(&copy_schema, 1);
    struct run_copy_in ci;

    /* The second column is no integer here. */
    exec_ok("CREATE TEMP TABLE strict_copy (id integer, a integer, b text)");
    run_copy_in_init(&ci);
    ck_assert_int_eq(
        run_copy_in_begin(n, &ci, conn, "COPY strict_copy FROM STDIN"), 0);
    ck_assert_int_eq(run_copy_in_rows(n, &ci, b), 0); /* gathered, not sent */
    ck_assert_int_lt(run_copy_in_end(n, &ci), 0);
    ck_assert_int_eq(n->status, RUN_NODE_FAILED);
    ck_assert_msg(strstr(n->error, "invalid input syntax") != NULL, "%s",
                  n->error);
    run_copy_in_free(&ci);
    run_batch_free(b);

    /* A COPY the server will not start. */
    n = runfix_node(&fx, "load2", NULL);
    run_copy_in_init(&ci);
    ck_assert_int_lt(run_copy_in_begin(n, &ci, conn, "COPY nowhere FROM STDIN"),
                     0);
    ck_assert(!ci.active);
    ck_assert_ptr_nonnull(strstr(n->error, "nowhere"));
    run_copy_in_free(&ci);
}
END_TEST

START_TEST(closing_unwell_rolls_back)
{
    PGconn *c = PQconnectdb(getenv("SLUICE_TEST_WH_DB_URL"));
    PGresult *r;

    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    exec_ok("DROP TABLE IF EXISTS pgio_closed");
    exec_ok("CREATE TABLE pgio_closed (x int)");
    r = PQexec(c, "BEGIN; INSERT INTO pgio_closed VALUES (1)");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    run_pg_close(&c, false);
    ck_assert_ptr_null(c);
    run_pg_close(&c, false); /* nothing: harmless */
    r = PQexec(conn, "SELECT count(*) FROM pgio_closed");
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    exec_ok("DROP TABLE pgio_closed");
}
END_TEST

static Suite *
pgio_suite(void)
{
    Suite *s = suite_create("pgio");
    TCase *tc = tcase_create("pgio");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_query_streams_its_rows_in_batches);
    tcase_add_test(tc, parameters_are_bound_and_typed_by_the_server);
    tcase_add_test(tc, a_query_that_fails_fails_its_node);
    tcase_add_test(tc, copy_in_loads_the_values_exactly);
    tcase_add_test(tc, copy_in_refused_says_why);
    tcase_add_test(tc, closing_unwell_rolls_back);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pgio_suite)
