/*
 * test_warehouse.c: the warehouse's naming rules: its layers, the schema
 * of a layer of an organisation, the one rule for relative file paths,
 * and making a schema, including while another connection makes it.
 *
 * Runs inside a private stack (tests/integration/with-stack, PostgreSQL
 * alone): SLUICE_TEST_WH_DB_URL names its warehouse database, as the
 * role that owns it, the one the daemons make schemas as.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "err.h"
#include "pool.h"
#include "warehouse.h"
#include "unit.h"

#define TENANT "acme_corp_42"
/* An id of SL_WH_TENANT_MAX characters. */
#define LONGEST "abcdefghijklmnopqrstuvwxyz_0123456789_abcdefghijkl"

START_TEST(layers_are_bronze_silver_gold)
{
    ck_assert_uint_eq(sl_wh_nlayers, 3);
    ck_assert_str_eq(sl_wh_layers[0], "bronze");
    ck_assert_str_eq(sl_wh_layers[1], "silver");
    ck_assert_str_eq(sl_wh_layers[2], "gold");
    ck_assert_str_eq(SL_WH_LAYER_DEFAULT, "bronze");
    for (size_t i = 0; i < sl_wh_nlayers; i++)
        ck_assert_ptr_eq(sl_wh_layer(sl_wh_layers[i]), sl_wh_layers[i]);
    /* The name exactly: no case folding, no prefix, no blanks. */
    ck_assert_ptr_null(sl_wh_layer("Silver"));
    ck_assert_ptr_null(sl_wh_layer("silve"));
    ck_assert_ptr_null(sl_wh_layer("silver "));
    ck_assert_ptr_null(sl_wh_layer("public"));
    ck_assert_ptr_null(sl_wh_layer(""));
    ck_assert_ptr_null(sl_wh_layer(NULL));
}
END_TEST

START_TEST(schema_names)
{
    sl_pool *p = sl_pool_create(0, 0);

    ck_assert_str_eq(sl_wh_schema(p, TENANT, "bronze"), "t_" TENANT "_bronze");
    ck_assert_str_eq(sl_wh_schema(p, TENANT, "gold"), "t_" TENANT "_gold");
    ck_assert_ptr_null(sl_wh_schema(p, TENANT, "platinum"));
    ck_assert_ptr_null(sl_wh_schema(p, TENANT, NULL));
    /* The longest id still fits PostgreSQL's 63 bytes of identifier. */
    ck_assert_uint_eq(strlen(sl_wh_schema(p, LONGEST, "silver")), 59);
    /* Only what tenants.id allows: nothing to quote, nothing to fold. */
    ck_assert_ptr_null(sl_wh_schema(p, LONGEST "x", "bronze"));
    ck_assert_ptr_null(sl_wh_schema(p, "Acme", "bronze"));
    ck_assert_ptr_null(sl_wh_schema(p, "not-a-tenant", "bronze"));
    ck_assert_ptr_null(sl_wh_schema(p, TENANT "\"; DROP", "bronze"));
    ck_assert_ptr_null(sl_wh_schema(p, "a b", "bronze"));
    ck_assert_ptr_null(sl_wh_schema(p, "", "bronze"));
    ck_assert_ptr_null(sl_wh_schema(p, NULL, "bronze"));
    sl_pool_destroy(p);
}
END_TEST

START_TEST(the_path_rule)
{
    static const char *const good[] = {
        "a.csv",         "in/orders.csv",   "x",           "2024-01/data.jsonl",
        ".hidden",       "./a.csv",         "dir/./a.csv", "a.b.c",
        "a/b/c/d/e.csv", "name with space",
    };
    static const char *const bad[] = {
        "",         "/etc/passwd", "../a.csv", "a/../../b", "..",  "a/..",
        "a..b.csv", "x/..y",       "...",      "a/b..",     "//a", "/",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(sl_wh_path_ok(good[i]), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sl_wh_path_ok(bad[i]), "accepted %s", bad[i]);
    ck_assert(!sl_wh_path_ok(NULL));
}
END_TEST

/* --- against the stack's PostgreSQL -------------------------------------- */

static PGconn *
wh_conn(void)
{
    const char *url = getenv("SLUICE_TEST_WH_DB_URL");
    PGconn *c;

    ck_assert_msg(url != NULL, "SLUICE_TEST_WH_DB_URL is not set: run "
                               "this test through make check");
    c = PQconnectdb(url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

static void
exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
                      PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* Whether schema name exists, as c sees it. */
static bool
schema_exists(PGconn *c, const char *name)
{
    const char *p[1] = {name};
    PGresult *r =
        PQexecParams(c, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1,
                     NULL, p, NULL, NULL, 0);
    bool yes;

    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    yes = PQntuples(r) == 1;
    PQclear(r);
    return yes;
}

START_TEST(schema_create_makes_it_once)
{
    sl_pool *p = sl_pool_create(0, 0);
    PGconn *c = wh_conn();
    const char *s = sl_wh_schema(p, TENANT, "silver");
    char err[256];

    exec_ok(c, "DROP SCHEMA IF EXISTS \"t_" TENANT "_silver\" CASCADE");
    ck_assert(!schema_exists(c, s));
    ck_assert_int_eq(sl_wh_schema_create(c, s, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "");
    ck_assert(schema_exists(c, s));
    /* Again: it exists, which is no failure. */
    ck_assert_int_eq(sl_wh_schema_create(c, s, err, sizeof(err)), 0);
    ck_assert_int_eq(sl_wh_schema_create(c, s, NULL, 0), 0);
    PQfinish(c);
    sl_pool_destroy(p);
}
END_TEST

START_TEST(schema_create_reports_the_server)
{
    PGconn *c = wh_conn();
    char err[256];

    /* A role that may not create schemas gets the server's reason. */
    exec_ok(c, "DROP ROLE IF EXISTS wh_test_weak");
    exec_ok(c, "CREATE ROLE wh_test_weak");
    exec_ok(c, "GRANT wh_test_weak TO CURRENT_USER");
    exec_ok(c, "SET ROLE wh_test_weak");
    ck_assert_int_eq(
        sl_wh_schema_create(c, "t_" TENANT "_gold", err, sizeof(err)), SL_EDB);
    ck_assert_msg(strstr(err, "permission denied") != NULL, "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    exec_ok(c, "RESET ROLE");
    exec_ok(c, "DROP ROLE wh_test_weak");
    /* A name no sl_wh_schema() makes is refused before the server. */
    {
        char longname[200];

        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        ck_assert_int_eq(sl_wh_schema_create(c, longname, err, sizeof(err)),
                         SL_EINVAL);
    }
    PQfinish(c);
}
END_TEST

struct racer {
    PGconn *c;
    const char *schema;
    int rc;
    char err[256];
};

static void *
race(void *arg)
{
    struct racer *r = arg;

    r->rc = sl_wh_schema_create(r->c, r->schema, r->err, sizeof(r->err));
    return NULL;
}

/* Whether backend pid waits for a lock, as c sees it. */
static bool
waits_for_lock(PGconn *c, int pid)
{
    char text[16];
    const char *p[1] = {text};
    PGresult *r;
    bool yes;

    snprintf(text, sizeof(text), "%d", pid);
    r = PQexecParams(c,
                     "SELECT 1 FROM pg_stat_activity WHERE pid = $1::int "
                     "AND wait_event_type = 'Lock'",
                     1, NULL, p, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    yes = PQntuples(r) == 1;
    PQclear(r);
    return yes;
}

START_TEST(a_concurrent_creation_is_success)
{
    const char *s = "t_" TENANT "_bronze";
    PGconn *a = wh_conn(), *watch = wh_conn();
    struct racer b = {.c = wh_conn(), .schema = s};
    struct timespec pause = {0, 10 * 1000 * 1000};
    pthread_t t;
    int tries = 0;

    exec_ok(a, "DROP SCHEMA IF EXISTS \"t_" TENANT "_bronze\" CASCADE");
    /* a makes the schema and holds its transaction open; b's creation,
     * which cannot see it yet, must wait for a's verdict. */
    exec_ok(a, "BEGIN");
    exec_ok(a, "CREATE SCHEMA \"t_" TENANT "_bronze\"");
    ck_assert_int_eq(pthread_create(&t, NULL, race, &b), 0);
    while (!waits_for_lock(watch, PQbackendPID(b.c))) {
        ck_assert_msg(++tries < 3000, "the second creation never waited");
        nanosleep(&pause, NULL);
    }
    exec_ok(a, "COMMIT");
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(b.rc == 0, "%d: %s", b.rc, b.err);
    ck_assert(schema_exists(watch, s));
    PQfinish(a);
    PQfinish(b.c);
    PQfinish(watch);
}
END_TEST

static Suite *
warehouse_suite(void)
{
    Suite *s = suite_create("warehouse");
    TCase *names = tcase_create("names");
    TCase *server = tcase_create("server");

    tcase_add_test(names, layers_are_bronze_silver_gold);
    tcase_add_test(names, schema_names);
    tcase_add_test(names, the_path_rule);
    suite_add_tcase(s, names);
    tcase_add_test(server, schema_create_makes_it_once);
    tcase_add_test(server, schema_create_reports_the_server);
    tcase_add_test(server, a_concurrent_creation_is_success);
    suite_add_tcase(s, server);
    return s;
}

SL_TEST_MAIN(warehouse_suite)
