/*
 * test_db.c: the PostgreSQL layer against a real server.
 *
 * Runs inside a private stack (tests/integration/with-stack), which sets
 * SLUICE_TEST_DB_URL (the application role) and SLUICE_TEST_STACKCTL (a
 * command that can restart PostgreSQL).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "unit.h"

enum {
    ST_ADD,
    ST_CTX,
    ST_TEMP,
    ST_INSERT,
    ST_COUNT,
    ST_BROKEN,
};

static const struct sl_db_stmt stmts[] = {
    [ST_ADD] = {"t_add", "SELECT $1::int + 1", true},
    [ST_CTX] = {"t_ctx",
                "SELECT coalesce(current_setting('app.tenant_id', true), ''),"
                " coalesce(current_setting('app.user_id', true), '')",
                true},
    [ST_TEMP] = {"t_temp",
                 "CREATE TEMP TABLE IF NOT EXISTS t_items "
                 "(id int PRIMARY KEY, tenant text)",
                 false},
    [ST_INSERT] = {"t_insert",
                   "INSERT INTO t_items VALUES ($1::int, "
                   "current_setting('app.tenant_id', true))",
                   false},
    [ST_COUNT] = {"t_count", "SELECT count(*) FROM t_items", true},
    [ST_BROKEN] = {"t_broken", "SELECT no_such_column FROM pg_class", true},
};

static struct sl_db db;

static void
setup(void)
{
    const char *url = getenv("SLUICE_TEST_DB_URL");

    ck_assert_msg(url != NULL, "SLUICE_TEST_DB_URL is not set: run this "
                               "test through make check");
    ck_assert_int_eq(sl_db_init(&db, url, "test_db", 5000, stmts,
                                sizeof(stmts) / sizeof(stmts[0]), NULL),
                     SL_OK);
    ck_assert_int_eq(sl_db_connect(&db), SL_OK);
}

static void
teardown(void)
{
    sl_db_free(&db);
}

static int
query_int(int id, const char *arg)
{
    const char *params[1] = {arg};
    PGresult *r = NULL;
    int v;

    ck_assert_int_eq(sl_db_exec(&db, id, arg ? 1 : 0, params, &r), SL_OK);
    v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

START_TEST(prepared_statement_with_params)
{
    ck_assert_int_eq(query_int(ST_ADD, "41"), 42);
    /* Second use reuses the prepared statement. */
    ck_assert_int_eq(query_int(ST_ADD, "1"), 2);
}
END_TEST

START_TEST(scoped_settings_do_not_leak)
{
    PGresult *r = NULL;

    ck_assert_int_eq(sl_db_exec_scoped(&db, "tenant_a",
                                       "0190a6c5-3b1e-7c3a-"
                                       "9f00-000000000001",
                                       ST_CTX, 0, NULL, &r),
                     SL_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "tenant_a");
    ck_assert_str_eq(PQgetvalue(r, 0, 1),
                     "0190a6c5-3b1e-7c3a-9f00-000000000001");
    PQclear(r);
    /* The next statement on the same connection sees neither. */
    ck_assert_int_eq(sl_db_exec(&db, ST_CTX, 0, NULL, &r), SL_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "");
    ck_assert_str_eq(PQgetvalue(r, 0, 1), "");
    PQclear(r);
}
END_TEST

START_TEST(transaction_commit_and_rollback)
{
    const char *one[1] = {"1"}, *two[1] = {"2"};
    PGresult *r = NULL;

    ck_assert_int_eq(sl_db_exec(&db, ST_TEMP, 0, NULL, &r), SL_OK);
    PQclear(r);
    ck_assert_int_eq(sl_db_begin(&db, "tenant_b", NULL), SL_OK);
    ck_assert_int_eq(sl_db_exec(&db, ST_INSERT, 1, one, &r), SL_OK);
    PQclear(r);
    ck_assert_int_eq(sl_db_commit(&db), SL_OK);
    ck_assert_int_eq(query_int(ST_COUNT, NULL), 1);

    ck_assert_int_eq(sl_db_begin(&db, "tenant_b", NULL), SL_OK);
    ck_assert_int_eq(sl_db_exec(&db, ST_INSERT, 1, two, &r), SL_OK);
    PQclear(r);
    sl_db_rollback(&db);
    ck_assert_int_eq(query_int(ST_COUNT, NULL), 1);
}
END_TEST

START_TEST(errors_are_classified)
{
    const char *one[1] = {"1"};
    PGresult *r = NULL;

    ck_assert_int_eq(sl_db_exec(&db, ST_TEMP, 0, NULL, &r), SL_OK);
    PQclear(r);
    ck_assert_int_eq(sl_db_exec(&db, ST_INSERT, 1, one, &r), SL_OK);
    PQclear(r);
    ck_assert_int_eq(sl_db_exec(&db, ST_INSERT, 1, one, &r), SL_ECONFLICT);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(sl_db_sqlstate(&db), "23505");
    ck_assert_str_eq(sl_db_constraint(&db), "t_items_pkey");
    ck_assert_int_eq(sl_db_exec(&db, ST_BROKEN, 0, NULL, &r), SL_EDB);
    ck_assert_str_eq(sl_db_sqlstate(&db), "42703");
    ck_assert_ptr_nonnull(strstr(sl_db_error(&db), "no_such_column"));
    /* A failed statement in a transaction makes commit fail. */
    ck_assert_int_eq(sl_db_begin(&db, "t", NULL), SL_OK);
    ck_assert_int_eq(sl_db_exec(&db, ST_INSERT, 1, one, &r), SL_ECONFLICT);
    ck_assert_int_ne(sl_db_commit(&db), SL_OK);
    /* And the connection is usable afterwards. */
    ck_assert_int_eq(query_int(ST_ADD, "1"), 2);
}
END_TEST

START_TEST(reconnects_after_server_restart)
{
    const char *ctl = getenv("SLUICE_TEST_STACKCTL");
    char cmd[1024];
    double ms = -1;
    PGresult *r = NULL;

    ck_assert_ptr_nonnull(ctl);
    ck_assert_int_eq(query_int(ST_ADD, "1"), 2);
    snprintf(cmd, sizeof(cmd), "%s restart postgres >/dev/null", ctl);
    ck_assert_int_eq(system(cmd), 0);
    /* The old connection is dead; a read-only statement is retried. */
    ck_assert_int_eq(query_int(ST_ADD, "2"), 3);
    /* Scoped statements and transactions work on the new connection. */
    ck_assert_int_eq(sl_db_exec_scoped(&db, "x", NULL, ST_CTX, 0, NULL, &r),
                     SL_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "x");
    PQclear(r);
    ck_assert_int_eq(sl_db_ping(&db, &ms), SL_OK);
    ck_assert(ms >= 0);
}
END_TEST

START_TEST(unreachable_server_is_reported)
{
    struct sl_db bad;
    double ms;

    ck_assert_int_eq(sl_db_init(&bad, "host=127.0.0.1 port=1 dbname=x",
                                "test_db", 1000, stmts, 1, NULL),
                     SL_OK);
    ck_assert_int_eq(sl_db_connect(&bad), SL_EDBCONN);
    ck_assert_int_eq(sl_db_ping(&bad, &ms), SL_EDBCONN);
    ck_assert_int_ne(strlen(sl_db_error(&bad)), 0);
    sl_db_free(&bad);
}
END_TEST

static Suite *
db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("server");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, prepared_statement_with_params);
    tcase_add_test(tc, scoped_settings_do_not_leak);
    tcase_add_test(tc, transaction_commit_and_rollback);
    tcase_add_test(tc, errors_are_classified);
    tcase_add_test(tc, reconnects_after_server_restart);
    tcase_add_test(tc, unreachable_server_is_reported);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(db_suite)
