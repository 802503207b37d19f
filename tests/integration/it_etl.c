/*
 * it_etl.c: runs that move real data, end to end: a pipeline is created
 * through nginx, started, and executed by sluice-runner; the test then
 * reads what landed in the warehouse (or a file) and compares it, row by
 * row, with what it expects. Also: a failing quality gate, a cancel in
 * the middle of a load, retry, a runner killed with SIGKILL mid-run,
 * one organisation's pipeline reaching for another's connector, and SQL
 * a user wrote running in the organisation's warehouse, as its own role.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

/* Rows of a warehouse table as "a|b|c;...", in the order of its id. */
static char *
rows_of(const char *table, const char *cols)
{
    char sql[4096];

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(string_agg(concat_ws('|', %s), ';' ORDER BY id), "
             "'') FROM %s",
             cols, table);
    return it_wh(sql, NULL);
}

START_TEST(csv_to_postgres)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, *v, table[160], path[256];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "people.csv",
                 "id,name,city,note\r\n"
                 "1,Ada,\"London, UK\",\"said \"\"hi\"\"\"\r\n"
                 "2,\"Grace\nHopper\",,\"\"\r\n"
                 "3,Linus,Helsinki,plain\r\n");
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "csv",
                              json_pack("{s:s}", "path", "people.csv")),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s, s:s}", "schema", "bronze",
                                        "table", "people")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "completed|failed", 30, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    ck_assert_int_eq(it_int(&r, "records_processed"), 3);
    ck_assert_int_eq(it_int(&r, "steps.0.rows_output"), 3);
    ck_assert_int_eq(it_int(&r, "steps.1.rows_input"), 3);
    ck_assert_str_eq(it_str(&r, "steps.1.status"), "completed");
    it_resp_free(&r);

    snprintf(table, sizeof(table), "t_%s_bronze.people", org);
    v = rows_of(table, "id, coalesce(name, '<null>'), coalesce(city, "
                       "'<null>'), coalesce(note, '<null>')");
    ck_assert_str_eq(v, "1|Ada|London, UK|said \"hi\";"
                        "2|Grace\nHopper|<null>|;"
                        "3|Linus|Helsinki|plain");
    free(v);

    /* Its log and metrics say what each node did. */
    snprintf(path, sizeof(path), "/api/v1/executions/%s/logs?node_id=out", run);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_msg(strstr(r.body, "Loaded 3 rows") != NULL, "%s", r.body);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/executions/%s/metrics", run);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "nodes.0.rows_output"), 3);
    ck_assert_int_eq(it_int(&r, "nodes.1.rows_input"), 3);
    ck_assert_ptr_nonnull(it_at(&r, "nodes.1.memory_peak_mb"));
    it_resp_free(&r);

    /* Retry: a new run of the same pipeline, which appends again. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/retry", run);
    it_call(&c, "POST", path, token, json_object(), &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "original_run_id"), run);
    free(run);
    run = strdup(it_str(&r, "run_id"));
    it_resp_free(&r);
    it_await_run(&c, token, run, "completed", 30, &r);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "SELECT count(*) FROM %s", table);
    v = it_wh(path, NULL);
    ck_assert_str_eq(v, "6");
    free(v);
    free(run);
    free(pid);
    free(token);
    free(user);
    free(org);
}
END_TEST

/*
 * pii_mask on the PII engine in a real run: detection finds the e-mail and
 * phone columns and hashes them under the organisation's key, giving the
 * very token POST /pii/anonymize's hash gives; scope "entities" masks
 * only the phone number inside a free-text note.
 */
START_TEST(csv_pii_mask_postgres)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *v, table[160], sql[320];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "contacts.csv",
                 "id,email,phone,note\r\n"
                 "1,ann@example.com,415-555-0132,call me at 415-555-0132\r\n"
                 "2,bob@example.org,(212) 555-0199,nothing here\r\n");
    nodes = json_pack(
        "[o, o, o, o]",
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "contacts.csv")),
        it_node("hash", "transformer", "pii_mask",
                json_pack("{s:b, s:s}", "detect", 1, "method", "hash")),
        it_node(
            "spans", "transformer", "pii_mask",
            json_pack("{s:[s], s:s}", "columns", "note", "scope", "entities")),
        it_node(
            "out", "loader", "postgres",
            json_pack("{s:s, s:s}", "schema", "bronze", "table", "contacts")));
    ck_assert_msg(it_run_chain(&c, token, nodes, &r), "%s", r.body);
    it_resp_free(&r);

    snprintf(table, sizeof(table), "t_%s_bronze.contacts", org);
    snprintf(sql, sizeof(sql), "SELECT note FROM %s WHERE id = '1'", table);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "call me at ***-***-****");
    free(v);
    snprintf(sql, sizeof(sql), "SELECT note FROM %s WHERE id = '2'", table);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "nothing here");
    free(v);
    snprintf(sql, sizeof(sql),
             "SELECT length(phone) || ' ' || (email ~ '^[0-9a-f]{64}$') "
             "FROM %s WHERE id = '2'",
             table);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "64 true");
    free(v);

    /* The API's hash of the same value is the same token. */
    it_call(&c, "POST", "/api/v1/pii/anonymize", token,
            json_pack("{s:s, s:{s:s}}", "text", "ann@example.com",
                      "anonymization_strategy", "DEFAULT", "hash"),
            &r);
    it_assert_status(&r, 200);
    snprintf(sql, sizeof(sql), "SELECT email FROM %s WHERE id = '1'", table);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, it_str(&r, "anonymized_text"));
    free(v);
    it_resp_free(&r);
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(postgres_cleaner_filter_postgres)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, *conn, *v, src[96], table[1024];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    conn = it_wh_connector(&c, token);
    snprintf(src, sizeof(src), "public.src_%s", org);
    snprintf(table, sizeof(table),
             "CREATE TABLE %s (id int, email text, amount numeric, "
             "status text)",
             src);
    free(it_wh(table, NULL));
    snprintf(table, sizeof(table),
             "INSERT INTO %s VALUES "
             "(1, ' a@x.io ', 50, 'paid'), (1, ' a@x.io ', 50, 'paid'), "
             "(2, NULL, 70, 'paid'), (3, 'c@x.io', 5, 'paid'), "
             "(4, 'd@x.io', 90, 'void'), (5, 'e@x.io', 20.5, 'open'), "
             "(6, 'f@x.io', 11, 'paid')",
             src);
    free(it_wh(table, NULL));
    snprintf(table, sizeof(table), "SELECT * FROM %s WHERE amount >= :floor",
             src);
    nodes = json_pack(
        "[o, o, o, o]",
        it_node("src", "extractor", "postgres",
                json_pack("{s:s, s:s, s:{s:i}}", "connection_id", conn, "query",
                          table, "params", "floor", 1)),
        it_node("clean", "transformer", "cleaner",
                json_pack("{s:b, s:b, s:[s]}", "remove_duplicates", 1, "trim",
                          1, "drop_nulls", "email")),
        it_node("keep", "transformer", "filter",
                json_pack("{s:s}", "expression",
                          "amount > 10 and not (status = 'void')")),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s, s:s, s:[s]}", "schema", "silver", "table",
                          "payments", "mode", "upsert", "key_columns", "id")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "completed|failed", 30, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    ck_assert_int_eq(it_int(&r, "steps.1.rows_filtered"), 2);
    ck_assert_int_eq(it_int(&r, "steps.2.rows_filtered"), 2);
    ck_assert_int_eq(it_int(&r, "records_processed"), 3);
    it_resp_free(&r);
    snprintf(table, sizeof(table), "t_%s_silver.payments", org);
    v = rows_of(table, "id, email, amount, status");
    ck_assert_str_eq(v, "1|a@x.io|50|paid;5|e@x.io|20.5|open;6|f@x.io|11|paid");
    free(v);
    /* The source's types came along: amount is numeric in the target. */
    snprintf(table, sizeof(table),
             "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
             "WHERE attrelid = 't_%s_silver.payments'::regclass "
             "AND attname = 'amount'",
             org);
    v = it_wh(table, NULL);
    ck_assert_str_eq(v, "numeric");
    free(v);
    free(run);
    free(pid);
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(failing_quality_gate_loads_nothing)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, *v, sql[256];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "q.csv", "id,email\n1,a@x.io\n2,\n3,c@x.io\n4,\n");
    nodes = json_pack(
        "[o, o, o]",
        it_node("in", "extractor", "csv", json_pack("{s:s}", "path", "q.csv")),
        it_node("gate", "quality", "quality_gate",
                json_pack("{s:[{s:s, s:s, s:f}, {s:s, s:s}]}", "rules", "type",
                          "not_null", "column", "email", "threshold", 0.9,
                          "type", "unique", "column", "id")),
        it_node("out", "loader", "postgres", json_pack("{s:s}", "table", "q")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "completed|failed", 30, &r);
    ck_assert_str_eq(it_str(&r, "status"), "failed");
    ck_assert_msg(strstr(it_str(&r, "error_message"), "QUALITY_CHECK_FAILED") !=
                      NULL,
                  "%s", r.body);
    ck_assert(
        json_is_false(it_at(&r, "result_data.nodes.gate.quality.passed")));
    ck_assert(json_real_value(it_at(
                  &r, "result_data.nodes.gate.quality.rules.0.score")) == 0.5);
    ck_assert(json_is_true(
        it_at(&r, "result_data.nodes.gate.quality.rules.1.passed")));
    it_resp_free(&r);
    snprintf(sql, sizeof(sql), "SELECT to_regclass('t_%s_bronze.q') IS NULL",
             org);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "t");
    free(v);
    free(run);
    free(pid);
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(cancel_mid_run_leaves_nothing)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, *conn, *v, path[256];
    json_t *nodes;
    double t0;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    conn = it_wh_connector(&c, token);
    nodes = json_pack("[o, o]", it_slow_source(conn, 60),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s}", "table", "half")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "running", 20, &r);
    it_resp_free(&r);
    it_await_loading(20);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel", run);
    t0 = it_now();
    it_call(&c, "POST", path, token, json_object(), &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_await_run(&c, token, run, "cancelled|failed|completed", 10, &r);
    ck_assert_str_eq(it_str(&r, "status"), "cancelled");
    ck_assert_ptr_nonnull(it_str(&r, "cancelled_at"));
    ck_assert_msg(it_now() - t0 < 2.0, "the run took %.2f s to stop",
                  it_now() - t0);
    it_resp_free(&r);
    snprintf(path, sizeof(path),
             "SELECT to_regclass('t_%s_bronze.half') IS NULL", org);
    v = it_wh(path, NULL);
    ck_assert_str_eq(v, "t");
    free(v);
    free(run);
    free(pid);
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(runner_killed_mid_run)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, *conn, *v, sql[256];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    conn = it_wh_connector(&c, token);
    nodes = json_pack("[o, o]", it_slow_source(conn, 4),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s}", "table", "survivor")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_loading(20);
    ck_assert_int_eq(it_sh("kill -KILL $(cat '%s/run/runner.pid')",
                           it_env("SLUICE_TEST_VAR")),
                     0);
    ck_assert_int_eq(it_sh("%s start runner >/dev/null 2>&1",
                           it_env("SLUICE_TEST_STACKCTL")),
                     0);
    /* Taken up again by the new runner (or failed): never left running. */
    it_await_run(&c, token, run, "completed|failed", 60, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) || '/' || count(DISTINCT id) FROM "
             "t_%s_bronze.survivor",
             org);
    /* Completed is written a moment before the loads are settled (see
     * organisations_keep_to_their_own): wait, within 10 s, for the
     * loader's table, made and filled in the load's one transaction. */
    {
        char probe[160];

        snprintf(probe, sizeof(probe),
                 "SELECT to_regclass('t_%s_bronze.survivor') IS NOT NULL",
                 org);
        for (double end = it_now() + 10;;) {
            v = it_wh(probe, NULL);
            if (strcmp(v, "t") == 0 || it_now() >= end)
                break;
            free(v);
            usleep(20 * 1000);
        }
        free(v);
    }
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "30000/30000");
    free(v);
    free(run);
    free(pid);
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(organisations_keep_to_their_own)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *org_b, *user_b, *token_b, *pid, *run, *conn_b;
    char path[256];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    token_b = it_new_org(&c, &user_b, &org_b);
    it_scale_up(org);
    conn_b = it_wh_connector(&c, token_b);
    /* A's pipeline names B's connector: the runner does not find it. */
    nodes = json_pack(
        "[o, o]",
        it_node("src", "extractor", "postgres",
                json_pack("{s:s, s:s}", "connection_id", conn_b, "query",
                          "SELECT 1 AS x")),
        it_node("out", "loader", "postgres", json_pack("{s:s}", "table", "x")));
    it_call(&c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:o, s:o}", "name", it_unique(), "nodes", nodes,
                      "edges", it_chain(nodes)),
            &r);
    /* The API already refuses it; the runner would too. */
    ck_assert_int_eq(r.status, 422);
    it_resp_free(&r);
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "jsonl",
                              json_pack("{s:s}", "path", "x.jsonl")),
                      it_node("out", "loader", "jsonl",
                              json_pack("{s:s}", "path", "y.jsonl")));
    it_data_file(org, "x.jsonl", "{\"a\": 1, \"b\": \"two\"}\n{\"a\": null}\n");
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "completed|failed", 30, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    {
        /* What the jsonl loader wrote: every row, the values as text. */
        char file[1024], got[256] = "";
        FILE *f;
        size_t n;

        snprintf(file, sizeof(file), "%s/%s/y.jsonl",
                 it_env("SLUICE_TEST_DATA_DIR"), org);
        /* A run is marked completed in its decision, a moment before its
         * loads are settled (the file renamed into place): a known gap,
         * see the closing note of stop 16. Wait for it, within 10 s. */
        for (double end = it_now() + 10;
             (f = fopen(file, "r")) == NULL && it_now() < end;)
            usleep(20 * 1000);
        ck_assert_ptr_nonnull(f);
        n = fread(got, 1, sizeof(got) - 1, f);
        fclose(f);
        got[n] = '\0';
        ck_assert_str_eq(got, "{\"a\":\"1\",\"b\":\"two\"}\n"
                              "{\"a\":null,\"b\":null}\n");
    }
    /* B can neither read A's run nor start A's pipeline. */
    snprintf(path, sizeof(path), "/api/v1/executions/%s", run);
    it_get(&c, path, token_b, &r);
    ck_assert_int_eq(r.status, 404);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    it_call(&c, "POST", path, token_b, json_object(), &r);
    ck_assert_int_eq(r.status, 404);
    it_resp_free(&r);
    /* B's pipeline reading "x.jsonl" reads B's directory, not A's. */
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "jsonl",
                              json_pack("{s:s}", "path", "x.jsonl")),
                      it_node("out", "loader", "jsonl",
                              json_pack("{s:s}", "path", "z.jsonl")));
    free(pid);
    free(run);
    it_scale_up(org_b);
    it_run_chain_fails(&c, token_b, nodes, "FILE_NOT_FOUND");
    free(conn_b);
    free(token);
    free(user);
    free(org);
    free(token_b);
    free(user_b);
    free(org_b);
}
END_TEST

START_TEST(sql_in_the_organisations_warehouse)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *org_b, *user_b, *token_b, *v;
    char sql[512];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    token_b = it_new_org(&c, &user_b, &org_b);
    it_scale_up(org);
    it_scale_up(org_b);
    /* A table of A's silver layer, there before A's role is. */
    snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS t_%s_silver", org);
    free(it_wh(sql, NULL));
    snprintf(sql, sizeof(sql),
             "CREATE TABLE t_%s_silver.regions AS SELECT * FROM (VALUES "
             "('eu', 'Europe'), ('us', 'Americas')) v (code, name)",
             org);
    free(it_wh(sql, NULL));
    it_data_file(org, "sales.csv",
                 "id,region,amount\n1,eu,10.50\n2,us,3\n3,eu,4.50\n4,us,20\n"
                 "5,xx,100\n6,eu,5\n");

    /* csv -> sql (input joined with the layer, a bound :min) -> gold. */
    nodes = json_pack(
        "[o, o, o]",
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "sales.csv")),
        it_node("agg", "transformer", "sql",
                json_pack("{s:s, s:{s:i}}", "query",
                          "SELECT s.region, r.name, sum(s.amount::numeric) AS "
                          "total, count(*) AS n FROM input s JOIN regions r ON "
                          "r.code = s.region WHERE s.amount::numeric >= :min "
                          "GROUP BY 1, 2",
                          "params", "min", 5)),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "schema", "gold", "table", "totals")));
    ck_assert_msg(it_run_chain(&c, token, nodes, &r), "%s", r.body);
    ck_assert_int_eq(it_int(&r, "steps.1.rows_input"), 6);
    ck_assert_int_eq(it_int(&r, "steps.1.rows_output"), 2);
    it_resp_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(concat_ws('|', region, name, total, n), ';' "
             "ORDER BY region) || ' ' || (SELECT format_type(atttypid, "
             "atttypmod) FROM pg_attribute WHERE attrelid = "
             "'t_%s_gold.totals'::regclass AND attname = 'total') "
             "FROM t_%s_gold.totals",
             org, org);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "eu|Europe|15.50|2;us|Americas|20|1 numeric");
    free(v);

    /* A warehouse query reads a table made after the role (totals), by
     * its name alone: the layers are the role's search path. */
    nodes = json_pack(
        "[o, o]",
        it_node("in", "extractor", "postgres",
                json_pack("{s:s, s:{s:i}}", "query",
                          "SELECT region, total FROM totals WHERE n >= :n",
                          "params", "n", 2)),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "schema", "bronze", "table", "big")));
    ck_assert_msg(it_run_chain(&c, token, nodes, &r), "%s", r.body);
    it_resp_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(region || '=' || total, ',') FROM "
             "t_%s_bronze.big",
             org);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "eu=15.50");
    free(v);

    /* The query can write nothing, not even its organisation's tables. */
    nodes = json_pack(
        "[o, o, o]",
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "sales.csv")),
        it_node("del", "transformer", "sql",
                json_pack("{s:s}", "query",
                          "WITH d AS (DELETE FROM totals RETURNING *) "
                          "SELECT * FROM d")),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "schema", "bronze", "table", "gone")));
    it_run_chain_fails(&c, token, nodes, "read-only");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM t_%s_gold.totals", org);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "2");
    free(v);

    /* B's SQL, in a transform and in an extractor, cannot read A's. */
    it_data_file(org_b, "sales.csv", "id\n1\n");
    snprintf(sql, sizeof(sql), "SELECT * FROM t_%s_gold.totals", org);
    nodes = json_pack(
        "[o, o, o]",
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "sales.csv")),
        it_node("peek", "transformer", "sql", json_pack("{s:s}", "query", sql)),
        it_node(
            "out", "loader", "postgres",
            json_pack("{s:s, s:s}", "schema", "bronze", "table", "stolen")));
    it_run_chain_fails(&c, token_b, nodes, "permission denied");
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "postgres",
                              json_pack("{s:s}", "query", sql)),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s, s:s}", "schema", "bronze",
                                        "table", "stolen")));
    it_run_chain_fails(&c, token_b, nodes, "permission denied");
    snprintf(sql, sizeof(sql), "SELECT to_regclass('t_%s_bronze.stolen')",
             org_b);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "");
    free(v);
    free(token);
    free(user);
    free(org);
    free(token_b);
    free(user_b);
    free(org_b);
}
END_TEST

/*
 * NATS acknowledges a request, then loses it (a crash before its fsync):
 * the outbox says sent, the queue holds nothing. The runner notices the
 * run left pending, requests it again, and the run happens, once.
 */
START_TEST(lost_request_is_reconciled)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, *v, table[160], err[256];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "lost.csv", "id,v\n1,a\n2,b\n3,c\n");
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "csv",
                              json_pack("{s:s}", "path", "lost.csv")),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s, s:s, s:s}", "schema", "bronze",
                                        "table", "lost", "mode", "append")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    /* With NATS down the request stays in the outbox; marking it sent
     * makes it one NATS took and lost. */
    it_stack("stop", "nats");
    run = it_execute(&c, token, pid);
    v = it_sql("SLUICE_TEST_OWNER_DB_URL",
               "UPDATE outbox SET sent_at = now() - interval '1 minute' "
               "WHERE payload->>'run_id' = $1 AND sent_at IS NULL "
               "RETURNING id",
               run, NULL, NULL, err, sizeof(err));
    ck_assert_msg(v != NULL && *v != '\0', "no unsent request: %s", err);
    free(v);
    it_stack("start", "nats");
    it_await_run(&c, token, run, "completed|failed", 60, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    snprintf(table, sizeof(table), "t_%s_bronze.lost", org);
    v = rows_of(table, "id, v");
    ck_assert_str_eq(v, "1|a;2|b;3|c");
    free(v);
    /* One run, requested twice: the lost request and the reconciled one. */
    v = it_sql("SLUICE_TEST_OWNER_DB_URL",
               "SELECT (SELECT count(*) FROM runs WHERE pipeline_id = $1) || "
               "' ' || (SELECT count(*) FROM outbox WHERE payload->>'run_id' "
               "= $2 AND subject = 'sluice.run.request')",
               pid, run, NULL, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s", err);
    ck_assert_str_eq(v, "1 2");
    free(v);
    free(run);
    free(pid);
    free(token);
    free(user);
    free(org);
}
END_TEST

static Suite *
etl_suite(void)
{
    Suite *s = suite_create("it_etl");
    TCase *tc = tcase_create("etl");

    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, csv_to_postgres);
    tcase_add_test(tc, csv_pii_mask_postgres);
    tcase_add_test(tc, postgres_cleaner_filter_postgres);
    tcase_add_test(tc, failing_quality_gate_loads_nothing);
    tcase_add_test(tc, cancel_mid_run_leaves_nothing);
    tcase_add_test(tc, organisations_keep_to_their_own);
    tcase_add_test(tc, runner_killed_mid_run);
    tcase_add_test(tc, sql_in_the_organisations_warehouse);
    tcase_add_test(tc, lost_request_is_reconciled);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(etl_suite)
