/*
 * it_runlogs.c: reading what a run wrote (its log) and what its nodes
 * used (its metrics), as seed 004 shows them: filters, pagination, the
 * figures computed from run_steps, roles, one organisation never
 * reading another's, and the application role (the runner's) writing a
 * log only in the run's own organisation.
 *
 * The runs here are written straight into the database with the owner
 * role, finished, with no request in the outbox: no runner ever takes
 * them up, so their log and steps are exactly what the test wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "unit.h"

/* Runs sql as the owner with up to 3 parameters; returns its first
 * value (malloc'd). Fails the test when the statement fails. */
static char *
owner(const char *sql, const char *p1, const char *p2, const char *p3)
{
    char err[256] = "";
    char *v =
        it_sql("SLUICE_TEST_OWNER_DB_URL", sql, p1, p2, p3, err, sizeof(err));

    ck_assert_msg(v != NULL, "%s: %s", sql, err);
    return v;
}

/*
 * A run of a new pipeline of org (token its admin's), with status, that
 * took ten seconds when finished; returns its id.
 */
static char *
new_run(struct it_client *c, const char *token, const char *org,
        const char *status)
{
    struct it_resp r;
    char slug[64], *id;

    snprintf(slug, sizeof(slug), "logged_%s", it_unique());
    it_call(c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:s, s:o}", "name", "Logged", "slug", slug,
                      "config", it_graph()),
            &r);
    it_assert_status(&r, 201);
    id = owner("INSERT INTO runs (id, tenant_id, pipeline_id, "
               "pipeline_version, status, started_at, completed_at) "
               "SELECT gen_random_uuid(), $1, p.id, p.version, $3::text, "
               "CASE WHEN $3::text <> 'pending' "
               "THEN now() - interval '10 s' END, "
               "CASE WHEN $3::text <> 'pending' THEN now() END "
               "FROM pipelines p WHERE p.id = $2::uuid RETURNING id",
               org, it_str(&r, "id"), status);
    it_resp_free(&r);
    return id;
}

/* An organisation, its admin's token, and a run of a pipeline of it. */
struct org_run {
    struct it_client c;
    char *admin, *org, *token, *run;
};

static void
org_run_init(struct org_run *f, const char *status)
{
    it_client_init(&f->c);
    f->token = it_new_org(&f->c, &f->admin, &f->org);
    f->run = new_run(&f->c, f->token, f->org, status);
}

static void
org_run_free(struct org_run *f)
{
    free(f->run);
    free(f->token);
    free(f->admin);
    free(f->org);
}

/* GET /api/v1/executions/{run}/{what}{query} with token. */
static void
get_run(struct it_client *c, const char *token, const char *run,
        const char *what, const char *query, struct it_resp *r)
{
    char path[256];

    snprintf(path, sizeof(path), "/api/v1/executions/%s/%s%s", run, what,
             query);
    it_get(c, path, token, r);
}

/* Asserts the log answer's total and its messages: exactly messages (a
 * list ending in NULL), in order. */
static void
expect_logs(struct it_client *c, const char *token, const char *run,
            const char *query, long long total, const char *const *messages)
{
    struct it_resp r;
    char at[48];
    size_t n = 0;

    get_run(c, token, run, "logs", query, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), total);
    for (; messages[n] != NULL; n++) {
        snprintf(at, sizeof(at), "logs.%zu.message", n);
        ck_assert_msg(
            it_str(&r, at) != NULL && strcmp(it_str(&r, at), messages[n]) == 0,
            "%s: want %s at %zu: %.600s", query, messages[n], n, r.body);
    }
    ck_assert_int_eq(json_array_size(it_at(&r, "logs")), n);
    it_resp_free(&r);
}

/* A number at a dotted path, or -1 when it is not one. */
static double
num(const struct it_resp *r, const char *dotted)
{
    json_t *j = it_at(r, dotted);

    return json_is_number(j) ? json_number_value(j) : -1;
}

START_TEST(a_runs_log_filtered_and_paged)
{
    static const char *const all[] = {"Extracted 15000 rows",
                                      "Batch 1 read",
                                      "Removed 150 duplicate rows",
                                      "Cleaned",
                                      "Load failed",
                                      "Run finished",
                                      NULL};
    static const char *const none[] = {NULL};
    struct org_run f;
    struct it_resp r;
    char *viewer, *quiet, path[256];
    const char *v;

    org_run_init(&f, "failed");
    free(owner("INSERT INTO run_logs (run_id, tenant_id, level, node_id, "
               "message, metadata) VALUES "
               "($1::uuid, $2, 'INFO', 'extract', 'Extracted 15000 rows', "
               "'{\"duration_ms\": 2350}'), "
               "($1::uuid, $2, 'DEBUG', 'extract', 'Batch 1 read', NULL), "
               "($1::uuid, $2, 'WARNING', 'clean', "
               "'Removed 150 duplicate rows', "
               "'{\"rows_before\": 15000, \"rows_after\": 14850}'), "
               "($1::uuid, $2, 'INFO', 'clean', 'Cleaned', NULL), "
               "($1::uuid, $2, 'ERROR', 'load', 'Load failed', "
               "'{\"sqlstate\": \"23505\"}'), "
               "($1::uuid, $2, 'INFO', NULL, 'Run finished', NULL)",
               f.run, f.org, NULL));

    /* Oldest first, with seed 004's fields. */
    expect_logs(&f.c, f.token, f.run, "", 6, all);
    get_run(&f.c, f.token, f.run, "logs", "", &r);
    v = it_str(&r, "logs.0.timestamp");
    ck_assert_msg(v != NULL && strlen(v) == 20 && v[19] == 'Z', "%s", r.body);
    ck_assert_str_eq(it_str(&r, "logs.0.level"), "INFO");
    ck_assert_str_eq(it_str(&r, "logs.0.node_id"), "extract");
    ck_assert_int_eq(it_int(&r, "logs.0.metadata.duration_ms"), 2350);
    ck_assert_int_eq(it_int(&r, "logs.2.metadata.rows_after"), 14850);
    ck_assert(json_is_null(it_at(&r, "logs.1.metadata")));
    ck_assert(json_is_null(it_at(&r, "logs.5.node_id")));
    ck_assert_str_eq(it_header(&r, "X-Total-Count"), "6");
    it_resp_free(&r);

    /* Levels in any case, WARN for WARNING; nodes; both. */
    expect_logs(&f.c, f.token, f.run, "?level=warning", 1,
                (const char *const[]){all[2], NULL});
    expect_logs(&f.c, f.token, f.run, "?level=WARN", 1,
                (const char *const[]){all[2], NULL});
    expect_logs(&f.c, f.token, f.run, "?level=Error", 1,
                (const char *const[]){all[4], NULL});
    expect_logs(&f.c, f.token, f.run, "?level=info", 3,
                (const char *const[]){all[0], all[3], all[5], NULL});
    expect_logs(&f.c, f.token, f.run, "?node_id=extract", 2,
                (const char *const[]){all[0], all[1], NULL});
    expect_logs(&f.c, f.token, f.run, "?node_id=extract&level=DEBUG", 1,
                (const char *const[]){all[1], NULL});
    expect_logs(&f.c, f.token, f.run, "?node_id=nowhere", 0, none);

    /* Every pagination style; past the end the total still stands. */
    expect_logs(&f.c, f.token, f.run, "?skip=2&limit=2", 6,
                (const char *const[]){all[2], all[3], NULL});
    expect_logs(&f.c, f.token, f.run, "?offset=4&limit=10", 6, all + 4);
    expect_logs(&f.c, f.token, f.run, "?level=info&limit=1&offset=1", 3,
                (const char *const[]){all[3], NULL});
    expect_logs(&f.c, f.token, f.run, "?skip=50", 6, none);
    get_run(&f.c, f.token, f.run, "logs", "?page=2&page_size=4", &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 6);
    ck_assert_int_eq(it_int(&r, "page"), 2);
    ck_assert_int_eq(it_int(&r, "total_pages"), 2);
    ck_assert_str_eq(it_str(&r, "logs.0.message"), all[4]);
    ck_assert_int_eq(json_array_size(it_at(&r, "logs")), 2);
    ck_assert_str_eq(it_header(&r, "X-Page"), "2");
    it_resp_free(&r);

    /* A level that is none is refused, naming the field. */
    get_run(&f.c, f.token, f.run, "logs", "?level=verbose", &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "level");
    it_resp_free(&r);
    get_run(&f.c, f.token, f.run, "logs", "?limit=0", &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);

    /* The other path; a viewer reads it too. */
    viewer = it_member(&f.c, f.token, "viewer");
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/logs?level=info",
             f.run);
    it_get(&f.c, path, viewer, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 3);
    it_resp_free(&r);

    /* A run that wrote nothing has an empty log, not a missing one. */
    quiet = new_run(&f.c, f.token, f.org, "pending");
    expect_logs(&f.c, f.token, quiet, "", 0, none);
    free(quiet);
    free(viewer);
    org_run_free(&f);
}
END_TEST

START_TEST(a_runs_metrics_per_node)
{
    struct org_run f;
    struct it_resp r;
    char *pending, path[256];

    org_run_init(&f, "failed");
    /* Written out of order: the answer follows position. extract: 2 s
     * of wall time, 0.5 s of CPU, 2048 kB; clean: 1.5 s, CPU unknown;
     * load: never finished. */
    free(owner("INSERT INTO run_steps (run_id, tenant_id, node_id, module, "
               "position, status, rows_input, rows_output, rows_filtered, "
               "memory_peak_kb, cpu_ms, started_at, completed_at) VALUES "
               "($1::uuid, $2, 'load', 'postgres', 2, 'failed', 14850, "
               "14800, 0, NULL, 100, '2026-01-09T16:40:03.5Z', NULL), "
               "($1::uuid, $2, 'extract', 'csv', 0, 'completed', 0, 15000, "
               "0, 2048, 500, '2026-01-09T16:40:00Z', "
               "'2026-01-09T16:40:02Z'), "
               "($1::uuid, $2, 'clean', 'cleaner', 1, 'completed', 15000, "
               "14850, 150, 1536, NULL, '2026-01-09T16:40:02Z', "
               "'2026-01-09T16:40:03.5Z')",
               f.run, f.org, NULL));

    get_run(&f.c, f.token, f.run, "metrics", "", &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "execution_id"), f.run);
    ck_assert_str_eq(it_str(&r, "status"), "failed");
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 3);
    ck_assert_str_eq(it_str(&r, "nodes.0.node_id"), "extract");
    ck_assert_str_eq(it_str(&r, "nodes.0.module"), "csv");
    ck_assert_str_eq(it_str(&r, "nodes.0.status"), "completed");
    ck_assert_int_eq(it_int(&r, "nodes.0.rows_input"), 0);
    ck_assert_int_eq(it_int(&r, "nodes.0.rows_output"), 15000);
    ck_assert_double_eq(num(&r, "nodes.0.duration_seconds"), 2.0);
    ck_assert_double_eq(num(&r, "nodes.0.memory_peak_mb"), 2.0);
    ck_assert_double_eq(num(&r, "nodes.0.cpu_percent"), 25.0);
    ck_assert_str_eq(it_str(&r, "nodes.1.node_id"), "clean");
    ck_assert_int_eq(it_int(&r, "nodes.1.rows_filtered"), 150);
    ck_assert_double_eq(num(&r, "nodes.1.duration_seconds"), 1.5);
    ck_assert_double_eq(num(&r, "nodes.1.memory_peak_mb"), 1.5);
    ck_assert(json_is_null(it_at(&r, "nodes.1.cpu_percent")));
    ck_assert_str_eq(it_str(&r, "nodes.2.node_id"), "load");
    ck_assert_str_eq(it_str(&r, "nodes.2.status"), "failed");
    ck_assert(json_is_null(it_at(&r, "nodes.2.duration_seconds")));
    ck_assert(json_is_null(it_at(&r, "nodes.2.memory_peak_mb")));
    ck_assert(json_is_null(it_at(&r, "nodes.2.cpu_percent")));
    ck_assert_int_eq(it_int(&r, "totals.rows_input"), 29850);
    ck_assert_int_eq(it_int(&r, "totals.rows_output"), 44650);
    ck_assert_double_eq(num(&r, "totals.duration_seconds"), 10.0);
    it_resp_free(&r);

    /* The other path; a run not started has no nodes yet. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/metrics", f.run);
    it_get(&f.c, path, f.token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "totals.rows_output"), 44650);
    it_resp_free(&r);
    pending = new_run(&f.c, f.token, f.org, "pending");
    get_run(&f.c, f.token, pending, "metrics", "", &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "pending");
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 0);
    ck_assert_int_eq(it_int(&r, "totals.rows_input"), 0);
    ck_assert(json_is_null(it_at(&r, "totals.duration_seconds")));
    it_resp_free(&r);
    free(pending);
    org_run_free(&f);
}
END_TEST

START_TEST(another_organisations_run_is_not_found)
{
    static const char *const what[] = {"logs", "metrics"};
    static const char *const runs[] = {
        NULL, /* org a's run */
        "not-a-uuid",
        "00000000-0000-4000-8000-000000000000",
    };
    struct org_run a;
    struct it_resp r;
    char *admin_b, *org_b, *token_b;

    org_run_init(&a, "completed");
    token_b = it_new_org(&a.c, &admin_b, &org_b);
    free(owner("INSERT INTO run_logs (run_id, tenant_id, level, message) "
               "VALUES ($1::uuid, $2, 'INFO', 'secret')",
               a.run, a.org, NULL));

    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 3; j++) {
            get_run(&a.c, token_b, runs[j] ? runs[j] : a.run, what[i], "", &r);
            it_assert_error(&r, 404, "RUN_NOT_FOUND");
            ck_assert_ptr_null(strstr(r.body, "secret"));
            it_resp_free(&r);
        }
        get_run(&a.c, a.token, a.run, what[i], "", &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
    }
    free(token_b);
    free(admin_b);
    free(org_b);
    org_run_free(&a);
}
END_TEST

/*
 * The runner's way in: the application role, in a transaction scoped to
 * the run's organisation, appends to its log; scoped to another, it
 * cannot.
 */
START_TEST(the_app_role_writes_only_its_tenants_log)
{
    static const char *const sql =
        "WITH t AS (SELECT set_config('app.tenant_id', $3, true)) "
        "INSERT INTO run_logs (run_id, tenant_id, level, message) "
        "SELECT $1::uuid, $2, 'INFO', 'From the runner' FROM t RETURNING id";
    struct org_run a;
    char *admin_b, *org_b, *token_b, *v, err[256] = "";

    org_run_init(&a, "running");
    token_b = it_new_org(&a.c, &admin_b, &org_b);
    v = it_sql("SLUICE_TEST_DB_URL", sql, a.run, a.org, a.org, err,
               sizeof(err));
    ck_assert_msg(v != NULL && *v != '\0', "%s", err);
    free(v);
    v = it_sql("SLUICE_TEST_DB_URL", sql, a.run, a.org, org_b, err,
               sizeof(err));
    ck_assert_msg(v == NULL && strstr(err, "row-level security") != NULL, "%s",
                  err);
    expect_logs(&a.c, a.token, a.run, "", 1,
                (const char *const[]){"From the runner", NULL});
    free(token_b);
    free(admin_b);
    free(org_b);
    org_run_free(&a);
}
END_TEST

static Suite *
runlogs_suite(void)
{
    Suite *s = suite_create("it_runlogs");
    TCase *tc = tcase_create("runlogs");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_runs_log_filtered_and_paged);
    tcase_add_test(tc, a_runs_metrics_per_node);
    tcase_add_test(tc, another_organisations_run_is_not_found);
    tcase_add_test(tc, the_app_role_writes_only_its_tenants_log);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(runlogs_suite)
