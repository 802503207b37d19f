/*
 * it_commit.c: a run's loads commit together, once, and only by the
 * runner that still holds the run. Two loaders where the second fails at
 * commit time; a runner cut off from the state database mid-run, and at
 * the moment it records the run's end; the state database refusing the
 * end for a while; runners killed after preparing and after deciding
 * (the SLUICE_RUNNER_FAULT test hook), whose leftovers the sweep ends;
 * two runs appending to one CSV file at once; the runner's random id.
 *
 * Some scenarios need a second runner, "a", besides the stack's own: it
 * logs in to the state database as a role of its own (sluice_cut, a
 * member of sluice_runner acting as it), so that the test can cut it off
 * (ALTER ROLE ... NOLOGIN and pg_terminate_backend of its sessions) while
 * the API and the stack's runner go on.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

#define CUT_ROLE "sluice_cut"

/* A value of the stack's state database URL ("host", "port"), static. */
static const char *
url_part(const char *key)
{
    static char out[2][512];
    static int k;
    const char *url = it_env("SLUICE_TEST_DB_URL"), *p;
    char pat[32];

    snprintf(pat, sizeof(pat), "%s=", key);
    p = strstr(url, pat);
    ck_assert_ptr_nonnull(p);
    p += strlen(pat);
    k = (k + 1) % 2;
    snprintf(out[k], sizeof(out[k]), "%.*s", (int)strcspn(p, " "), p);
    return out[k];
}

/* Runs sql on database db as the cluster's superuser, through its unix
 * socket (peer authentication, as scripts/lib/stack.sh does). */
static void
super_sql(const char *db, const char *sql)
{
    char file[] = "/tmp/it_commit_sql.XXXXXX";
    int fd = mkstemp(file);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, sql, strlen(sql)), (ssize_t)strlen(sql));
    close(fd);
    chmod(file, 0644);
    ck_assert_msg(it_sh("cd / && %s psql -X -q -v ON_ERROR_STOP=1 -h '%s' "
                        "-p '%s' -d '%s' -f '%s' >/dev/null",
                        getuid() == 0 ? "runuser -u postgres --" : "",
                        url_part("host"), url_part("port"), db, file) == 0,
                  "superuser SQL failed: %s", sql);
    unlink(file);
}

/* The pid of runner a, or 0 when it is not running. */
static int
runner_a_pid(void)
{
    char path[1024];
    FILE *f;
    int pid = 0;

    snprintf(path, sizeof(path), "%s/run/runner-a.pid",
             it_env("SLUICE_TEST_VAR"));
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%d", &pid) != 1 || kill(pid, 0) != 0)
        pid = 0;
    fclose(f);
    return pid;
}

static void
stop_runner_a(void)
{
    int pid = runner_a_pid();

    if (pid > 0) {
        kill(pid, SIGKILL);
        while (kill(pid, 0) == 0)
            usleep(20 * 1000);
    }
}

/*
 * Starts runner a, as CUT_ROLE (made here), with SLUICE_RUNNER_FAULT set
 * to fault unless it is NULL; waits until it runs.
 */
static void
start_runner_a(const char *fault)
{
    const char *var = it_env("SLUICE_TEST_VAR");
    double end = it_now() + 20;

    stop_runner_a();
    super_sql("sluice",
              "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE "
              "rolname = '" CUT_ROLE "') THEN CREATE ROLE " CUT_ROLE
              " IN ROLE sluice_runner; END IF; END $$;\n"
              "ALTER ROLE " CUT_ROLE " LOGIN PASSWORD 'cut-" CUT_ROLE "';\n"
              "ALTER ROLE " CUT_ROLE " SET role = 'sluice_runner';\n");
    ck_assert_int_eq(
        it_sh("sed 's|^runner_db_url = .*|runner_db_url = \"host=%s port=%s "
              "dbname=sluice "
              "user=" CUT_ROLE " password=cut-" CUT_ROLE "\"|' '%s' "
              ">'%s/runner-a.conf'",
              url_part("host"), url_part("port"), it_env("SLUICE_TEST_CONF"),
              var),
        0);
    ck_assert_int_eq(
        it_sh("cd / && %s%s setsid '%s/runner/sluice-runner' -c "
              "'%s/runner-a.conf' --pid-file '%s/run/runner-a.pid' "
              "</dev/null >>'%s/log/runner-a.log' 2>&1 &",
              fault ? "SLUICE_RUNNER_FAULT=" : "", fault ? fault : "",
              it_env("SLUICE_BUILD"), var, var, var),
        0);
    while (runner_a_pid() == 0) {
        ck_assert_msg(it_now() < end, "runner a did not start");
        usleep(50 * 1000);
    }
}

/* Cuts runner a off from the state database, or lets it back. */
static void
cut_runner_a(bool cut)
{
    super_sql("sluice", cut ? "ALTER ROLE " CUT_ROLE " NOLOGIN;\n"
                              "SELECT pg_terminate_backend(pid) FROM "
                              "pg_stat_activity WHERE usename = '" CUT_ROLE
                              "';\n"
                            : "ALTER ROLE " CUT_ROLE " LOGIN;\n");
}

/* Waits up to limit seconds for runner a's process to end. */
static void
await_runner_a_exit(double limit)
{
    double end = it_now() + limit;

    while (runner_a_pid() != 0) {
        ck_assert_msg(it_now() < end, "runner a still runs after %.0f s",
                      limit);
        usleep(50 * 1000);
    }
}

/* Asserts the first value of sql (one parameter, as the owner). */
static void
owner_is(const char *sql, const char *p1, const char *want)
{
    char *v = it_owner_value(sql, p1, NULL);

    ck_assert_msg(strcmp(v, want) == 0, "%s: want %s, got %s", sql, want, v);
    free(v);
}

/* Asserts the first value of sql (printf-style) on the warehouse. */
static void __attribute__((format(printf, 2, 3)))
wh_is(const char *want, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    char *v;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    v = it_wh(sql, NULL);
    ck_assert_msg(strcmp(v, want) == 0, "%s: want %s, got %s", sql, want, v);
    free(v);
}

/* How many transactions of run id are prepared in the cluster. */
static void
prepared_is(const char *run, const char *want)
{
    owner_is("SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE "
             "'sluice\\_' || replace($1, '-', '') || '\\_%'",
             run, want);
}

/* An organisation on the SCALE plan; its token, id in *org. */
static char *
scaled_org(struct it_client *c, char **org)
{
    char *user, *token = it_new_org(c, &user, org);

    it_scale_up(*org);
    free(user);
    return token;
}

/* Makes the warehouse table t_<org>_bronze.<name> (id, v as text). */
static void
wh_table(const char *org, const char *name, const char *extra)
{
    char sql[512];

    snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS t_%s_bronze", org);
    free(it_wh(sql, NULL));
    snprintf(sql, sizeof(sql),
             "CREATE TABLE t_%s_bronze.%s (id text, v text%s%s)", org, name,
             extra ? ", " : "", extra ? extra : "");
    free(it_wh(sql, NULL));
}

/* A csv extractor "in" of file name, and a postgres loader "out"
 * appending to the warehouse table table. */
static json_t *
csv_to_table(const char *name, const char *table)
{
    return json_pack(
        "[o, o]",
        it_node("in", "extractor", "csv", json_pack("{s:s}", "path", name)),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s, s:s}", "schema", "bronze", "table", table,
                          "mode", "append")));
}

/* Starts a run of a new pipeline of the node "in" (taken) feeding both
 * a and b (taken). */
static char *
start_fan(struct it_client *c, const char *token, json_t *in, json_t *a,
          json_t *b)
{
    json_t *nodes = json_pack("[o, o, o]", in, a, b);
    json_t *edges = json_pack("[{s:s, s:O}, {s:s, s:O}]", "source", "in",
                              "target", json_object_get(a, "id"), "source",
                              "in", "target", json_object_get(b, "id"));
    char *pid = it_pipeline(c, token, nodes, edges);
    char *run = it_execute(c, token, pid);

    free(pid);
    return run;
}

/* Starts a run of a new pipeline of the chain nodes (taken). */
static char *
start_chain(struct it_client *c, const char *token, json_t *nodes)
{
    char *pid = it_pipeline(c, token, nodes, it_chain(nodes));
    char *run = it_execute(c, token, pid);

    free(pid);
    return run;
}

/* Runs a chain to completed|failed and says which. */
static void
await_end(struct it_client *c, const char *token, const char *run,
          const char *want, double limit)
{
    struct it_resp r;

    it_await_run(c, token, run, "completed|failed|cancelled", limit, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), want) == 0, "want %s: %s", want,
                  r.body);
    it_resp_free(&r);
}

/* Sets every test off from the same place: the stack's runner running,
 * runner a not. */
static void
setup(void)
{
    stop_runner_a();
    it_stack("start", "runner");
}

/* Sets off with runner a alone (fault: SLUICE_RUNNER_FAULT, or NULL). */
static void
only_runner_a(const char *fault)
{
    it_stack("stop", "runner");
    start_runner_a(fault);
}

/*
 * Two loaders; the second's table has a deferred unique constraint the
 * rows break, so it fails only when its transaction is prepared: nothing
 * of the first is left either.
 */
START_TEST(second_loader_fails_at_commit)
{
    struct it_client c;
    char *org, *token, *run, *v;

    setup();
    it_client_init(&c);
    token = scaled_org(&c, &org);
    wh_table(org, "deferred",
             "CONSTRAINT deferred_id UNIQUE (id) DEFERRABLE INITIALLY "
             "DEFERRED");
    it_data_file(org, "dup.csv", "id,v\n1,a\n2,b\n2,c\n");
    run = start_fan(
        &c, token,
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "dup.csv")),
        it_node("first", "loader", "postgres",
                json_pack("{s:s, s:s}", "schema", "bronze", "table", "first")),
        it_node(
            "second", "loader", "postgres",
            json_pack("{s:s, s:s}", "schema", "bronze", "table", "deferred")));
    await_end(&c, token, run, "failed", 30);
    v = it_owner_value("SELECT error_message FROM runs WHERE id = $1", run,
                       NULL);
    ck_assert_msg(strstr(v, "second") != NULL && strstr(v, "deferred_id"), "%s",
                  v);
    free(v);
    wh_is("t", "SELECT to_regclass('t_%s_bronze.first') IS NULL", org);
    wh_is("0", "SELECT count(*) FROM t_%s_bronze.deferred", org);
    prepared_is(run, "0");
    owner_is("SELECT count(*) FROM run_prepared WHERE run_id = $1", run, "0");
    free(run);
    free(token);
    free(org);
}
END_TEST

/* The runner's identity is a random id, not hostname:pid. */
START_TEST(runner_id_is_random)
{
    struct it_client c;
    char *org, *token, *run;

    setup();
    it_client_init(&c);
    token = scaled_org(&c, &org);
    it_data_file(org, "one.csv", "id,v\n1,a\n");
    run = start_chain(&c, token, csv_to_table("one.csv", "one"));
    await_end(&c, token, run, "completed", 30);
    owner_is("SELECT claimed_by ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
             "[89ab][0-9a-f]{3}-[0-9a-f]{12}$' FROM runs WHERE id = $1",
             run, "t");
    free(run);
    free(token);
    free(org);
}
END_TEST

/*
 * Runner a, cut off from the state database while it loads, stops the
 * run within a few seconds (before another runner may take it), commits
 * nothing, and the stack's runner then runs it once.
 */
START_TEST(cut_off_runner_stops_and_commits_nothing)
{
    struct it_client c;
    char *org, *token, *conn, *run, stall[160], q[512];
    json_t *nodes;

    only_runner_a(NULL);
    it_client_init(&c);
    token = scaled_org(&c, &org);
    conn = it_wh_connector(&c, token);
    /* Attempt 1 stalls after 20000 rows while this table exists. */
    snprintf(stall, sizeof(stall), "public.stall_%s", org);
    snprintf(q, sizeof(q), "CREATE TABLE %s ()", stall);
    free(it_wh(q, NULL));
    snprintf(q, sizeof(q),
             "SELECT g AS id, CASE WHEN g = 20001 AND to_regclass('%s') IS "
             "NOT NULL THEN pg_sleep(40)::text END AS pause FROM "
             "generate_series(1, 30000) g",
             stall);
    nodes = json_pack(
        "[o, o]",
        it_node("src", "extractor", "postgres",
                json_pack("{s:s, s:s}", "connection_id", conn, "query", q)),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "table", "once", "mode", "append")));
    run = start_chain(&c, token, nodes);
    it_await_loading(20);
    cut_runner_a(true);
    /* It stops loading well before run_stale_after() (15 s). */
    it_await_wh("SELECT count(*) = 0 FROM pg_stat_activity WHERE "
                "application_name = 'sluice-runner' AND query LIKE "
                "'COPY %FROM STDIN' AND state = 'active'",
                10, "runner a stops loading once cut off");
    owner_is("SELECT status || ' ' || attempts FROM runs WHERE id = $1", run,
             "running 1");
    /* The stack's runner takes it over once it is stale, and runs it. */
    snprintf(q, sizeof(q), "DROP TABLE %s", stall);
    free(it_wh(q, NULL));
    it_stack("start", "runner");
    await_end(&c, token, run, "completed", 60);
    wh_is("30000/30000",
          "SELECT count(*) || '/' || count(DISTINCT id) FROM "
          "t_%s_bronze.once",
          org);
    owner_is("SELECT attempts FROM runs WHERE id = $1", run, "2");
    prepared_is(run, "0");
    stop_runner_a();
    cut_runner_a(false);
    free(run);
    free(conn);
    free(token);
    free(org);
}
END_TEST

/*
 * Runner a loses the state database while its loader prepares (a
 * deferred trigger makes that take 3 s), so at the moment it records the
 * run's end, for longer than its heartbeats may fail; the database comes
 * back: the run is recorded once, and its appended rows are there once.
 */
START_TEST(state_database_away_at_finish)
{
    struct it_client c;
    char *org, *token, *run, sql[512];

    only_runner_a(NULL);
    it_client_init(&c);
    token = scaled_org(&c, &org);
    wh_table(org, "away", NULL);
    free(it_wh("CREATE OR REPLACE FUNCTION public.it_slow_commit() RETURNS "
               "trigger LANGUAGE plpgsql AS $f$ BEGIN PERFORM pg_sleep(1); "
               "RETURN NULL; END $f$",
               NULL));
    snprintf(sql, sizeof(sql),
             "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON "
             "t_%s_bronze.away DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
             "EXECUTE FUNCTION public.it_slow_commit()",
             org);
    free(it_wh(sql, NULL));
    it_data_file(org, "three.csv", "id,v\n1,a\n2,b\n3,c\n");
    run = start_chain(&c, token, csv_to_table("three.csv", "away"));
    it_await_wh("SELECT count(*) > 0 FROM pg_stat_activity WHERE "
                "application_name = 'sluice-runner' AND state = 'active' AND "
                "(query LIKE 'PREPARE TRANSACTION%' OR query = 'COMMIT')",
                20, "runner a commits");
    cut_runner_a(true);
    /* The outage: 8 s, longer than heartbeats may fail (5 s). */
    sleep(8);
    cut_runner_a(false);
    await_end(&c, token, run, "completed", 60);
    wh_is("1a,2b,3c",
          "SELECT string_agg(id || v, ',' ORDER BY id) FROM t_%s_bronze.away",
          org);
    owner_is("SELECT count(*) FROM outbox WHERE payload->'data'->>'run_id' = "
             "$1 AND subject LIKE '%.pipeline.completed'",
             run, "1");
    prepared_is(run, "0");
    stop_runner_a();
    free(run);
    free(token);
    free(org);
}
END_TEST

/*
 * The state database refuses the run's end for 8 s (a trigger) while its
 * heartbeats go on: the runner keeps trying and records it, as the same
 * attempt; the rows are there once.
 */
START_TEST(end_refused_for_a_while)
{
    struct it_client c;
    struct it_resp r;
    char *org, *token, *pid, *run;
    json_t *nodes;

    setup();
    it_client_init(&c);
    token = scaled_org(&c, &org);
    it_owner_sql("CREATE TABLE IF NOT EXISTS it_refuse_end (pipeline_id uuid)",
                 NULL);
    it_owner_sql(
        "CREATE OR REPLACE FUNCTION it_refuse_end() RETURNS trigger "
        "LANGUAGE plpgsql SECURITY DEFINER AS $f$ BEGIN "
        "IF OLD.status = 'running' AND NEW.status <> 'running' AND "
        "EXISTS (SELECT FROM it_refuse_end r "
        "WHERE r.pipeline_id = NEW.pipeline_id) THEN "
        "RAISE EXCEPTION 'it_commit: not now'; END IF; RETURN NEW; END $f$",
        NULL);
    it_owner_sql("CREATE OR REPLACE TRIGGER it_refuse_end BEFORE UPDATE ON "
                 "runs FOR EACH ROW EXECUTE FUNCTION it_refuse_end()",
                 NULL);
    it_data_file(org, "three.csv", "id,v\n1,a\n2,b\n3,c\n");
    nodes = csv_to_table("three.csv", "refused");
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    it_owner_sql("INSERT INTO it_refuse_end VALUES ($1)", pid);
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "running", 20, &r);
    it_resp_free(&r);
    /* The refusal lasts 8 s: longer than any fixed number of quick tries. */
    sleep(8);
    it_owner_sql("DELETE FROM it_refuse_end WHERE pipeline_id = $1", pid);
    await_end(&c, token, run, "completed", 40);
    wh_is("3", "SELECT count(*) FROM t_%s_bronze.refused", org);
    owner_is("SELECT attempts FROM runs WHERE id = $1", run, "1");
    it_owner_sql("DROP TRIGGER it_refuse_end ON runs", NULL);
    free(run);
    free(pid);
    free(token);
    free(org);
}
END_TEST

/*
 * Runner a dies between the decision and the commit: the run is
 * recorded completed, its rows not yet visible, its file not yet there;
 * the sweep of the stack's runner commits and renames them, once.
 */
START_TEST(killed_after_decision)
{
    struct it_client c;
    char *org, *token, *run, file[1024];
    double end;

    only_runner_a("after_decision");
    it_client_init(&c);
    token = scaled_org(&c, &org);
    wh_table(org, "decided", NULL);
    it_data_file(org, "three.csv", "id,v\n1,a\n2,b\n3,c\n");
    run = start_fan(&c, token,
                    it_node("in", "extractor", "csv",
                            json_pack("{s:s}", "path", "three.csv")),
                    it_node("out", "loader", "postgres",
                            json_pack("{s:s, s:s, s:s}", "schema", "bronze",
                                      "table", "decided", "mode", "append")),
                    it_node("copy", "loader", "csv",
                            json_pack("{s:s, s:s}", "path", "decided.csv",
                                      "mode", "append")));
    await_runner_a_exit(30);
    owner_is("SELECT status FROM runs WHERE id = $1", run, "completed");
    wh_is("0", "SELECT count(*) FROM t_%s_bronze.decided", org);
    prepared_is(run, "1");
    snprintf(file, sizeof(file), "%s/%s/decided.csv",
             it_env("SLUICE_TEST_DATA_DIR"), org);
    ck_assert_int_ne(access(file, F_OK), 0);
    owner_is("SELECT count(*) FROM run_prepared WHERE run_id = $1", run, "2");
    it_stack("start", "runner");
    end = it_now() + 40;
    for (;;) {
        char *v = it_owner_value(
            "SELECT count(*) FROM run_prepared WHERE run_id = $1", run, NULL);
        bool left = strcmp(v, "0") != 0;

        free(v);
        if (!left)
            break;
        ck_assert_msg(it_now() < end,
                      "the sweep did not end run %s's "
                      "participants",
                      run);
        usleep(100 * 1000);
    }
    wh_is(
        "1a,2b,3c",
        "SELECT string_agg(id || v, ',' ORDER BY id) FROM t_%s_bronze.decided",
        org);
    prepared_is(run, "0");
    ck_assert_int_eq(it_sh("test \"$(cat '%s')\" = \"$(printf "
                           "'id,v\\n1,a\\n2,b\\n3,c')\"",
                           file),
                     0);
    free(run);
    free(token);
    free(org);
}
END_TEST

/*
 * Runner a dies after preparing, before the decision: nothing is
 * visible; the run is taken back, its prepared transaction rolled back,
 * and the stack's runner loads it once.
 */
START_TEST(killed_after_prepare)
{
    struct it_client c;
    char *org, *token, *run;

    only_runner_a("after_prepare");
    it_client_init(&c);
    token = scaled_org(&c, &org);
    wh_table(org, "undecided", NULL);
    it_data_file(org, "three.csv", "id,v\n1,a\n2,b\n3,c\n");
    run = start_chain(&c, token, csv_to_table("three.csv", "undecided"));
    await_runner_a_exit(30);
    owner_is("SELECT status FROM runs WHERE id = $1", run, "running");
    wh_is("0", "SELECT count(*) FROM t_%s_bronze.undecided", org);
    prepared_is(run, "1");
    it_stack("start", "runner");
    await_end(&c, token, run, "completed", 60);
    wh_is("1a,2b,3c",
          "SELECT string_agg(id || v, ',' ORDER BY id) FROM "
          "t_%s_bronze.undecided",
          org);
    owner_is("SELECT attempts FROM runs WHERE id = $1", run, "2");
    prepared_is(run, "0");
    free(run);
    free(token);
    free(org);
}
END_TEST

/* Two runs append to one CSV file at the same time: both runs' rows are
 * there, under one header. */
START_TEST(two_runs_append_to_one_file)
{
    struct it_client c;
    char *org, *token, *conn, *runs[2], q[256];

    setup();
    it_client_init(&c);
    token = scaled_org(&c, &org);
    conn = it_wh_connector(&c, token);
    for (int i = 0; i < 2; i++) {
        json_t *nodes;

        /* Each reads for a while, so that the two overlap. */
        snprintf(q, sizeof(q),
                 "SELECT %d AS run, g AS n FROM pg_sleep(2), "
                 "generate_series(1, 50) g",
                 i + 1);
        nodes = json_pack(
            "[o, o]",
            it_node("src", "extractor", "postgres",
                    json_pack("{s:s, s:s}", "connection_id", conn, "query", q)),
            it_node("out", "loader", "csv",
                    json_pack("{s:s, s:s}", "path", "shared.csv", "mode",
                              "append")));
        runs[i] = start_chain(&c, token, nodes);
    }
    for (int i = 0; i < 2; i++) {
        await_end(&c, token, runs[i], "completed", 40);
        free(runs[i]);
    }
    ck_assert_int_eq(it_sh("f='%s/%s/shared.csv'; test \"$(wc -l <\"$f\")\" "
                           "= 101 && test \"$(grep -c '^1,' \"$f\")\" = 50 && "
                           "test \"$(grep -c '^2,' \"$f\")\" = 50 && "
                           "test \"$(grep -c '^run,n' \"$f\")\" = 1",
                           it_env("SLUICE_TEST_DATA_DIR"), org),
                     0);
    free(conn);
    free(token);
    free(org);
}
END_TEST

/* A second PostgreSQL server, without prepared transactions. */
static char lr_dir[256];
static int lr_port;

/* Where the server lives: one place per stack, known to the teardown. */
static void
lr_place(void)
{
    const char *var = it_env("SLUICE_TEST_VAR"), *base = strrchr(var, '/');

    snprintf(lr_dir, sizeof(lr_dir), "/var/tmp/it-commit-lr-%s",
             base ? base + 1 : var);
}

/*
 * Runs script (sh) as the user PostgreSQL runs as, with $bin the server's
 * binaries, $dir lr_dir and $port lr_port. Returns its exit status.
 */
static int
as_pg(const char *script)
{
    char file[] = "/tmp/it_commit_sh.XXXXXX";
    int fd = mkstemp(file), rc;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "set -e\nbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | "
            "tail -n 1)\ndir='%s'\nport=%d\n%s\n",
            lr_dir, lr_port, script);
    fclose(f);
    chmod(file, 0644);
    rc = it_sh("cd / && %s sh '%s'",
               getuid() == 0 ? "runuser -u postgres --" : "", file);
    unlink(file);
    return rc;
}

/*
 * Starts a PostgreSQL server of its own (max_prepared_transactions = 0,
 * trusting loopback) with a database and a role "lr", on lr_port.
 */
static void
start_lr_server(void)
{
    lr_place();
    ck_assert_int_eq(it_sh("mkdir -p '%s' && chmod 700 '%s'", lr_dir, lr_dir),
                     0);
    if (getuid() == 0)
        ck_assert_int_eq(it_sh("chown postgres: '%s'", lr_dir), 0);
    ck_assert_int_eq(as_pg("\"$bin/initdb\" -D \"$dir/data\" -A trust -E UTF8 "
                           "--locale=C >/dev/null\n"
                           "cat >>\"$dir/data/postgresql.conf\" <<EOF\n"
                           "listen_addresses = '127.0.0.1'\n"
                           "unix_socket_directories = '$dir'\n"
                           "max_prepared_transactions = 0\n"
                           "fsync = off\n"
                           "EOF"),
                     0);
    for (int tries = 0; lr_port == 0 && tries < 20; tries++) {
        lr_port = 20000 + (int)(random() % 40000);
        if (as_pg("\"$bin/pg_ctl\" -D \"$dir/data\" -l \"$dir/log\" -w -t 30 "
                  "-o \"-p $port\" start >/dev/null") != 0)
            lr_port = 0;
    }
    ck_assert_int_ne(lr_port, 0);
    ck_assert_int_eq(as_pg("psql -X -q -h \"$dir\" -p $port -d postgres "
                           "-c \"CREATE ROLE lr LOGIN PASSWORD 'lr'\" "
                           "-c 'CREATE DATABASE lr OWNER lr' >/dev/null"),
                     0);
}

static void
stop_lr_server(void)
{
    lr_place();
    if (access(lr_dir, F_OK) != 0)
        return;
    as_pg("\"$bin/pg_ctl\" -D \"$dir/data\" -m immediate stop >/dev/null "
          "2>&1 || true");
    it_sh("rm -rf '%s'", lr_dir);
    lr_port = 0;
}

/* The first value of sql in the lr server's database, as lr; malloc'd. */
static char *
lr_sql(const char *sql)
{
    char url[512], err[256] = "", *v;

    snprintf(url, sizeof(url), "host=%s port=%d dbname=lr user=lr", lr_dir,
             lr_port);
    setenv("IT_COMMIT_LR_URL", url, 1);
    v = it_sql("IT_COMMIT_LR_URL", sql, NULL, NULL, NULL, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s: %s", sql, err);
    return v;
}

/*
 * A target whose server refuses PREPARE is committed last, on its own,
 * and the run warns; when that commit fails, the warehouse's prepared
 * rows are rolled back with it.
 */
START_TEST(last_resource)
{
    struct it_client c;
    struct it_resp r;
    char *org, *token, *conn, *run, *v;

    setup();
    it_client_init(&c);
    token = scaled_org(&c, &org);
    start_lr_server();
    conn = it_pg_connector(&c, token, "127.0.0.1", lr_port, "lr", "lr", "lr");
    free(lr_sql("CREATE TABLE ok (id text, v text)"));
    free(lr_sql("CREATE TABLE bad (id text, v text, CONSTRAINT bad_id UNIQUE "
                "(id) DEFERRABLE INITIALLY DEFERRED)"));
    it_data_file(org, "dup.csv", "id,v\n1,a\n2,b\n2,c\n");
    for (int fail = 0; fail < 2; fail++) {
        run = start_fan(
            &c, token,
            it_node("in", "extractor", "csv",
                    json_pack("{s:s}", "path", "dup.csv")),
            it_node("wh", "loader", "postgres",
                    json_pack("{s:s, s:s}", "schema", "bronze", "table",
                              fail ? "wh_bad" : "wh_ok")),
            it_node("lr", "loader", "postgres",
                    json_pack("{s:s, s:s, s:s}", "connection_id", conn, "table",
                              fail ? "bad" : "ok", "mode", "append")));
        it_await_run(&c, token, run, "completed|failed", 30, &r);
        ck_assert_str_eq(it_str(&r, "status"), fail ? "failed" : "completed");
        ck_assert_str_eq(it_str(&r, "result_data.warnings.0.node_id"), "lr");
        ck_assert_msg(strstr(it_str(&r, "result_data.warnings.0.message"),
                             "max_prepared_transactions = 0") != NULL,
                      "%s", r.body);
        it_resp_free(&r);
        v = it_owner_value(
            "SELECT count(*) FROM run_logs WHERE run_id = $1 AND "
            "level = 'WARNING' AND node_id = 'lr'",
            run, NULL);
        ck_assert_str_eq(v, "1");
        free(v);
        if (fail) {
            wh_is("t", "SELECT to_regclass('t_%s_bronze.wh_bad') IS NULL", org);
            v = it_owner_value("SELECT error_message FROM runs WHERE id = $1",
                               run, NULL);
            ck_assert_msg(strstr(v, "bad_id") != NULL, "%s", v);
            free(v);
        } else {
            wh_is("3", "SELECT count(*) FROM t_%s_bronze.wh_ok", org);
        }
        prepared_is(run, "0");
        free(run);
    }
    v = lr_sql("SELECT (SELECT count(*) FROM ok) || '/' || (SELECT "
               "count(*) FROM bad)");
    ck_assert_str_eq(v, "3/0");
    free(v);
    stop_lr_server();
    free(conn);
    free(token);
    free(org);
}
END_TEST

static void
teardown(void)
{
    stop_runner_a();
    stop_lr_server();
}

static Suite *
commit_suite(void)
{
    Suite *s = suite_create("it_commit");
    TCase *tc = tcase_create("commit");

    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, second_loader_fails_at_commit);
    tcase_add_test(tc, last_resource);
    tcase_add_test(tc, runner_id_is_random);
    tcase_add_test(tc, two_runs_append_to_one_file);
    tcase_add_test(tc, end_refused_for_a_while);
    tcase_add_test(tc, killed_after_decision);
    tcase_add_test(tc, killed_after_prepare);
    tcase_add_test(tc, cut_off_runner_stops_and_commits_nothing);
    tcase_add_test(tc, state_database_away_at_finish);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(commit_suite)
