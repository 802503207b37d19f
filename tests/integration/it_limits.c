/*
 * it_limits.c: one organisation cannot hurt the others through the
 * runner. A user's SQL reaches the warehouse as one statement, its
 * values bound as parameters ("$1" in a literal stays text); it runs
 * within its organisation's role's limits (statement_timeout,
 * temp_file_limit, work_mem), which neither SET nor set_config() can
 * raise.
 *
 * Every run has a deadline, its pipeline's configuration.timeout or the
 * runner's run_timeout_seconds: past it the run fails with
 * PIPELINE_TIMEOUT and its loads are rolled back.
 *
 * Runner slots are shared fairly: one organisation's burst of a hundred
 * runs does not keep another's run waiting more than one slot's turn, and
 * an organisation never holds more slots than its plan's concurrent runs,
 * with two runners as with one.
 *
 * The runner of this stack is restarted once, first, with small limits
 * (small_limits()) so that they show quickly.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

/* The runner's limits here, and how the warehouse shows them. */
#define STATEMENT_TIMEOUT_MS "2000"
#define TEMP_FILE_LIMIT_MB   "1"
#define WORK_MEM_MB          "2"
#define SHOWN_LIMITS         "2s|1MB|2MB"
#define RUN_TIMEOUT_S        "6"

/* Once, before the tests: the runner restarted with the limits above. */
static void
small_limits(void)
{
    setenv("SLUICE_WAREHOUSE_STATEMENT_TIMEOUT_MS", STATEMENT_TIMEOUT_MS, 1);
    setenv("SLUICE_WAREHOUSE_TEMP_FILE_LIMIT_MB", TEMP_FILE_LIMIT_MB, 1);
    setenv("SLUICE_WAREHOUSE_WORK_MEM_MB", WORK_MEM_MB, 1);
    setenv("SLUICE_RUN_TIMEOUT_SECONDS", RUN_TIMEOUT_S, 1);
    it_stack("restart", "runner");
}

/* csv "in" (the organisation's file name) -> sql query -> gold.table. */
static json_t *
through_sql(const char *file, const char *query, json_t *params,
            const char *table)
{
    json_t *sql = json_pack("{s:s}", "query", query);

    if (params != NULL)
        json_object_set_new(sql, "params", params);
    return json_pack(
        "[o, o, o]",
        it_node("in", "extractor", "csv", json_pack("{s:s}", "path", file)),
        it_node("q", "transformer", "sql", sql),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s, s:s}", "schema", "gold", "table", table,
                          "mode", "replace")));
}

/* A warehouse query of the postgres extractor -> gold.table. */
static json_t *
from_query(const char *query, const char *table)
{
    return json_pack("[o, o]",
                     it_node("src", "extractor", "postgres",
                             json_pack("{s:s}", "query", query)),
                     it_node("out", "loader", "postgres",
                             json_pack("{s:s, s:s, s:s}", "schema", "gold",
                                       "table", table, "mode", "replace")));
}

/* The rows of t_<org>_gold.<table> as "a|b;...", ordered. */
static char *
gold_rows(const char *org, const char *table, const char *cols)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(string_agg(concat_ws('|', %s), ';' ORDER BY "
             "1), '') FROM t_%s_gold.%s",
             cols, org, table);
    return it_wh(sql, NULL);
}

START_TEST(one_statement_its_values_bound)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *v;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "ids.csv", "id\n1\n2\n");

    /* "$1" inside a literal is text, beside a bound :x. */
    ck_assert_msg(
        it_run_chain(&c, token,
                     through_sql("ids.csv",
                                 "SELECT id, '$1' AS lit, :x AS x, "
                                 "':x' AS name FROM input",
                                 json_pack("{s:s}", "x", "five"), "lits"),
                     &r),
        "%s", r.body);
    it_resp_free(&r);
    v = gold_rows(org, "lits", "id, lit, x, name");
    ck_assert_str_eq(v, "1|$1|five|:x;2|$1|five|:x");
    free(v);

    /* A second statement is refused, in a transform and an extractor. */
    it_run_chain_fails(
        &c, token,
        through_sql("ids.csv", "SELECT id FROM input; SELECT 2", NULL, "two"),
        "one SQL statement");
    it_run_chain_fails(&c, token,
                       from_query("SELECT 1 AS a; DROP TABLE lits", "two"),
                       "one SQL statement");
    v = gold_rows(org, "lits", "id");
    ck_assert_str_eq(v, "1;2");
    free(v);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* The limits as a sql node and a warehouse query see them. */
#define READ_LIMITS                                                            \
    "SELECT current_setting('statement_timeout') AS st, "                      \
    "current_setting('temp_file_limit') AS tf, "                               \
    "current_setting('work_mem') AS wm"

/* Asserts what both kinds of user SQL see as their limits. */
static void
limits_are_configured(struct it_client *c, const char *token, const char *org)
{
    struct it_resp r;
    char *v;

    ck_assert_msg(it_run_chain(c, token,
                               through_sql("one.csv", READ_LIMITS " FROM input",
                                           NULL, "seen_sql"),
                               &r),
                  "%s", r.body);
    it_resp_free(&r);
    ck_assert_msg(it_run_chain(c, token, from_query(READ_LIMITS, "seen_q"), &r),
                  "%s", r.body);
    it_resp_free(&r);
    v = gold_rows(org, "seen_sql", "st, tf, wm");
    ck_assert_str_eq(v, SHOWN_LIMITS);
    free(v);
    v = gold_rows(org, "seen_q", "st, tf, wm");
    ck_assert_str_eq(v, SHOWN_LIMITS);
    free(v);
}

START_TEST(limits_cannot_be_raised)
{
    static const char *const raise[][2] = {{"statement_timeout", "0"},
                                           {"temp_file_limit", "-1"},
                                           {"work_mem", "1GB"}};
    struct it_client c;
    char *org, *user, *token, sql[256];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "one.csv", "id\n1\n");
    limits_are_configured(&c, token, org);

    for (size_t i = 0; i < sizeof(raise) / sizeof(*raise); i++) {
        /* SET is a statement of its own, which returns no rows. */
        snprintf(sql, sizeof(sql), "SET %s = '%s'", raise[i][0], raise[i][1]);
        it_run_chain_fails(&c, token, through_sql("one.csv", sql, NULL, "x"),
                           "must return between 1 and");
        it_run_chain_fails(&c, token, from_query(sql, "x"),
                           "must return between 1 and");
        /* set_config(), local or not, inside the query. */
        for (int local = 0; local < 2; local++) {
            char from_input[320];

            snprintf(sql, sizeof(sql),
                     "SELECT set_config('%s', '%s', %s) AS v, 1 AS id",
                     raise[i][0], raise[i][1], local ? "true" : "false");
            snprintf(from_input, sizeof(from_input), "%s FROM input", sql);
            it_run_chain_fails(&c, token,
                               through_sql("one.csv", from_input, NULL, "x"),
                               "permission denied for function set_config");
            it_run_chain_fails(&c, token, from_query(sql, "x"),
                               "permission denied for function set_config");
        }
    }
    /* Nor through pg_settings (its rule calls set_config). */
    it_run_chain_fails(&c, token,
                       from_query("WITH u AS (UPDATE pg_settings SET "
                                  "setting = '0' WHERE name = "
                                  "'statement_timeout' RETURNING name) "
                                  "SELECT * FROM u",
                                  "x"),
                       "ERROR");

    /* A role whose settings were changed behind the runner's back is set
     * up again before its next query. */
    snprintf(sql, sizeof(sql), "ALTER ROLE sluice_t_%s SET work_mem = '1GB'",
             org);
    free(it_wh(sql, NULL));
    limits_are_configured(&c, token, org);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* Past its statement timeout, or its temporary files' limit, a user's
 * query fails the run, saying so. */
START_TEST(limits_hold)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token;
    double t0;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "one.csv", "id\n1\n");
    t0 = it_now();
    ck_assert(!it_run_chain(
        &c, token,
        through_sql("one.csv", "SELECT id, pg_sleep(30)::text AS s FROM input",
                    NULL, "x"),
        &r));
    ck_assert_msg(
        strstr(it_str(&r, "error_message"), "STATEMENT_TIMEOUT") != NULL &&
            strstr(it_str(&r, "error_message"), "statement timeout") != NULL,
        "%s", it_str(&r, "error_message"));
    ck_assert_msg(it_now() - t0 < 15, "the query ran %.1f s", it_now() - t0);
    it_resp_free(&r);
    it_run_chain_fails(&c, token, from_query("SELECT pg_sleep(30)::text", "x"),
                       "STATEMENT_TIMEOUT");

    /* A sort larger than work_mem spills to a temporary file, which may
     * not grow past temp_file_limit. */
    it_run_chain_fails(&c, token,
                       through_sql("one.csv",
                                   "SELECT g FROM input, generate_series(1, "
                                   "500000) g ORDER BY g DESC",
                                   NULL, "x"),
                       "temp_file_limit");
    it_run_chain_fails(&c, token,
                       from_query("SELECT g FROM generate_series(1, 500000) g "
                                  "ORDER BY g DESC",
                                  "x"),
                       "temp_file_limit");
    free(token);
    free(user);
    free(org);
}
END_TEST

/*
 * Makes a pipeline of nodes (a chain, taken) with configuration (taken;
 * may be NULL), runs it to its end (20 s at most) and returns how long
 * that took, the run in *r.
 */
static double
run_configured(struct it_client *c, const char *token, json_t *nodes,
               json_t *configuration, struct it_resp *r)
{
    json_t *body = json_pack("{s:s, s:O, s:o}", "name", it_unique(), "nodes",
                             nodes, "edges", it_chain(nodes));
    char *pid, *run;
    double t0;

    json_decref(nodes);
    if (configuration != NULL)
        json_object_set_new(body, "configuration", configuration);
    it_call(c, "POST", "/api/v1/pipelines", token, body, r);
    it_assert_status(r, 201);
    pid = strdup(it_str(r, "id"));
    it_resp_free(r);
    t0 = it_now();
    run = it_execute(c, token, pid);
    it_await_run(c, token, run, "completed|failed|cancelled", 20, r);
    free(run);
    free(pid);
    return it_now() - t0;
}

/* A slow source of the connector conn -> the bronze table table. */
static json_t *
slow_load(const char *conn, int seconds, const char *table)
{
    return json_pack("[o, o]", it_slow_source(conn, seconds),
                     it_node("out", "loader", "postgres",
                             json_pack("{s:s}", "table", table)));
}

/* Asserts that r failed past its timeout of secs, and that its table
 * (in org's bronze layer) was never committed. */
static void
timed_out(const struct it_resp *r, const char *org, const char *table,
          const char *secs)
{
    char sql[256], want[96], *v;

    ck_assert_str_eq(it_str(r, "status"), "failed");
    ck_assert_msg(
        strncmp(it_str(r, "error_message"), "PIPELINE_TIMEOUT: ", 18) == 0,
        "%s", it_str(r, "error_message"));
    snprintf(want, sizeof(want), "timeout of %s s", secs);
    ck_assert_msg(strstr(it_str(r, "error_message"), want) != NULL, "%s",
                  it_str(r, "error_message"));
    snprintf(sql, sizeof(sql), "SELECT to_regclass('t_%s_bronze.%s') IS NULL",
             org, table);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "t");
    free(v);
}

START_TEST(runs_have_a_deadline)
{
    static const char *const bad[] = {"0",     "-5",     "604801",
                                      "86401", "\"1h\"", "1.5"};
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *conn, *v, sql[256];
    double took;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    conn = it_wh_connector(&c, token);

    /* The pipeline's configuration.timeout: stopped after 3 s, in the
     * middle of its load, which is rolled back. */
    took = run_configured(&c, token, slow_load(conn, 60, "late"),
                          json_pack("{s:i}", "timeout", 3), &r);
    timed_out(&r, org, "late", "3");
    ck_assert_msg(took >= 3 && took < 10, "the run took %.1f s", took);
    it_resp_free(&r);

    /* Without one, the runner's run_timeout_seconds. */
    took = run_configured(&c, token, slow_load(conn, 60, "later"), NULL, &r);
    timed_out(&r, org, "later", RUN_TIMEOUT_S);
    ck_assert_msg(took >= 6 && took < 13, "the run took %.1f s", took);
    it_resp_free(&r);

    /* A longer configuration.timeout lets a run take longer than that. */
    took = run_configured(&c, token, slow_load(conn, 8, "in_time"),
                          json_pack("{s:i}", "timeout", 30), &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    ck_assert_msg(took >= 8, "the run took %.1f s", took);
    it_resp_free(&r);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM t_%s_bronze.in_time", org);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "30000");
    free(v);

    /* The API takes only a whole number of seconds, 1 to the operator's
     * run_timeout_max_seconds (a day, here), and says so. */
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *nodes = slow_load(conn, 1, "never");

        snprintf(sql, sizeof(sql), "{\"timeout\": %s}", bad[i]);
        it_call(&c, "POST", "/api/v1/pipelines", token,
                json_pack("{s:s, s:O, s:o, s:o}", "name", it_unique(), "nodes",
                          nodes, "edges", it_chain(nodes), "configuration",
                          json_loads(sql, 0, NULL)),
                &r);
        json_decref(nodes);
        it_assert_error(&r, 422, "VALIDATION_ERROR");
        ck_assert_msg(strstr(r.body, "configuration.timeout") != NULL, "%s",
                      r.body);
        ck_assert_msg(strstr(r.body, "1..86400") != NULL, "%s", r.body);
        it_resp_free(&r);
    }
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* The first value of sql (up to two parameters) as the owner. */
static char *
owner(const char *sql, const char *p1, const char *p2)
{
    char err[256] = "";
    char *v =
        it_sql("SLUICE_TEST_OWNER_DB_URL", sql, p1, p2, NULL, err, sizeof(err));

    ck_assert_msg(v != NULL, "%s: %s", sql, err);
    return v;
}

/* As owner(), for a number. */
static long
owner_long(const char *sql, const char *p1, const char *p2)
{
    char *v = owner(sql, p1, p2);
    long n = atol(v);

    free(v);
    return n;
}

/* A pipeline of org whose every run takes about secs (a query that
 * sleeps in the warehouse); its id. */
static char *
sleepy_pipeline(struct it_client *c, const char *token, const char *secs)
{
    char q[96];
    json_t *nodes;

    snprintf(q, sizeof(q), "SELECT pg_sleep(%s)::text AS slept", secs);
    nodes = json_pack("[o]", it_node("src", "extractor", "postgres",
                                     json_pack("{s:s}", "query", q)));
    return it_pipeline(c, token, nodes, json_array());
}

/*
 * n runs of pipeline pid of org, pending with their requests in the
 * outbox (for the relay), as the API would write them but in one
 * statement: no quota stops them, no rate limit either.
 */
static void
burst(const char *org, const char *pid, const char *n)
{
    char err[256] = "";
    char *v =
        it_sql("SLUICE_TEST_OWNER_DB_URL",
               "WITH r AS (INSERT INTO runs (id, tenant_id, pipeline_id, "
               "pipeline_version, trigger_type, trigger_by, created_at) "
               "SELECT gen_random_uuid(), $1, $2::uuid, 1, 'api', 'burst', "
               "clock_timestamp() FROM generate_series(1, $3::integer) "
               "RETURNING id, tenant_id, pipeline_id), "
               "o AS (SELECT gen_random_uuid() AS oid, r.* FROM r) "
               "INSERT INTO outbox (id, tenant_id, subject, payload) "
               "SELECT o.oid, o.tenant_id, 'sluice.run.request', "
               "jsonb_build_object('run_id', o.id, 'tenant_id', o.tenant_id, "
               "'pipeline_id', o.pipeline_id, 'outbox_id', o.oid) "
               "FROM o RETURNING 1",
               org, pid, n, err, sizeof(err));

    ck_assert_msg(v != NULL, "%s", err);
    free(v);
}

/* Waits up to secs for org to have at least n runs running. */
static void
await_running(const char *org, long n, double secs)
{
    double end = it_now() + secs;

    while (owner_long("SELECT count(*) FROM runs WHERE tenant_id = $1 AND "
                      "status = 'running'",
                      org, NULL) < n) {
        ck_assert_msg(it_now() < end, "%s: not %ld runs running in %.0f s", org,
                      n, secs);
        usleep(20 * 1000);
    }
}

/* Cancels what is left pending of org's runs. */
static void
cancel_pending(const char *org)
{
    free(owner("UPDATE runs SET status = 'cancelled', cancelled_at = now(), "
               "completed_at = now() WHERE tenant_id = $1 AND status = "
               "'pending' RETURNING 1",
               org, NULL));
}

START_TEST(a_burst_does_not_delay_the_others)
{
    struct it_client c;
    struct it_resp r;
    char *org_a, *user_a, *token_a, *org_b, *user_b, *token_b;
    char *pid_a, *pid_b, *run_b;
    long overtaken, behind;

    it_client_init(&c);
    token_a = it_new_org(&c, &user_a, &org_a);
    token_b = it_new_org(&c, &user_b, &org_b);
    /* A has no plan, so no cap: a hundred runs at once. */
    free(owner("DELETE FROM tenant_subscriptions WHERE tenant_id = $1 "
               "RETURNING 1",
               org_a, NULL));
    it_scale_up(org_b);
    pid_a = sleepy_pipeline(&c, token_a, "0.25");
    pid_b = sleepy_pipeline(&c, token_b, "0.25");
    burst(org_a, pid_a, "100");
    /* Both of the runner's slots are A's; then B starts one run. */
    await_running(org_a, 2, 30);
    run_b = it_execute(&c, token_b, pid_b);
    it_await_run(&c, token_b, run_b, "completed|failed", 30, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);

    /* B's run took the first slot that freed: at most one of A's runs
     * (a slot freeing as B's run was written) started in between, while
     * most of A's were still waiting. */
    overtaken = owner_long(
        "SELECT count(*) FROM runs a, runs b WHERE b.id = $2::uuid AND "
        "a.tenant_id = $1 AND a.started_at > b.created_at AND "
        "a.started_at < b.started_at",
        org_a, run_b);
    behind = owner_long(
        "SELECT count(*) FROM runs a, runs b WHERE b.id = $2::uuid AND "
        "a.tenant_id = $1 AND (a.started_at IS NULL OR "
        "a.started_at > b.started_at)",
        org_a, run_b);
    ck_assert_msg(overtaken <= 1, "%ld of A's runs started before B's",
                  overtaken);
    ck_assert_msg(behind >= 50, "only %ld of A's runs were still waiting",
                  behind);
    cancel_pending(org_a);
    free(run_b);
    free(pid_a);
    free(pid_b);
    free(token_a);
    free(user_a);
    free(org_a);
    free(token_b);
    free(user_b);
    free(org_b);
}
END_TEST

START_TEST(caps_hold_with_two_runners)
{
    struct it_client c;
    char *org_c, *user_c, *token_c, *org_e, *user_e, *token_e;
    char *pid_c, *pid_e;
    long max_c = 0, max_e = 0, n;
    double end;
    pid_t runner2;

    it_client_init(&c);
    token_c = it_new_org(&c, &user_c, &org_c);
    token_e = it_new_org(&c, &user_e, &org_e);
    /* C may run two at once; E, without a plan, as many as it gets. */
    it_scale_up(org_c);
    free(owner("UPDATE tenant_subscriptions SET concurrent_runs_limit = 2 "
               "WHERE tenant_id = $1 RETURNING 1",
               org_c, NULL));
    free(owner("DELETE FROM tenant_subscriptions WHERE tenant_id = $1 "
               "RETURNING 1",
               org_e, NULL));
    pid_c = sleepy_pipeline(&c, token_c, "0.4");
    pid_e = sleepy_pipeline(&c, token_e, "0.4");
    /* Two runners: four slots. */
    runner2 = it_second_runner();
    burst(org_c, pid_c, "8");
    burst(org_e, pid_e, "12");
    end = it_now() + 120;
    for (;;) {
        char *v = owner("SELECT count(*) FILTER (WHERE tenant_id = $1 AND "
                        "status = 'running') || ' ' || count(*) FILTER "
                        "(WHERE tenant_id = $2 AND status = 'running') || ' ' "
                        "|| count(*) FILTER (WHERE status IN ('pending', "
                        "'running')) FROM runs WHERE tenant_id IN ($1, $2)",
                        org_c, org_e);
        long rc_, re_, open_;

        ck_assert_int_eq(sscanf(v, "%ld %ld %ld", &rc_, &re_, &open_), 3);
        free(v);
        max_c = rc_ > max_c ? rc_ : max_c;
        max_e = re_ > max_e ? re_ : max_e;
        if (open_ == 0)
            break;
        ck_assert_msg(it_now() < end, "%ld runs still open", open_);
        usleep(20 * 1000);
    }
    kill(runner2, SIGTERM);
    ck_assert_int_eq(waitpid(runner2, NULL, 0), runner2);

    /* Seen, and exactly from the runs' times: C never held more than its
     * two slots; E used the rest; both runners took runs. */
    ck_assert_msg(max_c == 2, "C ran %ld at once", max_c);
    ck_assert_msg(max_e >= 2, "E ran at most %ld at once", max_e);
    n = owner_long("SELECT max((SELECT count(*) FROM runs o WHERE "
                   "o.tenant_id = r.tenant_id AND o.started_at <= "
                   "r.started_at AND o.completed_at > r.started_at)) "
                   "FROM runs r WHERE r.tenant_id = $1",
                   org_c, NULL);
    ck_assert_msg(n == 2, "C's runs overlapped %ld at once", n);
    n = owner_long("SELECT count(*) FILTER (WHERE status = 'completed') * "
                   "100 + count(DISTINCT claimed_by) FROM runs WHERE "
                   "tenant_id IN ($1, $2)",
                   org_c, org_e);
    ck_assert_msg(n == 2002, "%ld completed, %ld runners", n / 100, n % 100);
    free(pid_c);
    free(pid_e);
    free(token_c);
    free(user_c);
    free(org_c);
    free(token_e);
    free(user_e);
    free(org_e);
}
END_TEST

static Suite *
limits_suite(void)
{
    Suite *s = suite_create("it_limits");
    TCase *tc = tcase_create("limits");

    tcase_set_timeout(tc, 240);
    tcase_add_unchecked_fixture(tc, small_limits, NULL);
    tcase_add_test(tc, one_statement_its_values_bound);
    tcase_add_test(tc, limits_cannot_be_raised);
    tcase_add_test(tc, limits_hold);
    tcase_add_test(tc, runs_have_a_deadline);
    tcase_add_test(tc, a_burst_does_not_delay_the_others);
    tcase_add_test(tc, caps_hold_with_two_runners);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(limits_suite)
