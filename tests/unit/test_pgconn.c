/*
 * test_pgconn.c: connecting to user-named PostgreSQL servers, and
 * introspecting them, against a real server.
 *
 * Runs inside a private stack (tests/integration/with-stack), whose
 * PostgreSQL listens on 127.0.0.1. SLUICE_TEST_OWNER_DB_URL gives its port,
 * the database, the owner role and the password file the owner's password
 * is read from; the tests connect over TCP as that role, as a user's
 * connector would, and create the tables they describe in schema pgconn_t.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "err.h"
#include "limits.h"
#include "pgconn.h"
#include "unit.h"

/* The stack's server, as found in the environment by load_server(). */
static char port[16], dbname[64], user[64], password[256];

static void
load_server(void)
{
    const char *url = getenv("SLUICE_TEST_OWNER_DB_URL");
    char *err = NULL, line[512];
    char passfile[1024] = "";
    PQconninfoOption *opts;
    FILE *f;

    ck_assert_msg(url != NULL, "SLUICE_TEST_OWNER_DB_URL is not set: run "
                               "this test through make check");
    opts = PQconninfoParse(url, &err);
    ck_assert_msg(opts != NULL, "bad SLUICE_TEST_OWNER_DB_URL: %s", err);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "port") == 0)
            snprintf(port, sizeof(port), "%s", o->val);
        else if (strcmp(o->keyword, "dbname") == 0)
            snprintf(dbname, sizeof(dbname), "%s", o->val);
        else if (strcmp(o->keyword, "user") == 0)
            snprintf(user, sizeof(user), "%s", o->val);
        else if (strcmp(o->keyword, "passfile") == 0)
            snprintf(passfile, sizeof(passfile), "%s", o->val);
    }
    PQconninfoFree(opts);
    ck_assert(port[0] && dbname[0] && user[0] && passfile[0]);
    /* Lines of host:port:database:user:password. */
    f = fopen(passfile, "r");
    ck_assert_ptr_nonnull(f);
    while (password[0] == '\0' && fgets(line, sizeof(line), f) != NULL) {
        char *field = line;

        line[strcspn(line, "\n")] = '\0';
        for (int i = 0; i < 3 && field != NULL; i++)
            field = strchr(field, ':') ? strchr(field, ':') + 1 : NULL;
        if (field != NULL && strncmp(field, user, strlen(user)) == 0 &&
            field[strlen(user)] == ':')
            snprintf(password, sizeof(password), "%s",
                     field + strlen(user) + 1);
    }
    fclose(f);
    ck_assert_msg(password[0] != '\0', "no password for %s", user);
}

static const char setup_sql[] =
    "DROP SCHEMA IF EXISTS pgconn_t CASCADE;"
    "DROP SCHEMA IF EXISTS pgconn_empty CASCADE;"
    "DROP TABLE IF EXISTS public.pgconn_plain;"
    "CREATE SCHEMA pgconn_t;"
    "CREATE SCHEMA pgconn_empty;"
    "CREATE TYPE pgconn_t.mood AS ENUM ('sad', 'ok', 'happy');"
    "CREATE TABLE pgconn_t.orders ("
    " id integer PRIMARY KEY, code varchar(12) NOT NULL,"
    " amount numeric(10,2), note text DEFAULT 'none', doc json, pt point,"
    " created date, flag char(3), mood pgconn_t.mood, big bigint);"
    "CREATE UNIQUE INDEX orders_code_key ON pgconn_t.orders (code);"
    "CREATE INDEX orders_amount_created ON pgconn_t.orders (amount, created);"
    "CREATE INDEX orders_lower_note ON pgconn_t.orders (lower(note));"
    "INSERT INTO pgconn_t.orders VALUES"
    " (1, 'A-1', 10.50, 'x', '{\"a\":1}', '(1,2)', '2024-01-01', 'abc', 'ok',"
    "  9007199254740993),"
    " (2, 'B-2', NULL, 'y', '{\"a\":1}', NULL, '2024-02-01', NULL, 'happy',"
    "  -5),"
    " (3, 'C-3', 3.25, NULL, NULL, '(0,0)', NULL, 'abc', 'sad', NULL),"
    " (4, 'D-4', 10.50, 'x', '[1]', '(1,2)', '2024-01-01', 'de', NULL, 7);"
    "CREATE VIEW pgconn_t.big_orders AS"
    " SELECT id, amount FROM pgconn_t.orders WHERE amount > 5;"
    "CREATE TABLE pgconn_t.\"Odd \"\"name\"\"\" (\"a col\" int, \"Q\"\"t\" "
    "text);"
    "INSERT INTO pgconn_t.\"Odd \"\"name\"\"\" VALUES (1, 'p'), (1, NULL);"
    "CREATE TABLE pgconn_t.longtext (t text);"
    "INSERT INTO pgconn_t.longtext VALUES (repeat('\xc3\xa9', 300));"
    "CREATE VIEW pgconn_t.slow AS SELECT 1 AS x FROM pg_catalog.pg_sleep(5);"
    "CREATE TABLE public.pgconn_plain (x int);";

/* Loads the server's coordinates and creates the tables, once. */
static void
setup_once(void)
{
    PGconn *c;
    PGresult *r;

    load_server();
    c = PQconnectdb(getenv("SLUICE_TEST_OWNER_DB_URL"));
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    r = PQexec(c, setup_sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
                  PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* The stack's server over TCP, as a connector would name it. */
static struct sl_pgconn_params
stack_params(void)
{
    struct sl_pgconn_params p = {
        .host = "127.0.0.1",
        .port = port,
        .dbname = dbname,
        .user = user,
        .password = password,
        .sslmode = "prefer",
    };

    return p;
}

static const struct sl_pgconn_opts local_opts = {
    .timeout_ms = 10000,
    .statement_timeout_ms = 7000,
    .allow_private = true,
};

static double
ms_since(int64_t t0)
{
    return (double)(sl_clock_mono_us() - t0) / 1000.0;
}

static PGconn *
open_stack(void)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_report rep;
    PGconn *c = NULL;

    ck_assert_int_eq(sl_pgconn_open(&p, &local_opts, &c, &rep), SL_OK);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* A query's single value, on a connection of the test's own. */
static char *
scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *v;

    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s",
                  PQresultErrorMessage(r));
    v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Asserts that j equals the JSON text want, showing both otherwise. */
static void
assert_json(const json_t *j, const char *want)
{
    json_error_t e;
    json_t *w = json_loads(want, 0, &e);
    char *got;

    ck_assert_msg(w != NULL, "bad expected JSON: %s", e.text);
    got = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_msg(json_equal(j, w), "got %s", got);
    free(got);
    json_decref(w);
}

START_TEST(test_succeeds_against_the_stack)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_report rep;
    json_t *schemas = NULL;
    int64_t t0 = sl_clock_mono_us();
    size_t i;
    json_t *v;
    bool t_seen = false, public_seen = false;

    ck_assert_int_eq(sl_pgconn_test(&p, &local_opts, &rep, &schemas), SL_OK);
    ck_assert(rep.resolved);
    ck_assert(rep.connection_established);
    ck_assert(rep.authentication_successful);
    ck_assert(rep.query_execution_successful);
    ck_assert_int_eq(rep.failure, SL_PGCONN_OK);
    ck_assert_str_eq(rep.error, "");
    ck_assert_str_eq(rep.address, "127.0.0.1");
    ck_assert_int_eq(strncmp(rep.server_version, "PostgreSQL ", 11), 0);
    ck_assert_ptr_null(strstr(rep.server_version, " on "));
    ck_assert(rep.latency_ms > 0 && rep.latency_ms <= ms_since(t0));
    ck_assert(json_is_array(schemas));
    json_array_foreach(schemas, i, v)
    {
        const char *s = json_string_value(v);

        ck_assert_ptr_nonnull(s);
        ck_assert_int_ne(strncmp(s, "pg_", 3), 0);
        ck_assert_str_ne(s, "information_schema");
        t_seen |= strcmp(s, "pgconn_t") == 0;
        public_seen |= strcmp(s, "public") == 0;
    }
    ck_assert(t_seen && public_seen);
    json_decref(schemas);
}
END_TEST

START_TEST(open_sets_up_the_session)
{
    PGconn *c = open_stack();
    char *v;

    ck_assert_str_eq(PQparameterStatus(c, "application_name"),
                     SL_PGCONN_APP_NAME);
    ck_assert_str_eq(PQparameterStatus(c, "client_encoding"), "UTF8");
    v = scalar(c, "SHOW statement_timeout");
    ck_assert_str_eq(v, "7s");
    free(v);
    ck_assert_int_eq(PQisnonblocking(c), 0);
    PQfinish(c);
}
END_TEST

START_TEST(wrong_password_is_an_authentication_failure)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_report rep;
    int64_t t0 = sl_clock_mono_us();
    PGconn *c = (PGconn *)&rep;

    p.password = "not-the-password-7c1e";
    ck_assert_int_eq(sl_pgconn_open(&p, &local_opts, &c, &rep), SL_EAUTH);
    ck_assert_ptr_null(c);
    ck_assert(ms_since(t0) < 2000);
    ck_assert(rep.resolved);
    ck_assert(rep.connection_established);
    ck_assert(!rep.authentication_successful);
    ck_assert_int_eq(rep.failure, SL_PGCONN_FAIL_AUTH);
    ck_assert_str_eq(rep.sqlstate, "28P01");
    ck_assert_msg(strncmp(rep.error, "authentication failed: ", 23) == 0, "%s",
                  rep.error);
    ck_assert_ptr_nonnull(strstr(rep.error, user));
    ck_assert_ptr_null(strstr(rep.error, "not-the-password-7c1e"));
    /* Neither libpq's SQLSTATE nor its LOCATION line shows. */
    ck_assert_ptr_null(strstr(rep.error, "28P01"));
    ck_assert_ptr_null(strstr(rep.error, "LOCATION"));
    ck_assert_ptr_null(strchr(rep.error, '\n'));
}
END_TEST

START_TEST(password_is_redacted_from_messages)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_report rep;
    PGconn *c = NULL;

    /* The server names the user in its message: here, the password. */
    p.user = "Secret-pw_0x5eed";
    p.password = "Secret-pw_0x5eed";
    ck_assert_int_eq(sl_pgconn_open(&p, &local_opts, &c, &rep), SL_EAUTH);
    ck_assert_ptr_null(strstr(rep.error, "Secret-pw_0x5eed"));
    ck_assert_msg(strstr(rep.error, "for user \"[redacted]\"") != NULL, "%s",
                  rep.error);
}
END_TEST

START_TEST(missing_database_is_reported)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_report rep;
    PGconn *c = NULL;

    p.dbname = "no_such_database_9";
    ck_assert_int_eq(sl_pgconn_open(&p, &local_opts, &c, &rep), SL_ENOTFOUND);
    ck_assert_int_eq(rep.failure, SL_PGCONN_FAIL_NODB);
    ck_assert_str_eq(rep.sqlstate, "3D000");
    ck_assert(rep.connection_established);
    ck_assert(rep.authentication_successful);
    ck_assert_str_eq(rep.error, "database does not exist: database "
                                "\"no_such_database_9\" does not exist");
}
END_TEST

/* A loopback port that nothing listens on: bound, then closed. */
static int
closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    p = ntohs(a.sin_port);
    close(fd);
    return p;
}

START_TEST(closed_port_is_refused_quickly)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_opts o = {.timeout_ms = 5000, .allow_private = true};
    struct sl_pgconn_report rep;
    char portbuf[16], want[64];
    int64_t t0;
    PGconn *c = NULL;

    snprintf(portbuf, sizeof(portbuf), "%d", closed_port());
    p.port = portbuf;
    t0 = sl_clock_mono_us();
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EDBCONN);
    ck_assert(ms_since(t0) < 1000);
    ck_assert_int_eq(rep.failure, SL_PGCONN_FAIL_REFUSED);
    snprintf(want, sizeof(want), "connection refused by 127.0.0.1 port %s",
             portbuf);
    ck_assert_str_eq(rep.error, want);
    ck_assert(rep.resolved);
    ck_assert(!rep.connection_established);
    ck_assert(!rep.authentication_successful);
}
END_TEST

/*
 * A server that accepts TCP connections (the kernel completes them from
 * the backlog) and never says a word.
 */
static int
silent_listener(int *portnum)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *portnum = ntohs(a.sin_port);
    return fd;
}

/* Connects to a silent server with sslmode and timeout_ms; checks timing. */
static void
check_silent_server_times_out(const char *sslmode, int timeout_ms)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_opts o = {.timeout_ms = timeout_ms, .allow_private = true};
    struct sl_pgconn_report rep;
    char portbuf[16], want[64];
    int portnum, fd = silent_listener(&portnum);
    int64_t t0;
    double took;
    PGconn *c = NULL;

    snprintf(portbuf, sizeof(portbuf), "%d", portnum);
    p.port = portbuf;
    p.sslmode = sslmode;
    t0 = sl_clock_mono_us();
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_ETIMEDOUT);
    took = ms_since(t0);
    ck_assert_msg(took >= timeout_ms && took < timeout_ms + 500, "took %.1f ms",
                  took);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(rep.failure, SL_PGCONN_FAIL_TIMEOUT);
    snprintf(want, sizeof(want), "timed out after %d ms", timeout_ms);
    ck_assert_str_eq(rep.error, want);
    ck_assert(rep.resolved);
    ck_assert(rep.connection_established);
    ck_assert(!rep.authentication_successful);
    ck_assert(rep.latency_ms >= timeout_ms);
    close(fd);
}

START_TEST(silent_server_times_out_on_time)
{
    check_silent_server_times_out("prefer", 1500);
    check_silent_server_times_out("disable", 700);
}
END_TEST

START_TEST(private_addresses_are_refused)
{
    const char *hosts[] = {"127.0.0.1",    "localhost",       "127.1",
                           "::1",          "0.0.0.0",         "10.20.30.40",
                           "192.168.1.1",  "169.254.169.254", "::ffff:10.0.0.1",
                           "fd00:ec2::254"};
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_opts o = {.timeout_ms = 3000, .allow_private = false};
    struct sl_pgconn_report rep;
    PGconn *c = NULL;

    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        int64_t t0 = sl_clock_mono_us();

        p.host = hosts[i];
        ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EPERM);
        ck_assert(ms_since(t0) < 1000);
        ck_assert_int_eq(rep.failure, SL_PGCONN_FAIL_FORBIDDEN);
        ck_assert_msg(
            strncmp(rep.error,
                    "address not allowed (private or loopback): ", 43) == 0,
            "%s: %s", hosts[i], rep.error);
        ck_assert(rep.resolved);
        ck_assert(!rep.connection_established);
    }
    ck_assert_int_eq(sl_pgconn_test(&p, &o, &rep, NULL), SL_EPERM);
    p.host = "127.0.0.1";
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EPERM);
    ck_assert_str_eq(rep.error,
                     "address not allowed (private or loopback): 127.0.0.1");
    /* Unix-domain sockets, too. */
    p.host = "/var/run/postgresql";
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EPERM);
    ck_assert_str_eq(rep.error, "address not allowed (private or loopback): "
                                "unix-domain socket");
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(unknown_host_is_not_resolved)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_opts o = {.timeout_ms = 5000};
    struct sl_pgconn_report rep;
    int64_t t0 = sl_clock_mono_us();
    PGconn *c = NULL;

    p.host = "nonexistent.invalid";
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_ENOTFOUND);
    ck_assert(ms_since(t0) < 5000 + 100);
    ck_assert_int_eq(rep.failure, SL_PGCONN_FAIL_RESOLVE);
    ck_assert_msg(strncmp(rep.error, "could not resolve host: ", 24) == 0, "%s",
                  rep.error);
    ck_assert(!rep.resolved);
    ck_assert(!rep.connection_established);
}
END_TEST

START_TEST(invalid_parameters_are_refused)
{
    struct sl_pgconn_params good = stack_params(), p;
    struct sl_pgconn_opts o = local_opts;
    struct sl_pgconn_report rep;
    PGconn *c = NULL;
    const char *hosts[] = {"", "a,b", "a b", "host=evil", "x\ny"};
    const char *ports[] = {"0", "65536", "54x", "", "-1"};

    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        p = good;
        p.host = hosts[i];
        ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EINVAL);
        ck_assert_int_eq(rep.failure, SL_PGCONN_FAIL_INVALID);
        ck_assert_str_eq(rep.error, "invalid parameter: host");
    }
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        p = good;
        p.port = ports[i];
        ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EINVAL);
    }
    p = good;
    p.user = NULL;
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EINVAL);
    p = good;
    p.sslmode = "sometimes";
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EINVAL);
    ck_assert_str_eq(rep.error, "invalid parameter: sslmode");
    p = good;
    o.timeout_ms = 0;
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EINVAL);
    ck_assert_int_eq(sl_pgconn_test(&p, &o, &rep, NULL), SL_EINVAL);
    o.timeout_ms = 1000;
    o.statement_timeout_ms = -1;
    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_EINVAL);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(address_classes)
{
    static const struct {
        const char *addr;
        bool private;
    } cases[] = {
        {"0.1.2.3", true},
        {"10.255.0.1", true},
        {"100.63.255.255", false},
        {"100.64.0.1", true},
        {"100.127.255.255", true},
        {"100.128.0.0", false},
        {"127.0.0.1", true},
        {"169.254.169.254", true},
        {"172.15.255.255", false},
        {"172.16.0.1", true},
        {"172.31.255.255", true},
        {"172.32.0.0", false},
        {"192.168.0.1", true},
        {"192.169.0.1", false},
        {"224.0.0.1", true},
        {"255.255.255.255", true},
        {"8.8.8.8", false},
        {"1.1.1.1", false},
        {"::", true},
        {"::1", true},
        {"fe80::1", true},
        {"febf::1", true},
        {"fc00::1", true},
        {"fdff::1", true},
        {"fe00::1", false},
        {"ff02::1", true},
        {"::ffff:127.0.0.1", true},
        {"::ffff:8.8.8.8", false},
        {"64:ff9b::a00:1", true},
        {"64:ff9b::808:808", false},
        {"2002:c0a8:101::1", true},
        {"2002:808:808::1", false},
        {"2001:4860:4860::8888", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss = {0};
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        if (inet_pton(AF_INET, cases[i].addr, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
        } else {
            ck_assert_int_eq(
                inet_pton(AF_INET6, cases[i].addr, &in6->sin6_addr), 1);
            in6->sin6_family = AF_INET6;
        }
        ck_assert_msg(sl_pgconn_addr_private((struct sockaddr *)&ss) ==
                          cases[i].private,
                      "%s", cases[i].addr);
    }
}
END_TEST

START_TEST(table_is_described_exactly)
{
    PGconn *c = open_stack();
    json_t *t = NULL, *v;

    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "orders", &t), SL_OK);
    ck_assert(json_integer_value(json_object_get(t, "size_bytes")) > 0);
    json_object_del(t, "size_bytes");
    assert_json(
        t,
        "{\"schema\": \"pgconn_t\", \"table_name\": \"orders\","
        " \"type\": \"table\", \"row_count\": 4, \"columns\": ["
        "{\"name\": \"id\", \"type\": \"integer\", \"nullable\": false,"
        " \"primary_key\": true, \"max_length\": null, \"default\": null},"
        "{\"name\": \"code\", \"type\": \"character varying(12)\","
        " \"nullable\": false, \"primary_key\": false, \"max_length\": 12,"
        " \"default\": null},"
        "{\"name\": \"amount\", \"type\": \"numeric(10,2)\", \"nullable\": "
        "true,"
        " \"primary_key\": false, \"max_length\": null, \"default\": null},"
        "{\"name\": \"note\", \"type\": \"text\", \"nullable\": true,"
        " \"primary_key\": false, \"max_length\": null,"
        " \"default\": \"'none'::text\"},"
        "{\"name\": \"doc\", \"type\": \"json\", \"nullable\": true,"
        " \"primary_key\": false, \"max_length\": null, \"default\": null},"
        "{\"name\": \"pt\", \"type\": \"point\", \"nullable\": true,"
        " \"primary_key\": false, \"max_length\": null, \"default\": null},"
        "{\"name\": \"created\", \"type\": \"date\", \"nullable\": true,"
        " \"primary_key\": false, \"max_length\": null, \"default\": null},"
        "{\"name\": \"flag\", \"type\": \"character(3)\", \"nullable\": true,"
        " \"primary_key\": false, \"max_length\": 3, \"default\": null},"
        "{\"name\": \"mood\", \"type\": \"pgconn_t.mood\", \"nullable\": true,"
        " \"primary_key\": false, \"max_length\": null, \"default\": null},"
        "{\"name\": \"big\", \"type\": \"bigint\", \"nullable\": true,"
        " \"primary_key\": false, \"max_length\": null, \"default\": null}],"
        " \"indexes\": ["
        "{\"name\": \"orders_amount_created\","
        " \"columns\": [\"amount\", \"created\"],"
        " \"unique\": false, \"primary\": false},"
        "{\"name\": \"orders_code_key\", \"columns\": [\"code\"],"
        " \"unique\": true, \"primary\": false},"
        "{\"name\": \"orders_lower_note\", \"columns\": [\"lower(note)\"],"
        " \"unique\": false, \"primary\": false},"
        "{\"name\": \"orders_pkey\", \"columns\": [\"id\"],"
        " \"unique\": true, \"primary\": true}]}");
    json_decref(t);

    /* "schema.table", and a view. */
    ck_assert_int_eq(sl_pgconn_table(c, NULL, "pgconn_t.big_orders", &t),
                     SL_OK);
    ck_assert_str_eq(json_string_value(json_object_get(t, "type")), "view");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "row_count")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(t, "indexes")), 0);
    v = json_object_get(t, "columns");
    ck_assert_int_eq(json_array_size(v), 2);
    json_decref(t);

    /* A bare name, found on the search_path ("$user", public). */
    ck_assert_int_eq(sl_pgconn_table(c, NULL, "pgconn_plain", &t), SL_OK);
    ck_assert_str_eq(json_string_value(json_object_get(t, "schema")), "public");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "row_count")), 0);
    json_decref(t);

    /* A name that needs quoting is counted through its quoted form. */
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "Odd \"name\"", &t), SL_OK);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "row_count")), 2);
    json_decref(t);
    PQfinish(c);
}
END_TEST

START_TEST(missing_tables_are_not_found)
{
    PGconn *c = open_stack();
    json_t *t = (json_t *)c;

    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "nope", &t), SL_ENOTFOUND);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(sl_pgconn_table(c, "nope", "orders", &t), SL_ENOTFOUND);
    /* Not in the search_path. */
    ck_assert_int_eq(sl_pgconn_table(c, NULL, "orders", &t), SL_ENOTFOUND);
    /* Names are not folded or unquoted, and never run as SQL. */
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "ORDERS", &t),
                     SL_ENOTFOUND);
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "\"orders\"", &t),
                     SL_ENOTFOUND);
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t",
                                     "orders; DROP TABLE pgconn_t.orders", &t),
                     SL_ENOTFOUND);
    ck_assert_int_eq(sl_pgconn_column_stats(
                         c, NULL, "pgconn_t.orders\"; DROP TABLE x; --", &t),
                     SL_ENOTFOUND);
    /* Indexes are not tables. */
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "orders_pkey", &t),
                     SL_ENOTFOUND);
    ck_assert_int_eq(sl_pgconn_table(c, NULL, ".orders", &t), SL_EINVAL);
    ck_assert_int_eq(sl_pgconn_table(c, NULL, "", &t), SL_EINVAL);
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "orders", &t), SL_OK);
    json_decref(t);
    PQfinish(c);
}
END_TEST

START_TEST(column_stats_are_exact_and_one_scan)
{
    PGconn *c = open_stack();
    json_t *s = NULL;
    char *scans;
    PGresult *r;

    /* In a transaction, so that its own scan counts can be read. */
    r = PQexec(c, "BEGIN");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    ck_assert_int_eq(sl_pgconn_column_stats(c, "pgconn_t", "orders", &s),
                     SL_OK);
    scans = scalar(c, "SELECT seq_scan || '/' || coalesce(idx_scan, 0)"
                      " FROM pg_stat_xact_user_tables"
                      " WHERE relid = 'pgconn_t.orders'::regclass");
    ck_assert_str_eq(scans, "1/0");
    free(scans);
    PQclear(PQexec(c, "COMMIT"));
    assert_json(
        s,
        "{\"schema\": \"pgconn_t\", \"table_name\": \"orders\","
        " \"row_count\": 4, \"truncated\": false, \"columns\": ["
        "{\"name\": \"id\", \"type\": \"integer\", \"null_count\": 0,"
        " \"distinct_count\": 4, \"min_value\": 1, \"max_value\": 4},"
        "{\"name\": \"code\", \"type\": \"character varying(12)\","
        " \"null_count\": 0, \"distinct_count\": 4, \"min_value\": \"A-1\","
        " \"max_value\": \"D-4\"},"
        "{\"name\": \"amount\", \"type\": \"numeric(10,2)\", \"null_count\": 1,"
        " \"distinct_count\": 2, \"min_value\": 3.25, \"max_value\": 10.5},"
        "{\"name\": \"note\", \"type\": \"text\", \"null_count\": 1,"
        " \"distinct_count\": 2, \"min_value\": \"x\", \"max_value\": \"y\"},"
        "{\"name\": \"doc\", \"type\": \"json\", \"null_count\": 1,"
        " \"distinct_count\": 2, \"min_value\": null, \"max_value\": null},"
        "{\"name\": \"pt\", \"type\": \"point\", \"null_count\": 1,"
        " \"distinct_count\": 2, \"min_value\": null, \"max_value\": null},"
        "{\"name\": \"created\", \"type\": \"date\", \"null_count\": 1,"
        " \"distinct_count\": 2, \"min_value\": \"2024-01-01\","
        " \"max_value\": \"2024-02-01\"},"
        "{\"name\": \"flag\", \"type\": \"character(3)\", \"null_count\": 1,"
        " \"distinct_count\": 2, \"min_value\": \"abc\", \"max_value\": "
        "\"de\"},"
        "{\"name\": \"mood\", \"type\": \"pgconn_t.mood\", \"null_count\": 1,"
        " \"distinct_count\": 3, \"min_value\": \"sad\","
        " \"max_value\": \"happy\"},"
        "{\"name\": \"big\", \"type\": \"bigint\", \"null_count\": 1,"
        " \"distinct_count\": 3, \"min_value\": -5,"
        " \"max_value\": 9007199254740993}]}");
    json_decref(s);

    /* Quoted names, NULLs and duplicates. */
    ck_assert_int_eq(sl_pgconn_column_stats(c, "pgconn_t", "Odd \"name\"", &s),
                     SL_OK);
    assert_json(s, "{\"schema\": \"pgconn_t\", \"table_name\": \"Odd "
                   "\\\"name\\\"\", \"row_count\": 2, \"truncated\": false,"
                   " \"columns\": ["
                   "{\"name\": \"a col\", \"type\": \"integer\","
                   " \"null_count\": 0, \"distinct_count\": 1,"
                   " \"min_value\": 1, \"max_value\": 1},"
                   "{\"name\": \"Q\\\"t\", \"type\": \"text\","
                   " \"null_count\": 1, \"distinct_count\": 1,"
                   " \"min_value\": \"p\", \"max_value\": \"p\"}]}");
    json_decref(s);
    PQfinish(c);
}
END_TEST

START_TEST(long_values_are_cut_by_characters)
{
    PGconn *c = open_stack();
    json_t *s = NULL, *col;
    char want[2 * 256 + 1];

    for (int i = 0; i < 256; i++)
        memcpy(want + 2 * i, "\xc3\xa9", 2);
    want[512] = '\0';
    ck_assert_int_eq(sl_pgconn_column_stats(c, "pgconn_t", "longtext", &s),
                     SL_OK);
    col = json_array_get(json_object_get(s, "columns"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(col, "min_value")),
                     want);
    ck_assert_str_eq(json_string_value(json_object_get(col, "max_value")),
                     want);
    ck_assert(json_is_true(json_object_get(col, "values_truncated")));
    json_decref(s);
    PQfinish(c);
}
END_TEST

START_TEST(statements_are_bounded_by_the_statement_timeout)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_opts o = {
        .timeout_ms = 5000, .statement_timeout_ms = 300, .allow_private = true};
    struct sl_pgconn_report rep;
    PGconn *c = NULL;
    json_t *t = NULL;
    int64_t t0;

    ck_assert_int_eq(sl_pgconn_open(&p, &o, &c, &rep), SL_OK);
    /* Counting a view that sleeps 5 s: cancelled, row_count null. */
    t0 = sl_clock_mono_us();
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "slow", &t), SL_OK);
    ck_assert_msg(ms_since(t0) < 300 + 700, "took %.1f ms", ms_since(t0));
    ck_assert(json_is_null(json_object_get(t, "row_count")));
    ck_assert_int_eq(json_array_size(json_object_get(t, "columns")), 1);
    json_decref(t);
    /* The statistics scan cannot be cut short: it fails. */
    t0 = sl_clock_mono_us();
    ck_assert_int_eq(sl_pgconn_column_stats(c, "pgconn_t", "slow", &t),
                     SL_ETIMEDOUT);
    ck_assert_ptr_null(t);
    ck_assert(ms_since(t0) < 300 + 700);
    /* The connection is still usable. */
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "orders", &t), SL_OK);
    json_decref(t);

    /*
     * A session that lifts the server's timeout still does not wait: the
     * client gives up 2 s after the statement timeout it set, and shuts
     * the connection down, so that later calls fail at once.
     */
    PQclear(PQexec(c, "SET statement_timeout = 0"));
    t0 = sl_clock_mono_us();
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "slow", &t), SL_ETIMEDOUT);
    ck_assert_msg(ms_since(t0) >= 300 + 2000 && ms_since(t0) < 300 + 2600,
                  "took %.1f ms", ms_since(t0));
    ck_assert_ptr_null(t);
    t0 = sl_clock_mono_us();
    ck_assert_int_eq(sl_pgconn_table(c, "pgconn_t", "orders", &t), SL_EDBCONN);
    ck_assert(ms_since(t0) < 100);
    PQfinish(c);
}
END_TEST

/* The table object named name in schema of tree, or NULL. */
static json_t *
tree_table(json_t *tree, const char *schema, const char *name)
{
    size_t i, j;
    json_t *s, *t;

    json_array_foreach(json_object_get(tree, "schemas"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "name")), schema))
            continue;
        json_array_foreach(json_object_get(s, "tables"), j, t)
        {
            const char *n = json_string_value(json_object_get(t, "name"));

            if (strcmp(n, name) == 0)
                return t;
        }
    }
    return NULL;
}

START_TEST(schema_tree_lists_tables_and_truncates)
{
    PGconn *c = open_stack();
    json_t *tree = NULL, *s, *names;
    size_t i, total = 0;

    ck_assert_int_eq(sl_pgconn_schema_tree(c, 1000, &tree), SL_OK);
    ck_assert(json_is_false(json_object_get(tree, "truncated")));
    assert_json(
        tree_table(tree, "pgconn_t", "orders"),
        "{\"name\": \"orders\", \"type\": \"table\", \"columns\": ["
        "{\"name\": \"id\", \"type\": \"integer\", \"nullable\": false},"
        "{\"name\": \"code\", \"type\": \"character varying(12)\","
        " \"nullable\": false, \"max_length\": 12},"
        "{\"name\": \"amount\", \"type\": \"numeric(10,2)\","
        " \"nullable\": true},"
        "{\"name\": \"note\", \"type\": \"text\", \"nullable\": true},"
        "{\"name\": \"doc\", \"type\": \"json\", \"nullable\": true},"
        "{\"name\": \"pt\", \"type\": \"point\", \"nullable\": true},"
        "{\"name\": \"created\", \"type\": \"date\","
        " \"nullable\": true},"
        "{\"name\": \"flag\", \"type\": \"character(3)\","
        " \"nullable\": true, \"max_length\": 3},"
        "{\"name\": \"mood\", \"type\": \"pgconn_t.mood\","
        " \"nullable\": true},"
        "{\"name\": \"big\", \"type\": \"bigint\","
        " \"nullable\": true}]}");
    ck_assert_str_eq(json_string_value(json_object_get(
                         tree_table(tree, "pgconn_t", "big_orders"), "type")),
                     "view");
    ck_assert_ptr_nonnull(tree_table(tree, "public", "pgconn_plain"));
    /* Every schema of pgconn_t's tables in order (C collation). */
    names = json_array();
    json_array_foreach(json_object_get(tree, "schemas"), i, s)
    {
        size_t j;
        json_t *t;

        ck_assert_int_ne(
            strncmp(json_string_value(json_object_get(s, "name")), "pg_", 3),
            0);
        if (strcmp(json_string_value(json_object_get(s, "name")),
                   "pgconn_empty") == 0)
            ck_assert_int_eq(json_array_size(json_object_get(s, "tables")), 0);
        if (strcmp(json_string_value(json_object_get(s, "name")), "pgconn_t") !=
            0)
            continue;
        json_array_foreach(json_object_get(s, "tables"), j, t)
        {
            json_array_append(names, json_object_get(t, "name"));
        }
    }
    assert_json(names, "[\"Odd \\\"name\\\"\", \"big_orders\", \"longtext\","
                       " \"orders\", \"slow\"]");
    json_decref(names);
    json_decref(tree);

    /* One table only: the first, and "truncated". */
    ck_assert_int_eq(sl_pgconn_schema_tree(c, 1, &tree), SL_OK);
    ck_assert(json_is_true(json_object_get(tree, "truncated")));
    json_array_foreach(json_object_get(tree, "schemas"), i, s)
    {
        total += json_array_size(json_object_get(s, "tables"));
    }
    ck_assert_uint_eq(total, 1);
    json_decref(tree);
    ck_assert_int_eq(sl_pgconn_schema_tree(c, 0, &tree), SL_EINVAL);
    ck_assert_int_eq(sl_pgconn_schema_tree(c, 1001, &tree), SL_EINVAL);
    ck_assert_ptr_null(tree);
    PQfinish(c);
}
END_TEST

START_TEST(answers_past_the_bounds_are_cut_off)
{
    static const char rows_sql[] =
        "SELECT i, NULL::text AS nothing FROM generate_series(1, $1::int) i";
    PGconn *c = open_stack();
    PGresult *r = NULL;
    char n[32];
    const char *params[1] = {n};

    /* As many rows as the bound: all of them, as one result. */
    snprintf(n, sizeof(n), "%d", SL_PGCONN_MAX_RESULT_ROWS);
    ck_assert_int_eq(sl_pgconn_exec(c, rows_sql, 1, params, &r), SL_OK);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_int_eq(PQntuples(r), SL_PGCONN_MAX_RESULT_ROWS);
    ck_assert_int_eq(PQnfields(r), 2);
    ck_assert_str_eq(PQfname(r, 1), "nothing");
    ck_assert_uint_eq(PQftype(r, 0), 23); /* int4 */
    ck_assert_str_eq(PQgetvalue(r, SL_PGCONN_MAX_RESULT_ROWS - 1, 0), n);
    ck_assert(PQgetisnull(r, 0, 1));
    PQclear(r);
    /* One row more, though no LIMIT said so: cut off, the connection too. */
    snprintf(n, sizeof(n), "%d", SL_PGCONN_MAX_RESULT_ROWS + 1);
    r = (PGresult *)c;
    ck_assert_int_eq(sl_pgconn_exec(c, rows_sql, 1, params, &r), SL_ETOOBIG);
    ck_assert_ptr_null(r);
    ck_assert_int_ne(sl_pgconn_exec(c, "SELECT 1", 0, NULL, &r), SL_OK);
    PQfinish(c);
    /* One value of more bytes than the bound. */
    c = open_stack();
    snprintf(n, sizeof(n), "%d", SL_PGCONN_MAX_RESULT_BYTES);
    ck_assert_int_eq(sl_pgconn_exec(c, "SELECT repeat('x', $1::int)", 1,
                                    params, &r),
                     SL_ETOOBIG);
    ck_assert_ptr_null(r);
    PQfinish(c);
    /* A result still reads whole when it ends in an error. */
    c = open_stack();
    ck_assert_int_eq(sl_pgconn_exec(c,
                                    "SELECT 1 / (3 - i) FROM "
                                    "generate_series(1, 5) i",
                                    0, NULL, &r),
                     SL_EDB);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(sl_pgconn_exec(c, "SELECT 2", 0, NULL, &r), SL_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "2");
    PQclear(r);
    PQfinish(c);
}
END_TEST

/* --- What the service's own identity must not lend a connector ---------- */

/* A fresh directory made HOME for this test (its process alone). */
static char home[64];

static void
make_home(void)
{
    snprintf(home, sizeof(home), "/tmp/test_pgconn_home.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
    ck_assert_int_eq(setenv("HOME", home, 1), 0);
    unsetenv("PGPASSWORD");
    unsetenv("PGSERVICE");
    unsetenv("PGSERVICEFILE");
    unsetenv("PGPASSFILE");
    unsetenv("PGSSLCERT");
    unsetenv("PGSSLKEY");
}

/* Writes text to HOME/name, with mode 0600. */
static void
home_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", home, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
remove_home(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    ck_assert_int_eq(system(cmd), 0);
}

/*
 * Whether plain libpq, given no password, logs in to the stack's server
 * as the connector would: true proves that the environment would lend it
 * a password.
 */
static bool
libpq_logs_in_without_password(void)
{
    const char *keys[] = {"host", "port", "dbname", "user", NULL};
    const char *vals[] = {"127.0.0.1", port, dbname, user, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    bool ok = PQstatus(c) == CONNECTION_OK;

    PQfinish(c);
    return ok;
}

/* Asserts that a connector without a password does not log in. */
static void
assert_connector_cannot_log_in(const char *how)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_report rep;
    PGconn *c = NULL;
    int rc;

    ck_assert_msg(libpq_logs_in_without_password(),
                  "%s: the environment should lend libpq a password", how);
    p.password = NULL;
    rc = sl_pgconn_open(&p, &local_opts, &c, &rep);
    ck_assert_msg(rc != SL_OK, "%s: the connector logged in", how);
    ck_assert_ptr_null(c);
    ck_assert(rep.connection_established);
    ck_assert(!rep.authentication_successful);
    ck_assert_ptr_null(strstr(rep.error, password));
}

START_TEST(no_password_is_borrowed_from_the_service)
{
    char line[512];

    make_home();
    /* ~/.pgpass */
    snprintf(line, sizeof(line), "*:*:*:%s:%s\n", user, password);
    home_file(".pgpass", line);
    assert_connector_cannot_log_in("~/.pgpass");
    home_file(".pgpass", "");
    /* PGPASSWORD */
    ck_assert_int_eq(setenv("PGPASSWORD", password, 1), 0);
    assert_connector_cannot_log_in("PGPASSWORD");
    unsetenv("PGPASSWORD");
    /* A service file that PGSERVICE names. */
    snprintf(line, sizeof(line), "[sluice_t]\npassword=%s\n", password);
    home_file(".pg_service.conf", line);
    ck_assert_int_eq(setenv("PGSERVICE", "sluice_t", 1), 0);
    assert_connector_cannot_log_in("PGSERVICE");
    /* A connector's own password still works with all that around. */
    {
        PGconn *c = open_stack();

        PQfinish(c);
    }
    remove_home();
}
END_TEST

static int
accept_any_certificate(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1;
}

/*
 * The child of cert_probe(): one connection on fd, as PostgreSQL would
 * start it over TLS, asking for a client certificate; then a refusal.
 * Writes 'y' (a certificate was presented), 'n', or 'e' (no TLS) to out.
 */
static void
cert_probe_child(int fd, int out, const char *dir)
{
    /* An ErrorResponse's fields; sizeof counts the list's final NUL. */
    static const char fields[] = "SFATAL\0VFATAL\0C28000\0Mprobe refuses\0";
    char crt[256], key[256], buf[512], msg[64], verdict = 'e';
    uint32_t len = htonl(4 + sizeof(fields));
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl = NULL;
    int conn = accept(fd, NULL, NULL);

    snprintf(crt, sizeof(crt), "%s/server.crt", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    if (ctx != NULL && conn >= 0 &&
        SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
        recv(conn, buf, 8, MSG_WAITALL) == 8 && write(conn, "S", 1) == 1) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_certificate);
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, conn);
        if (SSL_accept(ssl) == 1) {
            verdict = SSL_get0_peer_certificate(ssl) != NULL ? 'y' : 'n';
            /* The startup packet, then "no" as the server would say it. */
            msg[0] = 'E';
            memcpy(msg + 1, &len, 4);
            memcpy(msg + 5, fields, sizeof(fields));
            if (SSL_read(ssl, buf, sizeof(buf)) > 0)
                SSL_write(ssl, msg, 5 + (int)sizeof(fields));
            SSL_shutdown(ssl);
        }
    }
    if (write(out, &verdict, 1) != 1)
        _exit(1);
    _exit(0);
}

/*
 * Starts a one-connection server (cert_probe_child) on a loopback port;
 * returns the port. cert_verdict() then says what it saw.
 */
static pid_t probe_pid;
static int probe_out;

static int
cert_probe(const char *dir)
{
    int portnum, fd = silent_listener(&portnum), fds[2];

    ck_assert_int_eq(pipe(fds), 0);
    probe_pid = fork();
    ck_assert_int_ge(probe_pid, 0);
    if (probe_pid == 0) {
        close(fds[0]);
        cert_probe_child(fd, fds[1], dir);
    }
    close(fd);
    close(fds[1]);
    probe_out = fds[0];
    return portnum;
}

static char
cert_verdict(void)
{
    struct pollfd pfd = {.fd = probe_out, .events = POLLIN};
    char verdict = '?';

    ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
    ck_assert_int_eq(read(probe_out, &verdict, 1), 1);
    close(probe_out);
    waitpid(probe_pid, NULL, 0);
    return verdict;
}

/* Makes a self-signed certificate and key dir/name.crt, dir/name.key. */
static void
make_cert(const char *dir, const char *name)
{
    char cmd[768], key[256];

    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=%s "
             "-keyout '%s/%s.key' -out '%s/%s.crt' >/dev/null 2>&1",
             name, dir, name, dir, name);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(key, sizeof(key), "%s/%s.key", dir, name);
    ck_assert_int_eq(chmod(key, 0600), 0);
}

START_TEST(no_client_certificate_is_presented)
{
    struct sl_pgconn_params p = stack_params();
    struct sl_pgconn_report rep;
    char dir[128], portbuf[16];
    PGconn *c = NULL;

    make_home();
    snprintf(dir, sizeof(dir), "%s/.postgresql", home);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    make_cert(home, "server");
    make_cert(dir, "postgresql");

    /* Plain libpq presents ~/.postgresql/postgresql.crt when asked. */
    snprintf(portbuf, sizeof(portbuf), "%d", cert_probe(home));
    {
        const char *keys[] = {"host",    "port",       "dbname", "user",
                              "sslmode", "gssencmode", NULL};
        const char *vals[] = {"127.0.0.1", portbuf,   "x", "x",
                              "require",   "disable", NULL};

        PQfinish(PQconnectdbParams(keys, vals, 0));
    }
    ck_assert_int_eq(cert_verdict(), 'y');

    /* A connector does not. */
    snprintf(portbuf, sizeof(portbuf), "%d", cert_probe(home));
    p.port = portbuf;
    p.sslmode = "require";
    ck_assert_int_ne(sl_pgconn_open(&p, &local_opts, &c, &rep), SL_OK);
    ck_assert_int_eq(cert_verdict(), 'n');
    ck_assert_msg(strstr(rep.error, "probe refuses") != NULL, "%s", rep.error);
    remove_home();
}
END_TEST

static Suite *
pgconn_suite(void)
{
    Suite *s = suite_create("pgconn");
    TCase *tc = tcase_create("server");

    tcase_add_unchecked_fixture(tc, setup_once, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_succeeds_against_the_stack);
    tcase_add_test(tc, open_sets_up_the_session);
    tcase_add_test(tc, wrong_password_is_an_authentication_failure);
    tcase_add_test(tc, password_is_redacted_from_messages);
    tcase_add_test(tc, missing_database_is_reported);
    tcase_add_test(tc, closed_port_is_refused_quickly);
    tcase_add_test(tc, silent_server_times_out_on_time);
    tcase_add_test(tc, private_addresses_are_refused);
    tcase_add_test(tc, unknown_host_is_not_resolved);
    tcase_add_test(tc, invalid_parameters_are_refused);
    tcase_add_test(tc, address_classes);
    tcase_add_test(tc, table_is_described_exactly);
    tcase_add_test(tc, missing_tables_are_not_found);
    tcase_add_test(tc, column_stats_are_exact_and_one_scan);
    tcase_add_test(tc, long_values_are_cut_by_characters);
    tcase_add_test(tc, statements_are_bounded_by_the_statement_timeout);
    tcase_add_test(tc, schema_tree_lists_tables_and_truncates);
    tcase_add_test(tc, answers_past_the_bounds_are_cut_off);
    tcase_add_test(tc, no_password_is_borrowed_from_the_service);
    tcase_add_test(tc, no_client_certificate_is_presented);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pgconn_suite)
