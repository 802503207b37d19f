/*
 * it_connectors.c: connectors against the stack's own PostgreSQL — create
 * in each seed's shape, test (success, wrong password, closed port, each
 * within a bound), introspect a table the test makes, the catalog's
 * statistics of rows the test inserted — with the password never in a
 * response, and another organisation seeing none of it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

/* Every response body of the test, to look for the password in. */
static char *seen;
static size_t seen_len;

static void
remember(const struct it_resp *r)
{
    size_t n = r->body ? strlen(r->body) : 0;

    seen = realloc(seen, seen_len + n + 2);
    memcpy(seen + seen_len, r->body ? r->body : "", n);
    seen_len += n;
    seen[seen_len++] = '\n';
    seen[seen_len] = '\0';
}

/* The warehouse role's password and the PostgreSQL port of the stack. */
static char wh_password[128];
static char pg_port[16];

static void
stack_facts(void)
{
    char path[512];
    const char *url = it_env("SLUICE_TEST_WH_DB_URL"), *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/secrets/pg_wh", it_env("SLUICE_TEST_VAR"));
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(wh_password, 1, sizeof(wh_password) - 1, f);
    fclose(f);
    wh_password[n] = '\0';
    wh_password[strcspn(wh_password, "\r\n")] = '\0';
    p = strstr(url, "port=");
    ck_assert_ptr_nonnull(p);
    snprintf(pg_port, sizeof(pg_port), "%.*s", (int)strcspn(p + 5, " "), p + 5);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Creates a connector (seed 002's config + credentials); returns its id. */
static char *
create_pg(struct it_client *c, const char *token, const char *name,
          const char *port, const char *password)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s, s:{s:s, s:I, s:s, s:s}, s:{s:s, s:s}}",
                      "name", name, "type", "postgresql", "config", "host",
                      it_env("SLUICE_TEST_BIND"), "port",
                      (json_int_t)atoi(port), "database", "sluice_warehouse",
                      "ssl_mode", "disable", "credentials", "username",
                      "sluice_wh", "password", password),
            &r);
    it_assert_status(&r, 201);
    remember(&r);
    ck_assert_str_eq(it_str(&r, "type"), "postgresql");
    ck_assert_str_eq(it_str(&r, "configuration.password"), "********");
    ck_assert_str_eq(it_str(&r, "configuration.username"), "sluice_wh");
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

static void
test_connector(struct it_client *c, const char *token, const char *id,
               struct it_resp *r)
{
    char path[160];

    snprintf(path, sizeof(path), "/api/v1/connectors/%s/test", id);
    it_call(c, "POST", path, token, NULL, r);
    it_assert_status(r, 200);
    remember(r);
}

static void
sql_ok(const char *url_env, const char *sql)
{
    char err[256] = "";
    char *v = it_sql(url_env, sql, NULL, NULL, NULL, err, sizeof(err));

    ck_assert_msg(v != NULL, "%s: %s", sql, err);
    free(v);
}

START_TEST(connectors_test_introspect_and_keep_secrets)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *good, *bad, *closed, path[256], port[16];
    char *admin_b, *org_b, *token_b, table[64];
    double t0;

    it_client_init(&c);
    stack_facts();
    token = it_new_org(&c, &admin, &org);
    token_b = it_new_org(&c, &admin_b, &org_b);

    it_get(&c, "/api/v1/connectors/types", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "connectors.0.type"), "postgresql");
    ck_assert(json_is_true(it_at(
        &r,
        "connectors.0.configuration_schema.properties.password.sensitive")));
    ck_assert_str_eq(it_str(&r, "connectors.1.type"), "file");
    it_resp_free(&r);

    good = create_pg(&c, token, "Warehouse", pg_port, wh_password);
    t0 = now_s();
    test_connector(&c, token, good, &r);
    ck_assert_str_eq(it_str(&r, "status"), "success");
    ck_assert(json_is_true(it_at(&r, "details.authentication_successful")));
    ck_assert(json_is_true(it_at(&r, "details.query_execution_successful")));
    ck_assert_ptr_nonnull(
        strstr(it_str(&r, "metadata.database_version"), "PostgreSQL"));
    ck_assert(json_is_array(it_at(&r, "metadata.available_schemas")));
    ck_assert_ptr_nonnull(it_str(&r, "tested_at"));
    it_resp_free(&r);

    /* A wrong password and a closed port fail clearly, in bounded time. */
    bad = create_pg(&c, token, "Wrong password", pg_port, "not-the-password");
    t0 = now_s();
    test_connector(&c, token, bad, &r);
    ck_assert_str_eq(it_str(&r, "status"), "failed");
    ck_assert(json_is_true(it_at(&r, "details.connection_established")));
    ck_assert(json_is_false(it_at(&r, "details.authentication_successful")));
    ck_assert_msg(strstr(it_str(&r, "message"), "authentication") != NULL, "%s",
                  r.body);
    ck_assert(now_s() - t0 < 6.0);
    it_resp_free(&r);
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {0};
        socklen_t len = sizeof(sa);

        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        getsockname(fd, (struct sockaddr *)&sa, &len);
        snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
        close(fd);
    }
    closed = create_pg(&c, token, "Closed port", port, wh_password);
    t0 = now_s();
    test_connector(&c, token, closed, &r);
    ck_assert_str_eq(it_str(&r, "status"), "failed");
    ck_assert(json_is_false(it_at(&r, "details.connection_established")));
    ck_assert_msg(strstr(it_str(&r, "message"), "refused") != NULL, "%s",
                  r.body);
    ck_assert(now_s() - t0 < 6.0);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/connectors/%s", bad);
    it_get(&c, path, token, &r);
    remember(&r);
    ck_assert_str_eq(it_str(&r, "test_status"), "failed");
    ck_assert_ptr_nonnull(it_str(&r, "last_tested"));
    it_resp_free(&r);

    /* A table the test makes, described from the real database. */
    snprintf(table, sizeof(table), "orders_%d", (int)getpid());
    snprintf(path, sizeof(path),
             "CREATE TABLE public.%s (id integer PRIMARY KEY, amount "
             "numeric(10,2) NOT NULL, note varchar(40), day date)",
             table);
    sql_ok("SLUICE_TEST_WH_DB_URL", path);
    snprintf(path, sizeof(path), "CREATE INDEX %s_day ON public.%s (day)",
             table, table);
    sql_ok("SLUICE_TEST_WH_DB_URL", path);
    snprintf(path, sizeof(path),
             "INSERT INTO public.%s VALUES (1, 10.50, 'a', '2026-01-01'), "
             "(2, 3.25, NULL, '2026-01-02'), (3, 3.25, 'a', NULL)",
             table);
    sql_ok("SLUICE_TEST_WH_DB_URL", path);
    snprintf(path, sizeof(path), "/api/v1/connections/%s/schema/%s", good,
             table);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    remember(&r);
    ck_assert_str_eq(it_str(&r, "table_name"), table);
    ck_assert_int_eq(it_int(&r, "row_count"), 3);
    ck_assert_str_eq(it_str(&r, "columns.0.name"), "id");
    ck_assert(json_is_true(it_at(&r, "columns.0.primary_key")));
    ck_assert(json_is_false(it_at(&r, "columns.0.nullable")));
    ck_assert_str_eq(it_str(&r, "columns.1.type"), "numeric(10,2)");
    ck_assert_int_eq(it_int(&r, "columns.2.max_length"), 40);
    ck_assert(json_is_true(it_at(&r, "columns.2.nullable")));
    ck_assert_uint_eq(json_array_size(it_at(&r, "indexes")), 2);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/connectors/%s/schema", good);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_ptr_nonnull(strstr(r.body, table));
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/connectors/%s/schema/nosuch", good);
    it_get(&c, path, token, &r);
    it_assert_error(&r, 404, "TABLE_NOT_FOUND");
    it_resp_free(&r);

    /* The catalog of the connector: exact statistics of those rows. */
    snprintf(path, sizeof(path),
             "/api/v1/catalog/catalogs/Warehouse/schemas/public/tables/%s/"
             "stats",
             table);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "row_count"), 3);
    ck_assert_int_eq(it_int(&r, "column_stats.amount.null_count"), 0);
    ck_assert_int_eq(it_int(&r, "column_stats.amount.distinct_count"), 2);
    ck_assert(json_real_value(it_at(&r, "column_stats.amount.min_value")) ==
              3.25);
    ck_assert(json_real_value(it_at(&r, "column_stats.amount.max_value")) ==
              10.5);
    ck_assert_int_eq(it_int(&r, "column_stats.note.null_count"), 1);
    ck_assert_int_eq(it_int(&r, "column_stats.note.distinct_count"), 1);
    ck_assert_int_eq(it_int(&r, "column_stats.id.max_value"), 3);
    ck_assert_str_eq(it_str(&r, "column_stats.day.max_value"), "2026-01-02");
    it_resp_free(&r);

    /* A change without a password keeps the sealed one. */
    snprintf(path, sizeof(path), "/api/v1/connections/%s", good);
    it_call(&c, "PATCH", path, token,
            json_pack("{s:s, s:{s:s}}", "name", "Warehouse 2", "config",
                      "password", "********"),
            &r);
    it_assert_status(&r, 200);
    remember(&r);
    ck_assert_str_eq(it_str(&r, "name"), "Warehouse 2");
    it_resp_free(&r);
    test_connector(&c, token, good, &r);
    ck_assert_str_eq(it_str(&r, "status"), "success");
    it_resp_free(&r);

    /* Seed 001's shape names the connector as connector_id. */
    it_call(&c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:s, s:s, s:{s:{s:s, s:s}, s:{s:s}}}", "name",
                      "From the connector", "source_type", "postgresql",
                      "target_type", "csv", "configuration", "source",
                      "connector_id", good, "table", table, "target", "path",
                      "out/orders.csv"),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "nodes.0.config.connection_id"), good);
    ck_assert_ptr_null(it_at(&r, "nodes.0.config.connector_id"));
    it_resp_free(&r);

    /* Pointed elsewhere without its password given again, a connector
     * keeps no password: a stored one goes only where it was given for. */
    snprintf(path, sizeof(path), "/api/v1/connectors/%s", bad);
    it_call(&c, "PATCH", path, token,
            json_pack("{s:{s:s}}", "config", "host", "localhost"), &r);
    it_assert_status(&r, 200);
    remember(&r);
    ck_assert_ptr_null(it_at(&r, "configuration.password"));
    it_resp_free(&r);

    /* Another organisation sees none of it. */
    snprintf(path, sizeof(path), "/api/v1/connectors/%s", good);
    it_get(&c, path, token_b, &r);
    it_assert_error(&r, 404, "CONNECTOR_NOT_FOUND");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/connectors/%s/test", good);
    it_call(&c, "POST", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "CONNECTOR_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/connectors", token_b, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/catalog/catalogs/Warehouse%202/schemas", token_b, &r);
    it_assert_error(&r, 404, "CATALOG_NOT_FOUND");
    it_resp_free(&r);

    /* The password is in no response, and not in clear in the database. */
    ck_assert_ptr_null(strstr(seen, wh_password));
    {
        char *sealed = it_sql("SLUICE_TEST_OWNER_DB_URL",
                              "SELECT secret || config::text FROM connectors "
                              "WHERE id = $1::uuid",
                              good, NULL, NULL, NULL, 0);

        ck_assert_ptr_nonnull(sealed);
        ck_assert_ptr_null(strstr(sealed, wh_password));
        ck_assert_int_eq(strncmp(sealed, "v1.", 3), 0);
        free(sealed);
    }

    /* Deleted: gone for reads, and for pipelines naming it. */
    snprintf(path, sizeof(path), "/api/v1/connectors/%s", closed);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_get(&c, path, token, &r);
    it_assert_error(&r, 404, "CONNECTOR_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:[{s:s, s:s, s:s, s:{s:s, s:s}}, "
                      "{s:s, s:s, s:s, s:{s:s, s:s}}], "
                      "s:[{s:s, s:s}]}",
                      "name", "uses connectors", "nodes", "id", "in", "type",
                      "extractor", "module", "postgres", "config",
                      "connection_id", closed, "table", "t", "id", "out",
                      "type", "loader", "module", "postgres", "config",
                      "connection_id", good, "table", "t2", "edges", "source",
                      "in", "target", "out"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"),
                     "nodes[0].config.connection_id");
    ck_assert_uint_eq(json_array_size(it_at(&r, "error.details.errors")), 1);
    it_resp_free(&r);

    free(good);
    free(bad);
    free(closed);
    free(token);
    free(admin);
    free(org);
    free(token_b);
    free(admin_b);
    free(org_b);
}
END_TEST

START_TEST(shapes_and_bad_input)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, path[160];

    it_client_init(&c);
    stack_facts();
    token = it_new_org(&c, &admin, &org);
    /* seed 004: /connections, type postgres, everything in config. */
    it_call(&c, "POST", "/api/v1/connections", token,
            json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s, s:s}}", "name",
                      "Prod", "type", "postgres", "description", "main",
                      "config", "host", "db.example.com", "port", 5432,
                      "database", "production", "username", "etl_user",
                      "password", "secure_password"),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "type"), "postgresql");
    ck_assert_ptr_null(strstr(r.body, "secure_password"));
    snprintf(path, sizeof(path), "/api/v1/connectors/%s", it_str(&r, "id"));
    it_resp_free(&r);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "config.host"), "db.example.com");
    it_resp_free(&r);
    /* seed 001: configuration, and a duplicate name. */
    it_call(&c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "name", "prod",
                      "type", "postgresql", "configuration", "host", "h",
                      "database", "d", "username", "u", "password", "p"),
            &r);
    it_assert_error(&r, 409, "DUPLICATE_RESOURCE");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", "Broken", "type",
                      "postgresql", "configuration", "host", "h", "sslmode",
                      "x"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_ptr_nonnull(strstr(r.body, "configuration.database"));
    ck_assert_msg(strstr(r.body, "configuration.sslmode") != NULL, "%s",
                  r.body);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s}", "name", "Mongo", "type", "mongodb"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "type");
    it_resp_free(&r);
    /* A file connector's directory cannot leave the data directory. */
    it_call(&c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s, s:{s:s}}", "name", "Escape", "type", "file",
                      "config", "path", "../../etc"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);

    /* The warehouse catalog: three layers, and what a test puts there. */
    it_get(&c, "/api/v1/catalog/catalogs", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "catalogs.0.name"), "warehouse");
    ck_assert_str_eq(it_str(&r, "catalogs.0.schemas.1.name"), "silver");
    it_resp_free(&r);
    snprintf(path, sizeof(path),
             "CREATE TABLE t_%s_silver.customers (id bigint, email text)", org);
    sql_ok("SLUICE_TEST_WH_DB_URL", path);
    snprintf(path, sizeof(path),
             "INSERT INTO t_%s_silver.customers SELECT g, 'u' || (g %% 3) "
             "FROM generate_series(1, 10) g",
             org);
    sql_ok("SLUICE_TEST_WH_DB_URL", path);
    it_get(&c, "/api/v1/catalog/catalogs/warehouse/schemas/silver/tables",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "tables.0.name"), "customers");
    ck_assert_int_eq(it_int(&r, "tables.0.row_count"), 10);
    ck_assert_str_eq(it_str(&r, "tables.0.columns.1.name"), "email");
    it_resp_free(&r);
    it_get(&c,
           "/api/v1/catalog/catalogs/warehouse/schemas/silver/tables/"
           "customers/stats",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "row_count"), 10);
    ck_assert_int_eq(it_int(&r, "column_stats.email.distinct_count"), 3);
    ck_assert_int_eq(it_int(&r, "column_stats.id.min_value"), 1);
    ck_assert_int_eq(it_int(&r, "column_stats.id.max_value"), 10);
    ck_assert(it_int(&r, "size_bytes") > 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/catalog/catalogs/warehouse/schemas/platinum/tables",
           token, &r);
    it_assert_error(&r, 404, "SCHEMA_NOT_FOUND");
    it_resp_free(&r);
    {
        char *token_b, *admin_b, *org_b;

        token_b = it_new_org(&c, &admin_b, &org_b);
        it_get(&c, "/api/v1/catalog/catalogs/warehouse/schemas/silver/tables",
               token_b, &r);
        it_assert_status(&r, 200);
        ck_assert_uint_eq(json_array_size(it_at(&r, "tables")), 0);
        it_resp_free(&r);
        it_get(&c,
               "/api/v1/catalog/catalogs/warehouse/schemas/silver/tables/"
               "customers/stats",
               token_b, &r);
        it_assert_error(&r, 404, "TABLE_NOT_FOUND");
        it_resp_free(&r);
        free(token_b);
        free(admin_b);
        free(org_b);
    }
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* PATCHes or PUTs the connector's settings; asserts 200. */
static void
change(struct it_client *c, const char *token, const char *method,
       const char *id, json_t *config, struct it_resp *r)
{
    char path[160];

    snprintf(path, sizeof(path), "/api/v1/connections/%s", id);
    it_call(c, method, path, token, json_pack("{s:o}", "config", config), r);
    it_assert_status(r, 200);
    remember(r);
}

/* Tests the connector; asserts whether the server let it in. */
static void
assert_logs_in(struct it_client *c, const char *token, const char *id,
               bool want)
{
    struct it_resp r;

    test_connector(c, token, id, &r);
    ck_assert_msg(json_is_true(it_at(&r, "details.authentication_successful")) ==
                      want,
                  "%s", r.body);
    ck_assert_str_eq(it_str(&r, "status"), want ? "success" : "failed");
    it_resp_free(&r);
}

START_TEST(a_password_never_follows_a_move)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, cs[256];

    it_client_init(&c);
    stack_facts();
    ck_assert(strspn(wh_password, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                  "qrstuvwxyz0123456789") ==
              strlen(wh_password));
    token = it_new_org(&c, &admin, &org);
    id = create_pg(&c, token, "Moving", pg_port, wh_password);
    assert_logs_in(&c, token, id, true);

    /* A new connection string without a password: the stored one stays
     * behind, and is not sent to the new place. */
    snprintf(cs, sizeof(cs),
             "postgresql://sluice_wh@localhost:%s/sluice_warehouse"
             "?sslmode=disable",
             pg_port);
    change(&c, token, "PATCH", id, json_pack("{s:s}", "connection_string", cs),
           &r);
    ck_assert_str_eq(it_str(&r, "configuration.host"), "localhost");
    ck_assert_ptr_null(it_at(&r, "configuration.password"));
    it_resp_free(&r);
    assert_logs_in(&c, token, id, false);

    /* A connection string that carries the password gives it again. */
    snprintf(cs, sizeof(cs),
             "postgresql://sluice_wh:%s@localhost:%s/sluice_warehouse"
             "?sslmode=disable",
             wh_password, pg_port);
    change(&c, token, "PATCH", id, json_pack("{s:s}", "connection_string", cs),
           &r);
    ck_assert_str_eq(it_str(&r, "configuration.password"), "********");
    it_resp_free(&r);
    assert_logs_in(&c, token, id, true);

    /* The same TLS mode again moves nothing; another one (PUT too) is a
     * move, and the mask is no password given. */
    change(&c, token, "PUT", id, json_pack("{s:s}", "ssl_mode", "disable"), &r);
    ck_assert_str_eq(it_str(&r, "configuration.password"), "********");
    it_resp_free(&r);
    change(&c, token, "PUT", id,
           json_pack("{s:s, s:s}", "ssl_mode", "allow", "password", "********"),
           &r);
    ck_assert_ptr_null(it_at(&r, "configuration.password"));
    ck_assert_ptr_null(it_at(&r, "configuration.connection_string"));
    it_resp_free(&r);
    assert_logs_in(&c, token, id, false);

    /* Given again with the move, the password goes along. */
    change(&c, token, "PATCH", id,
           json_pack("{s:s, s:s}", "ssl_mode", "disable", "password",
                     wh_password),
           &r);
    it_resp_free(&r);
    assert_logs_in(&c, token, id, true);
    ck_assert_ptr_null(strstr(seen, wh_password));
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

static Suite *
connectors_suite(void)
{
    Suite *s = suite_create("it_connectors");
    TCase *tc = tcase_create("connectors");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, connectors_test_introspect_and_keep_secrets);
    tcase_add_test(tc, shapes_and_bad_input);
    tcase_add_test(tc, a_password_never_follows_a_move);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(connectors_suite)
