/*
 * it_schedules.c: the runner's clock. A pipeline's cron schedule and a
 * cron trigger, once due, start a run each within seconds, with nobody
 * calling POST /api/v1/scheduler/trigger, and move on to their next time;
 * a spent subscription spends the firing without a run; one whose next
 * time can never be computed is disabled with a reason the API shows, one
 * whose zone cannot be read for a while is not; with
 * two runners, only the one holding the scheduler's advisory lock fires,
 * and each firing still starts exactly one run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "clock.h"
#include "it.h"
#include "unit.h"

/* runner/scheduler.h's RUN_SCHED_LOCK_KEY, as docs/operator-guide.md
 * documents it. */
#define SCHED_LOCK_KEY "735324662"

/* How long the runner's clock may take to fire (it ticks every 2 s). */
#define FIRE_WITHIN_S 20

/* The runs of a pipeline, as "<by its schedule>/<by a trigger>/<other>". */
#define RUN_COUNTS                                                             \
    "SELECT count(*) FILTER (WHERE trigger_type = 'schedule') || '/' || "      \
    "count(*) FILTER (WHERE trigger_type = 'trigger') || '/' || "              \
    "count(*) FILTER (WHERE trigger_type NOT IN ('schedule', 'trigger')) "     \
    "FROM runs WHERE pipeline_id = $1::uuid"

/* Makes both items due a minute ago; asserts both moved. */
#define MAKE_DUE                                                               \
    "WITH a AS (UPDATE pipelines SET next_run_at = now() - "                   \
    "interval '1 minute' WHERE id = $1::uuid RETURNING 1), "                   \
    "b AS (UPDATE triggers SET next_run_at = now() - interval "                \
    "'1 minute' WHERE id = $2::uuid RETURNING 1) "                             \
    "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)"

/* Whether both items' next times are in the future again. */
#define BOTH_AHEAD                                                             \
    "SELECT (SELECT next_run_at > now() FROM pipelines WHERE id = $1::uuid) "  \
    "AND (SELECT next_run_at > now() FROM triggers WHERE id = $2::uuid)"

/*
 * A deployed pipeline scheduled daily at 02:00 in Paris, with a cron
 * trigger daily at 03:00 UTC (parameters {"from": "trigger"}): far from
 * now, so that only the test makes them due. Fills the trigger's id.
 */
static char *
scheduled_pipeline(struct it_client *c, const char *token, const char *slug,
                   char **tid)
{
    struct it_resp r;
    char path[200], *pid;

    it_call(c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:s, s:o, s:{s:i}}", "name", "Clocked", "slug",
                      slug, "config", it_graph(), "default_params", "a", 1),
            &r);
    it_assert_status(&r, 201);
    pid = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_call(c, "PATCH", path, token,
            json_pack("{s:{s:s, s:s}}", "schedule", "cron", "0 2 * * *",
                      "timezone", "Europe/Paris"),
            &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/deploy", pid);
    it_call(c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_call(c, "POST", "/api/v1/mvp/triggers/create", token,
            json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s}}", "name", "Nightly",
                      "pipeline_id", pid, "trigger_type", "cron", "config",
                      "cron_expression", "0 3 * * *", "parameters", "from",
                      "trigger"),
            &r);
    it_assert_status(&r, 201);
    *tid = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return pid;
}

START_TEST(the_runner_fires_what_is_due)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *tid, *n, path[200];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_scale_up(org);
    pid = scheduled_pipeline(&c, token, "clocked", &tid);
    n = it_owner_value(RUN_COUNTS, pid, NULL);
    ck_assert_str_eq(n, "0/0/0");
    free(n);

    /* Both due: the runner starts one run for each, on its own. */
    n = it_owner_value(MAKE_DUE, pid, tid);
    ck_assert_str_eq(n, "2");
    free(n);
    it_await_sql(RUN_COUNTS, pid, NULL, "1/1/0", FIRE_WITHIN_S);
    it_await_sql(BOTH_AHEAD, pid, tid, "t", FIRE_WITHIN_S);

    /* The runs, as the API shows them. */
    snprintf(path, sizeof(path),
             "/api/v1/pipelines/%s/runs?trigger_type=schedule", pid);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.trigger_by"), "scheduler");
    ck_assert_int_eq(it_int(&r, "items.0.input_params.a"), 1);
    it_resp_free(&r);
    snprintf(path, sizeof(path),
             "/api/v1/pipelines/%s/runs?trigger_type=trigger", pid);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.trigger_by"), tid);
    ck_assert_str_eq(it_str(&r, "items.0.input_params.from"), "trigger");
    it_resp_free(&r);

    /* next_run is the next 02:00 in Paris (00:00 or 01:00 UTC). */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_get(&c, path, token, &r);
    ck_assert_msg(strstr(it_str(&r, "next_run"), "T01:00:00Z") != NULL ||
                      strstr(it_str(&r, "next_run"), "T00:00:00Z") != NULL,
                  "%s", it_str(&r, "next_run"));
    it_resp_free(&r);
    n = it_owner_value(
        "SELECT rfc3339(next_run_at) FROM triggers WHERE id = $1::uuid", tid,
        NULL);
    ck_assert_msg(strstr(n, "T03:00:00Z") != NULL, "%s", n);
    free(n);

    /* The requests reached a runner: the runs were taken (this graph's
     * input file does not exist, so they fail), not left pending. */
    it_await_sql("SELECT count(*) FROM runs WHERE pipeline_id = $1::uuid "
                 "AND status = 'pending'",
                 pid, NULL, "0", 30);
    n = it_owner_value("SELECT count(*) FROM outbox WHERE sent_at IS NULL "
                       "AND payload->>'pipeline_id' = $1",
                       pid, NULL);
    ck_assert_str_eq(n, "0");
    free(n);

    free(tid);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(an_inactive_subscription_spends_the_firing)
{
    struct it_client c;
    char *admin, *org, *token, *pid, *tid, *n;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    pid = scheduled_pipeline(&c, token, "suspended_clock", &tid);
    it_owner_sql("UPDATE tenant_subscriptions SET status = 'suspended' "
                 "WHERE tenant_id = $1",
                 org);
    n = it_owner_value(MAKE_DUE, pid, tid);
    ck_assert_str_eq(n, "2");
    free(n);
    /* Both firings pass (next_run_at moves on), and no run starts. */
    it_await_sql(BOTH_AHEAD, pid, tid, "t", FIRE_WITHIN_S);
    n = it_owner_value(RUN_COUNTS, pid, NULL);
    ck_assert_str_eq(n, "0/0/0");
    free(n);
    free(tid);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* Whether the pipeline's schedule and the trigger are enabled. */
#define BOTH_ENABLED                                                           \
    "SELECT (SELECT schedule_enabled FROM pipelines WHERE id = $1::uuid) "     \
    "|| '/' || (SELECT enabled FROM triggers WHERE id = $2::uuid)"

/*
 * A schedule whose expression no longer parses and a trigger whose zone
 * no longer exists (written around the API's checks, as a change of
 * tzdata or of the cron parser could leave them) are disabled, each with
 * its reason, which the API shows; they start no run and are due no
 * more. A valid schedule, enabled again, forgets the reason.
 */
START_TEST(what_cannot_be_computed_is_disabled)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *tid, *n, path[200];
    const char *why;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_scale_up(org);
    pid = scheduled_pipeline(&c, token, "broken_clock", &tid);
    it_owner_sql("UPDATE pipelines SET schedule_cron = '61 * * * *', "
                 "next_run_at = now() - interval '1 minute' "
                 "WHERE id = $1::uuid",
                 pid);
    it_owner_sql("UPDATE triggers SET timezone = 'Mars/Olympus_Mons', "
                 "next_run_at = now() - interval '1 minute' "
                 "WHERE id = $1::uuid",
                 tid);
    it_await_sql(BOTH_ENABLED, pid, tid, "false/false", FIRE_WITHIN_S);
    n = it_owner_value(RUN_COUNTS, pid, NULL);
    ck_assert_str_eq(n, "0/0/0");
    free(n);
    n = it_owner_value("SELECT count(*) FROM scheduler_due(1000) "
                       "WHERE id IN ($1::uuid, $2::uuid)",
                       pid, tid);
    ck_assert_str_eq(n, "0");
    free(n);

    /* The API says so, and why. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_false(it_at(&r, "schedule_config.enabled")));
    ck_assert(json_is_false(it_at(&r, "is_scheduled")));
    ck_assert(json_is_null(it_at(&r, "next_run")));
    why = it_str(&r, "schedule_config.disabled_reason");
    ck_assert_msg(why != NULL && strstr(why, "61 * * * *") != NULL &&
                      strstr(why, "not valid") != NULL,
                  "%s", r.body);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/mvp/triggers?pipeline_id=%s", pid);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "items.0.status"), "disabled");
    ck_assert(json_is_false(it_at(&r, "items.0.enabled")));
    why = it_str(&r, "items.0.disabled_reason");
    ck_assert_msg(why != NULL && strstr(why, "Mars/Olympus_Mons") != NULL, "%s",
                  r.body);
    it_resp_free(&r);

    /* Mended and turned on again: the reason is gone. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_call(&c, "PATCH", path, token,
            json_pack("{s:{s:s, s:s, s:b}}", "schedule", "cron", "0 2 * * *",
                      "timezone", "Europe/Paris", "enabled", 1),
            &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_true(it_at(&r, "schedule_config.enabled")));
    ck_assert(json_is_null(it_at(&r, "schedule_config.disabled_reason")));
    ck_assert_ptr_nonnull(it_str(&r, "next_run"));
    it_resp_free(&r);

    free(tid);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/*
 * While the zone database cannot be read (TZDIR names no directory, as a
 * missing or half-installed tzdata would leave it), the schedule in Paris
 * is not disabled: it stays enabled and due, and fires once the zones can
 * be read again. The trigger, in UTC (which needs no file), fires
 * meanwhile: the runner was scheduling.
 */
START_TEST(a_zone_unreadable_for_now_disables_nothing)
{
    struct it_client c;
    char *admin, *org, *token, *pid, *tid, *n;
    pid_t runner2;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_scale_up(org);
    pid = scheduled_pipeline(&c, token, "unread_zone", &tid);
    it_stack("stop", "runner");
    ck_assert_int_eq(setenv("TZDIR", "/nonexistent/zoneinfo", 1), 0);
    runner2 = it_second_runner();
    ck_assert_int_eq(unsetenv("TZDIR"), 0);

    n = it_owner_value(MAKE_DUE, pid, tid);
    ck_assert_str_eq(n, "2");
    free(n);
    it_await_sql(RUN_COUNTS, pid, NULL, "0/1/0", FIRE_WITHIN_S);
    /* Two ticks more: the schedule is still enabled, and still due. */
    usleep(4500 * 1000);
    n = it_owner_value("SELECT schedule_enabled || '/' || "
                       "(schedule_disabled_reason IS NULL) || '/' || "
                       "(next_run_at < now()) FROM pipelines "
                       "WHERE id = $1::uuid",
                       pid, NULL);
    ck_assert_str_eq(n, "true/true/true");
    free(n);
    n = it_owner_value(RUN_COUNTS, pid, NULL);
    ck_assert_str_eq(n, "0/1/0");
    free(n);

    /* The zones readable again, it fires. */
    kill(runner2, SIGTERM);
    ck_assert_int_eq(waitpid(runner2, NULL, 0), runner2);
    it_stack("start", "runner");
    it_await_sql(RUN_COUNTS, pid, NULL, "1/1/0", FIRE_WITHIN_S);
    it_await_sql(BOTH_AHEAD, pid, tid, "t", FIRE_WITHIN_S);
    free(tid);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(two_runners_fire_each_item_once)
{
    struct it_client c;
    char *admin, *org, *token, *pid, *tid, *n;
    PGconn *holder;
    PGresult *res;
    pid_t runner2;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_scale_up(org);
    pid = scheduled_pipeline(&c, token, "two_clocks", &tid);
    runner2 = it_second_runner();

    /* While someone else holds the scheduler's lock, neither runner fires
     * (waiting three ticks: what did not happen takes time to see). */
    holder = PQconnectdb(it_env("SLUICE_TEST_OWNER_DB_URL"));
    ck_assert_msg(PQstatus(holder) == CONNECTION_OK, "%s",
                  PQerrorMessage(holder));
    res = PQexec(holder, "SELECT pg_advisory_lock(" SCHED_LOCK_KEY ")");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    n = it_owner_value(MAKE_DUE, pid, tid);
    ck_assert_str_eq(n, "2");
    free(n);
    usleep(6500 * 1000);
    n = it_owner_value(RUN_COUNTS, pid, NULL);
    ck_assert_str_eq(n, "0/0/0");
    free(n);

    /* Released: one of the runners fires each item, once. */
    res = PQexec(holder, "SELECT pg_advisory_unlock(" SCHED_LOCK_KEY ")");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    PQfinish(holder);
    it_await_sql(RUN_COUNTS, pid, NULL, "1/1/0", FIRE_WITHIN_S);
    it_await_sql(BOTH_AHEAD, pid, tid, "t", FIRE_WITHIN_S);
    /* Both runners tick at least twice more: still one run each. */
    usleep(4500 * 1000);
    n = it_owner_value(RUN_COUNTS, pid, NULL);
    ck_assert_str_eq(n, "1/1/0");
    free(n);

    kill(runner2, SIGTERM);
    ck_assert_int_eq(waitpid(runner2, NULL, 0), runner2);
    free(tid);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

static Suite *
schedules_suite(void)
{
    Suite *s = suite_create("it_schedules");
    TCase *tc = tcase_create("schedules");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, the_runner_fires_what_is_due);
    tcase_add_test(tc, an_inactive_subscription_spends_the_firing);
    tcase_add_test(tc, what_cannot_be_computed_is_disabled);
    tcase_add_test(tc, a_zone_unreadable_for_now_disables_nothing);
    tcase_add_test(tc, two_runners_fire_each_item_once);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(schedules_suite)
