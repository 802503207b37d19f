/*
 * it_rls.c: what the application's database role can see when it queries
 * PostgreSQL directly, bypassing every handler: only the rows of the
 * tenant its transaction names, and no way around that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "it.h"
#include "unit.h"

static PGconn *conn;

static void
setup(void)
{
    conn = PQconnectdb(it_env("SLUICE_TEST_DB_URL"));
    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
}

static void
teardown(void)
{
    PQfinish(conn);
}

/* The first value of the first row of sql as the app role; aborts on error. */
static char *
value(const char *sql, const char *p1)
{
    const char *params[1] = {p1};
    PGresult *r =
        PQexecParams(conn, sql, p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
    char *v;

    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK ||
                      PQresultStatus(r) == PGRES_COMMAND_OK,
                  "%s: %s", sql, PQresultErrorMessage(r));
    v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : PQcmdTuples(r));
    PQclear(r);
    return v;
}

/* Asserts that sql fails as the app role, with msg in the error. */
static void
refused(const char *sql, const char *msg)
{
    PGresult *r = PQexec(conn, sql);

    ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR,
                  "%s succeeded as the application role", sql);
    ck_assert_msg(strstr(PQresultErrorMessage(r), msg) != NULL, "%s: %s", sql,
                  PQresultErrorMessage(r));
    PQclear(r);
}

static void
expect(const char *sql, const char *p1, const char *want)
{
    char *v = value(sql, p1);

    ck_assert_msg(strcmp(v, want) == 0, "%s (%s): want %s, got %s", sql,
                  p1 ? p1 : "", want, v);
    free(v);
}

START_TEST(app_role_is_powerless_by_construction)
{
    expect("SELECT rolsuper::text || rolbypassrls::text || "
           "rolcreaterole::text FROM pg_roles WHERE rolname = current_user",
           NULL, "falsefalsefalse");
    expect("SELECT count(*) FROM pg_class c JOIN pg_roles o "
           "ON o.oid = c.relowner WHERE o.rolname = current_user",
           NULL, "0");
    /* Every table that holds tenant or user rows is under RLS. */
    expect("SELECT count(*) FROM pg_class WHERE relnamespace = "
           "'public'::regnamespace AND relkind = 'r' AND NOT relrowsecurity "
           "AND relname NOT IN ('plans', 'schema_migrations')",
           NULL, "0");
    refused("SET row_security = off; SELECT * FROM users",
            "row-level security");
    refused("ALTER TABLE users DISABLE ROW LEVEL SECURITY", "owner");
    refused("CREATE TABLE sneaky (x int)", "permission denied");
}
END_TEST

START_TEST(each_tenant_sees_only_itself)
{
    struct it_client c;
    char *user_a, *org_a, *user_b, *org_b, *ta, *tb, *id_b;
    struct it_resp r;

    it_client_init(&c);
    ta = it_new_org(&c, &user_a, &org_a);
    tb = it_new_org(&c, &user_b, &org_b);
    it_get(&c, "/api/v1/auth/me", tb, &r);
    id_b = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    {
        /* Each tenant gets an API key too. */
        char body[128];

        snprintf(body, sizeof(body), "{\"tenant_id\":\"%s\"}", org_a);
        it_request(&c, "POST", "/api/v1/admin/api-keys", it_admin_header(),
                   "application/json", body, strlen(body), &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
        snprintf(body, sizeof(body), "{\"tenant_id\":\"%s\"}", org_b);
        it_request(&c, "POST", "/api/v1/admin/api-keys", it_admin_header(),
                   "application/json", body, strlen(body), &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
    }

    /* No tenant named: nothing at all. */
    expect("SELECT count(*) FROM users", NULL, "0");
    expect("SELECT count(*) FROM api_keys", NULL, "0");
    expect("SELECT count(*) FROM memberships", NULL, "0");
    expect("SELECT count(*) FROM tenants", NULL, "0");
    expect("SELECT count(*) FROM sessions", NULL, "0");
    expect("SELECT count(*) FROM refresh_tokens", NULL, "0");

    /* Tenant A: A's one user and one key, never B's. */
    free(value("SELECT set_config('app.tenant_id', $1, false)", org_a));
    expect("SELECT count(*) FROM users", NULL, "1");
    expect("SELECT username FROM users", NULL, user_a);
    expect("SELECT count(*) FROM users WHERE username = $1", user_b, "0");
    expect("SELECT count(*) FROM api_keys", NULL, "1");
    expect("SELECT count(*) FROM api_keys WHERE tenant_id <> app_tenant()",
           NULL, "0");
    expect("SELECT count(*) FROM tenants", NULL, "1");
    expect("SELECT count(*) FROM memberships WHERE tenant_id = $1", org_b, "0");
    /* Nor can A reach into B by writing. */
    expect("UPDATE memberships SET role = 'viewer' WHERE user_id = $1::uuid",
           id_b, "0");
    refused("INSERT INTO memberships (tenant_id, user_id, role) "
            "SELECT tenant_id, user_id, 'admin' FROM memberships LIMIT 0; "
            "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix) "
            "VALUES ('api_key_x', 'default', repeat('a', 64), 'sk_x')",
            "row-level security");
    /* Sessions and refresh tokens belong to users: none without one. */
    expect("SELECT count(*) FROM sessions", NULL, "0");
    free(ta);
    free(tb);
    free(id_b);
    free(user_a);
    free(user_b);
    free(org_a);
    free(org_b);
}
END_TEST

static Suite *
rls_suite(void)
{
    Suite *s = suite_create("it_rls");
    TCase *tc = tcase_create("rls");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, app_role_is_powerless_by_construction);
    tcase_add_test(tc, each_tenant_sees_only_itself);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(rls_suite)
