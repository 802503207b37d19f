/*
 * it_rls.c: what the application's database role can see when it queries
 * PostgreSQL directly, bypassing every handler: only the rows of the
 * tenant its transaction names, and no way around that.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/*
 * Asserts that sql (with up to two parameters; without, it may be several
 * statements) fails as the app role, with msg in the error.
 */
static void
refused_with(const char *sql, const char *p1, const char *p2, const char *msg)
{
    const char *params[2] = {p1, p2};
    PGresult *r =
        p1 ? PQexecParams(conn, sql, p2 ? 2 : 1, NULL, params, NULL, NULL, 0)
           : PQexec(conn, sql);

    ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR,
                  "%s (%s, %s) succeeded as the application role", sql,
                  p1 ? p1 : "", p2 ? p2 : "");
    ck_assert_msg(strstr(PQresultErrorMessage(r), msg) != NULL, "%s: %s", sql,
                  PQresultErrorMessage(r));
    PQclear(r);
}

static void
refused(const char *sql, const char *msg)
{
    refused_with(sql, NULL, NULL, msg);
}

/* Names the tenant and the user (either may be NULL) of what follows. */
static void
scope(const char *tenant, const char *user)
{
    const char *params[2] = {tenant ? tenant : "", user ? user : ""};
    PGresult *r = PQexecParams(conn,
                               "SELECT set_config('app.tenant_id', $1, false), "
                               "set_config('app.user_id', $2, false)",
                               2, NULL, params, NULL, NULL, 0);

    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
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

/* The id of the user whose access token this is (malloc'd). */
static char *
user_id(struct it_client *c, const char *token)
{
    struct it_resp r;
    char *id;

    it_get(c, "/api/v1/auth/me", token, &r);
    it_assert_status(&r, 200);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

START_TEST(memberships_are_never_forced)
{
    struct it_client c;
    char *user_a, *org_a, *user_b, *org_b, *ta, *tb, *id_a, *id_b;

    it_client_init(&c);
    ta = it_new_org(&c, &user_a, &org_a);
    tb = it_new_org(&c, &user_b, &org_b);
    id_a = user_id(&c, ta);
    id_b = user_id(&c, tb);

    /* A's admin cannot make B a member of A, even acting as B. */
    scope(org_a, id_a);
    refused_with("INSERT INTO memberships (tenant_id, user_id, role) "
                 "VALUES (app_tenant(), $1::uuid, 'admin')",
                 id_b, NULL, "row-level security");
    scope(org_a, id_b);
    refused_with("INSERT INTO memberships (tenant_id, user_id, role) "
                 "VALUES (app_tenant(), $1::uuid, 'admin')",
                 id_b, NULL, "row-level security");
    /* Only invite B, which B alone accepts. */
    scope(org_a, id_a);
    expect("SELECT (auth_invite($1, 'admin') IS NULL)::text", user_b, "true");
    expect("UPDATE memberships SET accepted_at = now(), is_active = true "
           "WHERE user_id = $1::uuid",
           id_b, "0");
    expect("SELECT count(*) FROM memberships WHERE user_id = $1::uuid "
           "AND accepted_at IS NULL",
           id_b, "1");
    /* A's own accepted membership stays A's to change, and accepted. */
    expect("UPDATE memberships SET updated_at = now() WHERE user_id = $1::uuid",
           id_a, "1");
    refused_with("UPDATE memberships SET accepted_at = NULL, is_active = false "
                 "WHERE user_id = $1::uuid",
                 id_a, NULL, "row-level security");
    refused("DELETE FROM memberships", "permission denied");
    free(ta);
    free(tb);
    free(id_a);
    free(id_b);
    free(user_a);
    free(user_b);
    free(org_a);
    free(org_b);
}
END_TEST

/* A member's role in org, read as the owner (malloc'd). */
static char *
role_of(const char *org, const char *user)
{
    return it_owner_value("SELECT role FROM memberships WHERE tenant_id = $1 "
                          "AND user_id = $2::uuid",
                          org, user);
}

/*
 * Memberships change only as the API changes them: an admin changes role
 * and is_active, an account accepts its own invitation, as it was made;
 * nobody moves a membership to another account or organisation, promotes
 * themselves, or accepts an invitation as admin.
 */
START_TEST(memberships_change_only_as_the_api_does)
{
    struct it_client c;
    char *user_a, *org_a, *user_b, *org_b, *ta, *tb, *tv, *id_a, *id_b, *id_v;
    char *v;

    it_client_init(&c);
    ta = it_new_org(&c, &user_a, &org_a);
    tb = it_new_org(&c, &user_b, &org_b);
    tv = it_member(&c, ta, "viewer");
    id_a = user_id(&c, ta);
    id_b = user_id(&c, tb);
    id_v = user_id(&c, tv);

    /* A's admin cannot turn V's membership into B's (pulling B's account
     * in), nor move it to another organisation or inviter. */
    scope(org_a, id_a);
    refused_with("UPDATE memberships SET user_id = $1::uuid "
                 "WHERE user_id = $2::uuid",
                 id_b, id_v, "permission denied");
    refused_with("UPDATE memberships SET tenant_id = $1 "
                 "WHERE user_id = $2::uuid",
                 org_b, id_v, "permission denied");
    refused_with("UPDATE memberships SET invited_by = $1::uuid "
                 "WHERE user_id = $1::uuid",
                 id_a, NULL, "permission denied");
    expect("SELECT count(*) FROM users WHERE id = $1::uuid", id_b, "0");
    /* What the API does, an admin may. */
    expect("UPDATE memberships SET role = 'analyst', updated_at = now() "
           "WHERE user_id = $1::uuid",
           id_v, "1");
    expect("UPDATE memberships SET role = 'viewer' WHERE user_id = $1::uuid",
           id_v, "1");

    /* The viewer changes nobody's membership, its own least of all. */
    scope(org_a, id_v);
    expect("UPDATE memberships SET role = 'admin' WHERE user_id = app_user()",
           NULL, "0");
    expect("UPDATE memberships SET is_active = false "
           "WHERE user_id = $1::uuid",
           id_a, "0");
    v = role_of(org_a, id_v);
    ck_assert_str_eq(v, "viewer");
    free(v);

    /* B, invited as a viewer, accepts as a viewer, not as an admin. */
    scope(org_a, id_a);
    expect("SELECT (auth_invite($1, 'viewer') IS NULL)::text", user_b, "true");
    scope(org_a, id_b);
    refused("UPDATE memberships SET accepted_at = now(), is_active = true, "
            "role = 'admin' WHERE user_id = app_user()",
            "keeps the role");
    expect("UPDATE memberships SET accepted_at = now(), is_active = true, "
           "updated_at = now() WHERE user_id = app_user()",
           NULL, "1");
    v = role_of(org_a, id_b);
    ck_assert_str_eq(v, "viewer");
    free(v);
    /* Accepted, it is the admins' to change, not B's. */
    expect("UPDATE memberships SET role = 'admin' WHERE user_id = app_user()",
           NULL, "0");

    /* An API key's request (no user) may, as the admin routes allow. */
    scope(org_a, NULL);
    expect("UPDATE memberships SET role = 'analyst' WHERE user_id = $1::uuid",
           id_v, "1");
    /* And whoever updates, even the owner, nobody raises their own role. */
    v = it_sql("SLUICE_TEST_OWNER_DB_URL",
               "UPDATE memberships SET role = 'admin' WHERE user_id = "
               "$1::uuid AND set_config('app.user_id', $1, true) = $1 "
               "RETURNING role",
               id_v, NULL, NULL, NULL, 0);
    ck_assert_msg(v == NULL, "the owner raised a user's role as that user");
    v = role_of(org_a, id_v);
    ck_assert_str_eq(v, "analyst");
    free(v);

    free(ta);
    free(tb);
    free(tv);
    free(id_a);
    free(id_b);
    free(id_v);
    free(user_a);
    free(user_b);
    free(org_a);
    free(org_b);
}
END_TEST

/* As the login role (sql/018): sql's first value must be want. */
static void
as_login_expect(const char *sql, const char *p1, const char *want)
{
    char err[256] = "";
    char *v = it_sql("SLUICE_TEST_LOGIN_DB_URL", sql, p1, NULL, NULL, err,
                     sizeof(err));

    ck_assert_msg(v != NULL && strcmp(v, want) == 0,
                  "as sluice_login, %s (%s): want %s, got %s %s", sql,
                  p1 ? p1 : "", want, v ? v : "(error)", err);
    free(v);
}

START_TEST(password_hashes_only_through_login)
{
    struct it_client c;
    char *user_a, *org_a, *ta, *id_a;

    it_client_init(&c);
    ta = it_new_org(&c, &user_a, &org_a);
    id_a = user_id(&c, ta);
    /* Not even the user's own row shows or takes its hash. */
    scope(org_a, id_a);
    expect("SELECT username FROM users WHERE id = $1::uuid", id_a, user_a);
    refused("SELECT password_hash FROM users", "permission denied");
    refused("SELECT * FROM users", "permission denied");
    refused("UPDATE users SET password_hash = 'x'", "permission denied");
    /* Nor through the login functions: they are the login role's. */
    scope(NULL, NULL);
    refused_with("SELECT password_hash FROM auth_login_lookup($1)", user_a,
                 NULL, "permission denied for function");
    refused_with("SELECT auth_password_rehash($1::uuid, 'x', "
                 "'$scrypt$ln=20,r=8,p=1$AAAA$AAAA')",
                 id_a, NULL, "permission denied for function");
    /* The login role reads it; a rehash replaces only the hash login
     * read. */
    as_login_expect("SELECT (password_hash LIKE '$scrypt$%')::text "
                    "FROM auth_login_lookup($1)",
                    user_a, "true");
    as_login_expect("SELECT auth_password_rehash($1::uuid, 'not-the-hash', "
                    "'$scrypt$ln=12,r=8,p=1$AAAA$AAAA')::text",
                    id_a, "false");
    /* Only ever with a stronger one: the stack hashes at cost 12. */
    as_login_expect("SELECT split_part(password_hash, '$', 3) "
                    "FROM auth_login_lookup($1)",
                    user_a, "ln=12,r=8,p=1");
    as_login_expect("SELECT auth_password_rehash(user_id, password_hash, "
                    "'$scrypt$ln=10,r=8,p=1$AAAA$AAAA')::text "
                    "FROM auth_login_lookup($1)",
                    user_a, "false");
    as_login_expect("SELECT auth_password_rehash(user_id, password_hash, "
                    "'$scrypt$ln=12,r=8,p=1$AAAA$AAAA')::text "
                    "FROM auth_login_lookup($1)",
                    user_a, "false");
    as_login_expect("SELECT auth_password_rehash(user_id, password_hash, "
                    "'$scrypt$ln=14,r=4,p=1$AAAA$AAAA')::text "
                    "FROM auth_login_lookup($1)",
                    user_a, "false");
    as_login_expect("SELECT auth_password_rehash(user_id, password_hash, "
                    "'plaintext')::text FROM auth_login_lookup($1)",
                    user_a, "false");
    as_login_expect("SELECT auth_password_rehash(user_id, password_hash, "
                    "'$scrypt$ln=13,r=8,p=1$AAAA$AAAA')::text "
                    "FROM auth_login_lookup($1)",
                    user_a, "true");
    as_login_expect("SELECT password_hash FROM auth_login_lookup($1)", user_a,
                    "$scrypt$ln=13,r=8,p=1$AAAA$AAAA");
    /* And the login role sees nothing else. */
    as_login_expect("SELECT has_table_privilege('users', 'SELECT')::text || "
                    "has_table_privilege('memberships', 'SELECT')::text || "
                    "has_function_privilege('auth_invite(text, text)', "
                    "'EXECUTE')::text",
                    NULL, "falsefalsefalse");
    free(ta);
    free(id_a);
    free(user_a);
    free(org_a);
}
END_TEST

START_TEST(subscriptions_are_read_only_to_a_tenant)
{
    struct it_client c;
    char *user_a, *org_a, *ta;

    it_client_init(&c);
    ta = it_new_org(&c, &user_a, &org_a);
    scope(org_a, NULL);
    expect("SELECT plan_code FROM tenant_subscriptions", NULL, "STARTER");
    refused("UPDATE tenant_subscriptions SET plan_code = 'SCALE', "
            "concurrent_runs_limit = 1000",
            "permission denied");
    refused("UPDATE tenant_subscriptions SET updated_at = now()",
            "row-level security");
    refused("DELETE FROM tenant_subscriptions", "permission denied");
    refused("INSERT INTO tenant_subscriptions (tenant_id, plan_code, "
            "daily_runs_limit, monthly_runs_limit, concurrent_runs_limit) "
            "VALUES (app_tenant(), 'SCALE', 1, 1, 1)",
            "permission denied");
    /* A subscription is made once, with its organisation. */
    expect("SELECT count(*) FROM tenant_subscription_open('SCALE')", NULL, "0");
    /* The quota check still locks its row to count. */
    expect("SELECT (spent IS NULL)::text FROM run_quota_check()", NULL, "true");
    expect("SELECT plan_code FROM tenant_subscriptions", NULL, "STARTER");
    free(ta);
    free(user_a);
    free(org_a);
}
END_TEST

START_TEST(outbox_rows_speak_for_their_own_tenant)
{
    struct it_client c;
    char *user_a, *org_a, *user_b, *org_b, *ta, *tb, subject[128];
    PGresult *r;

    it_client_init(&c);
    ta = it_new_org(&c, &user_a, &org_a);
    tb = it_new_org(&c, &user_b, &org_b);
    scope(org_a, NULL);
    snprintf(subject, sizeof(subject), "sluice.event.%s.pipeline.completed",
             org_b);
    refused_with("INSERT INTO outbox (id, tenant_id, subject, payload) "
                 "VALUES (gen_random_uuid(), app_tenant(), $1, '{}')",
                 subject, NULL, "outbox_own_subject");
    refused_with(
        "INSERT INTO outbox (id, tenant_id, subject, payload) "
        "VALUES (gen_random_uuid(), app_tenant(), "
        "'sluice.run.request', jsonb_build_object('tenant_id', $1::text))",
        org_b, NULL, "outbox_own_subject");
    snprintf(subject, sizeof(subject), "sluice.event.%s.pipeline.completed",
             org_a);
    refused_with("INSERT INTO outbox (id, tenant_id, subject, payload) "
                 "VALUES (gen_random_uuid(), app_tenant(), $1, "
                 "jsonb_build_object('organization_id', $2::text))",
                 subject, org_b, "outbox_own_subject");
    /* Its own, in a transaction rolled back: nothing is published. */
    PQclear(PQexec(conn, "BEGIN"));
    expect("WITH o AS (INSERT INTO outbox (id, tenant_id, subject, payload) "
           "VALUES (gen_random_uuid(), app_tenant(), $1, "
           "jsonb_build_object('organization_id', app_tenant())) RETURNING 1) "
           "SELECT count(*) FROM o",
           subject, "1");
    r = PQexec(conn, "ROLLBACK");
    PQclear(r);
    free(ta);
    free(tb);
    free(user_a);
    free(user_b);
    free(org_a);
    free(org_b);
}
END_TEST

/* A small pipeline of token's organisation; returns its id (malloc'd). */
static char *
new_pipeline(struct it_client *c, const char *token)
{
    json_t *g = it_graph();
    char *id = it_pipeline(c, token, json_incref(json_object_get(g, "nodes")),
                           json_incref(json_object_get(g, "edges")));

    json_decref(g);
    return id;
}

START_TEST(rows_point_only_at_their_own_tenants_parents)
{
    struct it_client c;
    struct it_resp r;
    char *user_a, *org_a, *user_b, *org_b, *ta, *tb, *id_a, *id_b;
    char *project_b, *pipe_a, *pipe_b, *run_b, *session_b;

    it_client_init(&c);
    ta = it_new_org(&c, &user_a, &org_a);
    tb = it_new_org(&c, &user_b, &org_b);
    id_a = user_id(&c, ta);
    id_b = user_id(&c, tb);
    it_call(&c, "POST", "/api/v1/projects", tb,
            json_pack("{s:s}", "name", "B's project"), &r);
    it_assert_status(&r, 201);
    project_b = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    pipe_a = new_pipeline(&c, ta);
    pipe_b = new_pipeline(&c, tb);
    run_b = it_execute(&c, tb, pipe_b);
    session_b = it_sql("SLUICE_TEST_OWNER_DB_URL",
                       "SELECT id FROM sessions WHERE user_id = $1::uuid "
                       "LIMIT 1",
                       id_b, NULL, NULL, NULL, 0);
    ck_assert_ptr_nonnull(session_b);

    /* Under A, B's rows cannot be seen; nor may A's rows point at them
     * (a foreign key's check sees past row-level security). */
    scope(org_a, id_a);
    refused_with("INSERT INTO pipelines (id, tenant_id, project_id, slug, "
                 "name) VALUES (gen_random_uuid(), app_tenant(), $1::uuid, "
                 "'stray', 'stray')",
                 project_b, NULL, "foreign key");
    refused_with("INSERT INTO pipeline_versions (tenant_id, pipeline_id, "
                 "version, definition) VALUES (app_tenant(), $1::uuid, 99, "
                 "'{}')",
                 pipe_b, NULL, "foreign key");
    refused_with("INSERT INTO runs (id, tenant_id, pipeline_id, "
                 "pipeline_version) VALUES (gen_random_uuid(), app_tenant(), "
                 "$1::uuid, 1)",
                 pipe_b, NULL, "foreign key");
    refused_with("INSERT INTO runs (id, tenant_id, pipeline_id, "
                 "pipeline_version, original_run_id) VALUES "
                 "(gen_random_uuid(), app_tenant(), $1::uuid, 1, $2::uuid)",
                 pipe_a, run_b, "foreign key");
    refused_with("INSERT INTO run_steps (run_id, tenant_id, node_id, module, "
                 "position) VALUES ($1::uuid, app_tenant(), 'n', 'csv', 1)",
                 run_b, NULL, "foreign key");
    refused_with("INSERT INTO run_logs (run_id, tenant_id, level, message) "
                 "VALUES ($1::uuid, app_tenant(), 'INFO', 'stray')",
                 run_b, NULL, "foreign key");
    refused_with("INSERT INTO triggers (id, tenant_id, pipeline_id, name, "
                 "trigger_type) VALUES (gen_random_uuid(), app_tenant(), "
                 "$1::uuid, 'stray', 'manual')",
                 pipe_b, NULL, "foreign key");
    /* A's refresh tokens belong to A's sessions. */
    refused_with("INSERT INTO refresh_tokens (token_hash, session_id, "
                 "user_id, expires_at) VALUES (repeat('a', 64), $1::uuid, "
                 "$2::uuid, now() + interval '1 hour')",
                 session_b, id_a, "foreign key");
    free(ta);
    free(tb);
    free(id_a);
    free(id_b);
    free(project_b);
    free(pipe_a);
    free(pipe_b);
    free(run_b);
    free(session_b);
    free(user_a);
    free(user_b);
    free(org_a);
    free(org_b);
}
END_TEST

/* As the runner's role: sql's first value, or NULL with the error in err. */
static char *
as_runner(const char *sql, char *err, size_t errsz)
{
    return it_sql("SLUICE_TEST_RUNNER_DB_URL", sql, NULL, NULL, NULL, err,
                  errsz);
}

/*
 * What acts across organisations for the runner (claiming any run, with
 * its definition and parameters; the relay; heartbeats, sweeps,
 * reconciliation) is the runner's role's alone: a session of the API
 * cannot call it. The runner's role, for its part, sees no account.
 */
START_TEST(runner_functions_are_the_runners_alone)
{
    static const char *const runner_only[] = {
        "SELECT * FROM run_claim_next('intruder')",
        "SELECT * FROM outbox_due(100, '0 seconds')",
        "SELECT outbox_mark_sent(gen_random_uuid())",
        "SELECT * FROM outbox_mark_failed(gen_random_uuid(), 0, 'x', 10, "
        "'1 second', '1 minute')",
        "SELECT * FROM run_heartbeat('intruder', '{}')",
        "SELECT * FROM run_sweep(1)",
        "SELECT * FROM run_reconcile('1 hour', '1 hour', 1)",
        "SELECT * FROM run_prepared_due(1, '1 hour')",
    };
    char err[256], *v;

    for (size_t i = 0; i < sizeof(runner_only) / sizeof(runner_only[0]); i++)
        refused(runner_only[i], "permission denied for function");
    /* What the API itself uses across organisations stays its own. */
    expect("SELECT (unsent >= 0)::text FROM outbox_stats()", NULL, "true");
    expect("SELECT (count(*) >= 0)::text FROM scheduler_due(1)", NULL, "true");

    /* The runner's role may, and is powerless otherwise. */
    v = as_runner("SELECT count(*) FROM outbox_due(0, '1 hour')", err,
                  sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    ck_assert_str_eq(v, "0");
    free(v);
    v = as_runner("SELECT has_function_privilege('run_claim_next(text)', "
                  "'EXECUTE') AND has_function_privilege("
                  "'run_prepared_due(integer, interval)', 'EXECUTE')",
                  err, sizeof(err));
    ck_assert_msg(v != NULL && strcmp(v, "t") == 0, "%s %s", v, err);
    free(v);
    v = as_runner("SELECT rolsuper::text || rolbypassrls::text || "
                  "rolcreaterole::text || (SELECT count(*) FROM pg_class c "
                  "WHERE c.relowner = r.oid) FROM pg_roles r "
                  "WHERE rolname = current_user",
                  err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    ck_assert_str_eq(v, "falsefalsefalse0");
    free(v);
    v = as_runner("SELECT count(*) FROM users", err, sizeof(err));
    ck_assert_msg(v == NULL && strstr(err, "permission denied") != NULL,
                  "the runner's role read users: %s", v ? v : err);
    v = as_runner("SELECT count(*) FROM api_keys", err, sizeof(err));
    ck_assert_msg(v == NULL && strstr(err, "permission denied") != NULL,
                  "the runner's role read API keys: %s", v ? v : err);
}
END_TEST

/* Whether file holds text (read whole, at most 1 MiB). */
static bool
file_has(const char *file, const char *text)
{
    static char buf[1 << 20];
    FILE *f = fopen(file, "r");
    size_t n;

    if (f == NULL)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* A runner left connecting as the application's role (a configuration
 * older than runner_db_url) says, as an error, that it may not claim. */
START_TEST(a_runner_as_the_app_role_says_it_cannot_claim)
{
    char log[512];
    double end = it_now() + 20;
    pid_t pid;

    snprintf(log, sizeof(log), "%s/log/runner2.log", it_env("SLUICE_TEST_VAR"));
    ck_assert_int_eq(
        setenv("SLUICE_RUNNER_DB_URL", it_env("SLUICE_TEST_DB_URL"), 1), 0);
    pid = it_second_runner();
    ck_assert_int_eq(unsetenv("SLUICE_RUNNER_DB_URL"), 0);
    while (!file_has(log, "may not claim runs")) {
        ck_assert_msg(it_now() < end, "no word of it in %s", log);
        usleep(100 * 1000);
    }
    ck_assert(file_has(log, "role sluice_app may not claim runs"));
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
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
    tcase_add_test(tc, memberships_are_never_forced);
    tcase_add_test(tc, memberships_change_only_as_the_api_does);
    tcase_add_test(tc, password_hashes_only_through_login);
    tcase_add_test(tc, subscriptions_are_read_only_to_a_tenant);
    tcase_add_test(tc, outbox_rows_speak_for_their_own_tenant);
    tcase_add_test(tc, rows_point_only_at_their_own_tenants_parents);
    tcase_add_test(tc, runner_functions_are_the_runners_alone);
    tcase_add_test(tc, a_runner_as_the_app_role_says_it_cannot_claim);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(rls_suite)
