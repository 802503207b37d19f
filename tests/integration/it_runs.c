/*
 * it_runs.c: starting runs at every documented path, reading them at
 * every documented path, Idempotency-Key, cancel and retry, the outbox
 * (published when NATS is up, kept for the relay when it is down), roles,
 * and one organisation never seeing another's runs.
 *
 * Where a test looks at runs still pending it stops the runner first;
 * runs executed for real are it_etl's and it_events' to check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

/* A pipeline with default_params {a: 1, b: 2}; returns its id. */
static char *
make_pipeline(struct it_client *c, const char *token, const char *slug)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:s, s:o, s:{s:i, s:i}}", "name", "Runnable",
                      "slug", slug, "config", it_graph(), "default_params", "a",
                      1, "b", 2),
            &r);
    it_assert_status(&r, 201);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* Starts a run with a POST; asserts 202; returns the run id. */
static char *
start(struct it_client *c, const char *token, const char *path, json_t *body,
      const char *idem)
{
    struct it_resp r;
    char hdr[512], *id;

    if (idem != NULL) {
        char *text = body ? json_dumps(body, JSON_COMPACT) : strdup("{}");

        snprintf(hdr, sizeof(hdr),
                 "Authorization: Bearer %s\r\nIdempotency-Key: %s\r\n", token,
                 idem);
        it_request(c, "POST", path, hdr, "application/json", text, strlen(text),
                   &r);
        free(text);
        json_decref(body);
    } else {
        it_call(c, "POST", path, token, body, &r);
    }
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "status"), "pending");
    ck_assert_str_eq(it_str(&r, "run_id"), it_str(&r, "execution_id"));
    ck_assert_ptr_nonnull(it_str(&r, "started_at"));
    id = strdup(it_str(&r, "run_id"));
    it_resp_free(&r);
    return id;
}

static char *
unsent(const char *run_id)
{
    return it_sql("SLUICE_TEST_OWNER_DB_URL",
                  "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND "
                  "payload->>'run_id' = $1",
                  run_id, NULL, NULL, NULL, 0);
}

START_TEST(start_read_cancel_retry)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *r1, *r2, *r3, *r4, *r5, *again;
    char path[256], *n;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_scale_up(org);
    /* These are the API's answers about runs not yet taken: no runner. */
    it_stack("stop", "runner");
    pid = make_pipeline(&c, token, "nightly_load");

    /* Every documented path starts a run; parameters merge over the
     * pipeline's defaults, under each seed's name. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    r1 = start(&c, token, path, json_pack("{s:{s:i}}", "params", "b", 3), NULL);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/run", pid);
    r2 = start(&c, token, path,
               json_pack("{s:{s:s}}", "parameters", "start_date", "2025-10-01"),
               NULL);
    r3 = start(&c, token, "/api/v1/pipelines/execute",
               json_pack("{s:s, s:{s:s}}", "pipeline_id", "nightly_load",
                         "input_data", "source_table", "bronze.customers"),
               NULL);
    snprintf(path, sizeof(path), "/api/v1/mvp/triggers/manual/%s", pid);
    r4 = start(&c, token, path, NULL, NULL);
    snprintf(path, sizeof(path), "/api/v1/pipelines/run/%s/gcp/sales/%s", org,
             pid);
    r5 = start(&c, token, path, NULL, NULL);

    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s", r1);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "pipeline_id"), pid);
    ck_assert_int_eq(it_int(&r, "input_params.a"), 1);
    ck_assert_int_eq(it_int(&r, "input_params.b"), 3);
    ck_assert_str_eq(it_str(&r, "trigger_type"), "manual");
    ck_assert_int_eq(it_int(&r, "pipeline_version"), 1);
    ck_assert(json_is_array(it_at(&r, "steps")));
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/executions/%s", r3);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "input_params.source_table"),
                     "bronze.customers");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/nightly_load/executions/%s",
             r2);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "input_params.start_date"), "2025-10-01");
    it_resp_free(&r);

    /* Each request reached NATS: nothing is left for the relay. */
    n = unsent(r1);
    ck_assert_str_eq(n, "0");
    free(n);

    /* Lists, with seed 003's upper-case statuses. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/runs?limit=2", pid);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 5);
    ck_assert_str_eq(it_str(&r, "items.0.run_id"), r5);
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines/runs?status=PENDING&page=2&page_size=4",
           token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 5);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 1);
    it_resp_free(&r);
    it_get(&c, "/api/v1/executions?pipeline_id=nightly_load&status=COMPLETE",
           token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/executions?from_date=2999-01-01", token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/executions?status=sleeping", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);

    /* Cancel a pending run; only unfinished runs cancel, only finished
     * ones retry. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/retry", r2);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 409, "INVALID_STATE");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel", r1);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "cancelled");
    ck_assert_ptr_nonnull(it_str(&r, "cancelled_at"));
    it_resp_free(&r);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 409, "INVALID_STATE");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/retry", r1);
    again = start(&c, token, path, NULL, NULL);
    snprintf(path, sizeof(path), "/api/v1/executions/%s", again);
    it_get(&c, path, token, &r);
    ck_assert_str_eq(it_str(&r, "original_run_id"), r1);
    ck_assert_str_eq(it_str(&r, "trigger_type"), "retry");
    ck_assert_int_eq(it_int(&r, "input_params.b"), 3);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/executions/%s/cancel",
             pid, r3);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "cancelled");
    it_resp_free(&r);

    /* The pipeline shows its runs. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "last_execution.id"), again);
    ck_assert_str_eq(it_str(&r, "last_run.status"), "pending");
    ck_assert_uint_eq(json_array_size(it_at(&r, "recent_executions")), 5);
    ck_assert_int_eq(it_int(&r, "metrics.total_executions"), 6);
    ck_assert_int_eq(it_int(&r, "metrics.successful_executions"), 0);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/versions/1", pid);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_ptr_null(it_at(&r, "definition.last_execution"));
    ck_assert_ptr_null(it_at(&r, "definition.metrics"));
    it_resp_free(&r);

    free(again);
    free(r1);
    free(r2);
    free(r3);
    free(r4);
    free(r5);
    free(pid);
    free(token);
    free(admin);
    free(org);
    it_stack("start", "runner");
}
END_TEST

START_TEST(idempotency_nats_down_roles_and_tenants)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *a, *b, *d, *n, path[256];
    char *admin_b, *org_b, *token_b, *viewer;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    token_b = it_new_org(&c, &admin_b, &org_b);
    it_scale_up(org);
    /* With no runner, runs stay pending: a replay shows the run as it
     * was first answered. */
    it_stack("stop", "runner");
    pid = make_pipeline(&c, token, "keyed");
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    a = start(&c, token, path, NULL, "nightly-2026-11-23");
    b = start(&c, token, path, NULL, "nightly-2026-11-23");
    ck_assert_str_eq(a, b);
    d = start(&c, token, path, NULL, "nightly-2026-11-24");
    ck_assert_str_ne(a, d);
    {
        /* A key names one pipeline's run: not another's. */
        char *other = make_pipeline(&c, token, "other_keyed"), hdr[512];

        snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", other);
        snprintf(hdr, sizeof(hdr),
                 "Authorization: Bearer %s\r\nIdempotency-Key: "
                 "nightly-2026-11-23\r\n",
                 token);
        it_request(&c, "POST", path, hdr, "application/json", "{}", 2, &r);
        it_assert_error(&r, 422, "VALIDATION_ERROR");
        ck_assert_str_eq(it_str(&r, "error.details.field"), "Idempotency-Key");
        it_resp_free(&r);
        free(other);
        snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
        /* A key that is not UTF-8 text is named, not a 500. */
        snprintf(hdr, sizeof(hdr),
                 "Authorization: Bearer %s\r\nIdempotency-Key: \xff\xfe\r\n",
                 token);
        it_request(&c, "POST", path, hdr, "application/json", "{}", 2, &r);
        it_assert_error(&r, 422, "VALIDATION_ERROR");
        ck_assert_str_eq(it_str(&r, "error.details.field"), "Idempotency-Key");
        it_resp_free(&r);
    }
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/runs", pid);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 2);
    it_resp_free(&r);

    /* NATS down: the run still stands, its request kept for the relay
     * (in the runner). */
    it_stack("start", "runner");
    it_stack("stop", "nats");
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    free(d);
    d = start(&c, token, path, NULL, NULL);
    n = unsent(d);
    ck_assert_str_eq(n, "1");
    free(n);
    it_stack("start", "nats");
    /* NATS back: the runner's relay publishes what was left, within a
     * bound (its pass runs every 2 s, for rows older than 2 s). */
    for (int i = 0;; i++) {
        n = unsent(d);
        if (strcmp(n, "0") == 0) {
            free(n);
            break;
        }
        free(n);
        ck_assert_msg(i < 150, "the relay did not publish within 30 s");
        usleep(200 * 1000);
    }

    /* A viewer reads runs but starts none. */
    viewer = it_member(&c, token, "viewer");
    it_call(&c, "POST", path, viewer, NULL, &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/executions/%s", a);
    it_get(&c, path, viewer, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);

    /* Organisation B: A's runs and pipeline do not exist for it. */
    it_get(&c, path, token_b, &r);
    it_assert_error(&r, 404, "RUN_NOT_FOUND");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel", a);
    it_call(&c, "POST", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "RUN_NOT_FOUND");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    it_call(&c, "POST", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines/runs", token_b, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/run/%s/gcp/sales/%s", org,
             pid);
    it_call(&c, "POST", path, token_b, NULL, &r);
    ck_assert_int_eq(r.status, 403);
    it_resp_free(&r);
    /* Bad input is named. */
    it_call(&c, "POST", "/api/v1/pipelines/execute", token,
            json_pack("{s:{s:i}}", "params", "x", 1), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "pipeline_id");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    it_call(&c, "POST", path, token, json_pack("{s:s}", "params", "x"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "params");
    it_resp_free(&r);

    free(viewer);
    free(a);
    free(b);
    free(d);
    free(pid);
    free(token);
    free(admin);
    free(org);
    free(token_b);
    free(admin_b);
    free(org_b);
}
END_TEST

START_TEST(plan_quotas)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, path[256];

    it_client_init(&c);
    /* A registered organisation is on seed 003's STARTER plan: 6 runs a
     * day, 180 a month, 1 at once (pending or running). */
    token = it_new_org(&c, &admin, &org);
    pid = make_pipeline(&c, token, "quota_test");
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    /* With no runner, runs stay pending, and count as running. */
    it_stack("stop", "runner");
    free(start(&c, token, path, NULL, NULL));

    /* One not finished: a second at once is over the concurrent quota. */
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 429, "QUOTA_EXCEEDED");
    ck_assert_str_eq(it_str(&r, "error.details.quota_type"), "concurrent_runs");
    ck_assert_int_eq(it_int(&r, "error.details.current_usage"), 1);
    ck_assert_int_eq(it_int(&r, "error.details.limit"), 1);
    it_resp_free(&r);

    /* Five more, each finished before the next, make six today; the
     * seventh is refused until midnight. */
    for (int i = 0; i < 6; i++) {
        it_owner_sql("UPDATE runs SET status = 'completed', completed_at = "
                     "now() WHERE tenant_id = $1 AND status = 'pending'",
                     org);
        if (i < 5)
            free(start(&c, token, path, NULL, NULL));
    }
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 429, "QUOTA_EXCEEDED");
    ck_assert_str_eq(it_str(&r, "error.details.quota_type"), "daily_pipelines");
    ck_assert_int_eq(it_int(&r, "error.details.current_usage"), 6);
    ck_assert_int_eq(it_int(&r, "error.details.limit"), 6);
    ck_assert_ptr_nonnull(
        strstr(it_str(&r, "error.details.reset_at"), "T00:00:00Z"));
    ck_assert_ptr_nonnull(it_header(&r, "Retry-After"));
    it_resp_free(&r);
    /* The refused request started nothing. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/runs", pid);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 6);
    it_resp_free(&r);

    /* A suspended subscription starts nothing. */
    it_scale_up(org);
    it_owner_sql("UPDATE tenant_subscriptions SET status = 'suspended' "
                 "WHERE tenant_id = $1",
                 org);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 403, "SUBSCRIPTION_INACTIVE");
    it_resp_free(&r);
    it_stack("start", "runner");
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(triggers)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *admin_b, *org_b, *token_b, *pid, *tid;
    char path[200];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    token_b = it_new_org(&c, &admin_b, &org_b);
    pid = make_pipeline(&c, token, "triggered");
    it_call(&c, "POST", "/api/v1/mvp/triggers/create", token,
            json_pack("{s:s, s:s, s:s, s:{s:s}, s:b}", "name",
                      "Daily Sales Trigger", "pipeline_id", pid, "trigger_type",
                      "cron", "config", "cron_expression", "0 2 * * *",
                      "enabled", 1),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "status"), "active");
    ck_assert_str_eq(it_str(&r, "pipeline_id"), pid);
    ck_assert_ptr_nonnull(strstr(it_str(&r, "next_run"), "T02:00:00Z"));
    tid = strdup(it_str(&r, "trigger_id"));
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/mvp/triggers/create", token,
            json_pack("{s:s, s:s, s:s}", "name", "By hand", "pipeline_id",
                      "triggered", "trigger_type", "manual"),
            &r);
    it_assert_status(&r, 201);
    ck_assert(json_is_null(it_at(&r, "next_run")));
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/mvp/triggers/create", token,
            json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", "Bad",
                      "pipeline_id", pid, "trigger_type", "cron", "config",
                      "cron_expression", "0 25 * * *", "timezone", "UTC"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"),
                     "config.cron_expression");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/mvp/triggers/create", token_b,
            json_pack("{s:s, s:s, s:s}", "name", "Not mine", "pipeline_id", pid,
                      "trigger_type", "manual"),
            &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/mvp/triggers", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 2);
    it_resp_free(&r);
    it_get(&c, "/api/v1/mvp/triggers", token_b, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/mvp/triggers/%s", tid);
    it_call(&c, "DELETE", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "TRIGGER_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_error(&r, 404, "TRIGGER_NOT_FOUND");
    it_resp_free(&r);
    free(tid);
    free(pid);
    free(token);
    free(admin);
    free(org);
    free(token_b);
    free(admin_b);
    free(org_b);
}
END_TEST

/* POST /api/v1/scheduler/trigger with the admin key. */
static void
scheduler(struct it_client *c, struct it_resp *r)
{
    it_request(c, "POST", "/api/v1/scheduler/trigger", it_admin_header(), NULL,
               NULL, 0, r);
    it_assert_status(r, 200);
}

START_TEST(the_scheduler_starts_what_is_due)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *tid, path[200], *n;
    json_t *run;
    size_t i;
    int mine = 0;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_scale_up(org);
    /* The endpoint's own answers: the runner's clock (it_schedules) would
     * fire the items first. */
    it_stack("stop", "runner");
    pid = make_pipeline(&c, token, "scheduled");
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_call(&c, "PATCH", path, token,
            json_pack("{s:{s:s, s:s}}", "schedule", "cron", "0 2 * * *",
                      "timezone", "Europe/Paris"),
            &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/deploy", pid);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/mvp/triggers/create", token,
            json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s}}", "name", "Often",
                      "pipeline_id", pid, "trigger_type", "cron", "config",
                      "cron_expression", "*/5 * * * *", "parameters", "from",
                      "trigger"),
            &r);
    it_assert_status(&r, 201);
    tid = strdup(it_str(&r, "id"));
    it_resp_free(&r);

    /* Nothing of this organisation is due yet. */
    scheduler(&c, &r);
    json_array_foreach(it_at(&r, "runs"), i, run) ck_assert_str_ne(
        json_string_value(json_object_get(run, "tenant_id")), org);
    it_resp_free(&r);

    /* Both become due: each fires once, and moves on. */
    n = it_sql("SLUICE_TEST_OWNER_DB_URL",
               "WITH a AS (UPDATE pipelines SET next_run_at = now() - "
               "interval '1 minute' WHERE id = $1::uuid RETURNING 1), "
               "b AS (UPDATE triggers SET next_run_at = now() - interval "
               "'1 minute' WHERE id = $2::uuid RETURNING 1) "
               "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)",
               pid, tid, NULL, NULL, 0);
    ck_assert_str_eq(n, "2");
    free(n);
    scheduler(&c, &r);
    json_array_foreach(it_at(&r, "runs"), i, run)
    {
        if (strcmp(json_string_value(json_object_get(run, "tenant_id")), org))
            continue;
        mine++;
        ck_assert_str_eq(json_string_value(json_object_get(run, "pipeline_id")),
                         pid);
    }
    ck_assert_int_eq(mine, 2);
    it_resp_free(&r);
    scheduler(&c, &r);
    json_array_foreach(it_at(&r, "runs"), i, run) ck_assert_str_ne(
        json_string_value(json_object_get(run, "tenant_id")), org);
    it_resp_free(&r);

    snprintf(path, sizeof(path),
             "/api/v1/pipelines/%s/runs?trigger_type=schedule", pid);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.trigger_by"), "scheduler");
    it_resp_free(&r);
    snprintf(path, sizeof(path),
             "/api/v1/pipelines/%s/runs?trigger_type=trigger", pid);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.input_params.from"), "trigger");
    ck_assert_int_eq(it_int(&r, "items.0.input_params.a"), 1);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_get(&c, path, token, &r);
    /* 02:00 in Paris is 00:00 or 01:00 UTC. */
    ck_assert_msg(strstr(it_str(&r, "next_run"), "T01:00:00Z") != NULL ||
                      strstr(it_str(&r, "next_run"), "T00:00:00Z") != NULL,
                  "%s", it_str(&r, "next_run"));
    it_resp_free(&r);

    /* Without the admin key, nothing. */
    it_call(&c, "POST", "/api/v1/scheduler/trigger", token, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    it_resp_free(&r);
    it_stack("start", "runner");
    free(tid);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* POSTs body (text, may be NULL) to path with headers hdr. */
static void
post_with(struct it_client *c, const char *path, const char *hdr,
          const char *body, struct it_resp *r)
{
    it_request(c, "POST", path, hdr, "application/json", body ? body : "{}",
               body ? strlen(body) : 2, r);
}

/*
 * Seed 003's run: trigger_by is what the caller says (the body, else its
 * X-User-ID header), and the key that started the run is recorded apart.
 */
START_TEST(seed_003_trigger_by_is_the_callers)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *key, *key_id, *me, path[256];
    char hdr[1024], long_name[300], body[512];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_scale_up(org);
    pid = make_pipeline(&c, token, "cost_billing");
    snprintf(body, sizeof(body), "{\"tenant_id\":\"%s\"}", org);
    it_request(&c, "POST", "/api/v1/admin/api-keys", it_admin_header(),
               "application/json", body, strlen(body), &r);
    it_assert_status(&r, 200);
    key = strdup(it_str(&r, "api_key"));
    key_id = strdup(it_str(&r, "tenant_api_key_id"));
    it_resp_free(&r);
    it_get(&c, "/api/v1/auth/me", token, &r);
    me = strdup(it_str(&r, "id"));
    it_resp_free(&r);

    /* The seed's request: its header and body. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/run/%s/gcp/cost/%s", org,
             pid);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\nX-User-ID: user_789\r\n", key);
    post_with(&c, path, hdr,
              "{\"date\": \"2025-11-19\", \"trigger_by\": \"john@acme.com\", "
              "\"parameters\": {\"custom_param\": \"value\"}}",
              &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "trigger_by"), "john@acme.com");
    ck_assert_str_eq(it_str(&r, "trigger_type"), "api");
    ck_assert_str_eq(it_str(&r, "api_key_id"), key_id);
    ck_assert(json_is_null(it_at(&r, "user_id")));
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s",
             it_str(&r, "pipeline_logging_id"));
    it_resp_free(&r);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\n", key);
    it_request(&c, "GET", path, hdr, NULL, NULL, 0, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "trigger_by"), "john@acme.com");
    ck_assert_str_eq(it_str(&r, "api_key_id"), key_id);
    it_resp_free(&r);

    /* The seed's curl: X-User-ID alone names the caller. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/run/%s/gcp/cost/%s", org,
             pid);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\nX-User-ID: user_789\r\n", key);
    post_with(&c, path, hdr, "{\"date\": \"2025-11-19\"}", &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "trigger_by"), "user_789");
    ck_assert_str_eq(it_str(&r, "api_key_id"), key_id);
    it_resp_free(&r);
    /* A key naming nobody: trigger_by is empty, the key still known. */
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\n", key);
    post_with(&c, path, hdr, NULL, &r);
    it_assert_status(&r, 202);
    ck_assert(json_is_null(it_at(&r, "trigger_by")));
    ck_assert_str_eq(it_str(&r, "api_key_id"), key_id);
    it_resp_free(&r);
    /* A user's token: the user, unless the body names someone. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "trigger_by"), me);
    ck_assert_str_eq(it_str(&r, "user_id"), me);
    ck_assert(json_is_null(it_at(&r, "api_key_id")));
    it_resp_free(&r);
    it_call(&c, "POST", path, token,
            json_pack("{s:s}", "trigger_by", "nightly-job"), &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "trigger_by"), "nightly-job");
    ck_assert_str_eq(it_str(&r, "user_id"), me);
    it_resp_free(&r);

    /* Bounded, and named when wrong. */
    memset(long_name, 'x', 256);
    long_name[256] = '\0';
    it_call(&c, "POST", path, token,
            json_pack("{s:s}", "trigger_by", long_name), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "trigger_by");
    it_resp_free(&r);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\nX-User-ID: %s\r\n", key,
             long_name);
    post_with(&c, path, hdr, NULL, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "X-User-ID");
    it_resp_free(&r);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\nX-User-ID: \xff\xfe\r\n", key);
    post_with(&c, path, hdr, NULL, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "X-User-ID");
    it_resp_free(&r);

    free(me);
    free(key_id);
    free(key);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/*
 * Seed 004's execution list: each run names its pipeline and the bytes
 * it read (the values its extractors emitted, as text).
 */
START_TEST(seed_004_executions_name_their_pipeline_and_size)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *run, path[256];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    /* The values: 1, ab, 22 and cde: 8 bytes. */
    it_data_file(org, "sizes.csv", "id,name\n1,ab\n22,cde\n");
    nodes = json_pack(
        "[o, o]",
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "sizes.csv")),
        it_node("out", "loader", "postgres", json_pack("{s:s}", "table", "s")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "completed|failed", 30, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    ck_assert_int_eq(it_int(&r, "data_size_bytes"), 8);
    it_resp_free(&r);
    it_get(&c, "/api/v1/executions?page=1&page_size=20", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "items.0.id"), run);
    ck_assert_str_eq(it_str(&r, "items.0.pipeline_id"), pid);
    ck_assert_ptr_nonnull(it_str(&r, "items.0.pipeline_name"));
    ck_assert_int_eq(it_int(&r, "items.0.rows_processed"), 2);
    ck_assert_int_eq(it_int(&r, "items.0.data_size_bytes"), 8);
    ck_assert_int_eq(it_int(&r, "page_size"), 20);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", pid);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    {
        char *name = strdup(it_str(&r, "name"));

        it_resp_free(&r);
        it_get(&c, "/api/v1/executions", token, &r);
        ck_assert_str_eq(it_str(&r, "items.0.pipeline_name"), name);
        free(name);
    }
    it_resp_free(&r);
    free(run);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/*
 * Seed 000's cancel of a running run answers cancelled, with cancelled_at,
 * once the runner stopped it (within the answer's bounded wait), or
 * cancelling while it still stops: never running.
 */
START_TEST(seed_000_cancel_answers_cancelled)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *run, *conn, path[256];
    const char *status;
    json_t *nodes;
    double t0, took;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    conn = it_wh_connector(&c, token);
    nodes = json_pack("[o, o]", it_slow_source(conn, 60),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s}", "table", "stopped")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "running", 20, &r);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel", run);
    t0 = it_now();
    it_call(&c, "POST", path, token, NULL, &r);
    took = it_now() - t0;
    it_assert_status(&r, 200);
    status = it_str(&r, "status");
    ck_assert_msg(strcmp(status, "cancelled") == 0 ||
                      strcmp(status, "cancelling") == 0,
                  "the cancel answered %s", r.body);
    ck_assert_str_eq(it_str(&r, "run_id"), run);
    /* The wait is bounded: 2.5 s, and the time to answer. */
    ck_assert_msg(took < 6.0, "the cancel took %.2f s", took);
    if (strcmp(status, "cancelled") == 0) {
        ck_assert_ptr_nonnull(it_str(&r, "cancelled_at"));
    } else {
        it_resp_free(&r);
        it_await_run(&c, token, run, "cancelled|failed|completed", 15, &r);
        ck_assert_str_eq(it_str(&r, "status"), "cancelled");
        ck_assert_ptr_nonnull(it_str(&r, "cancelled_at"));
    }
    it_resp_free(&r);
    /* Cancelled, it cannot be cancelled again. */
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 409, "INVALID_STATE");
    it_resp_free(&r);
    free(run);

    /* A runner that does not stop its run (here: none, the run marked
     * running by hand): the answer says cancelling once its wait is over,
     * and a cancel repeated meanwhile does not wait again. */
    it_stack("stop", "runner");
    run = it_execute(&c, token, pid);
    it_owner_sql("UPDATE runs SET status = 'running', started_at = now(), "
                 "claimed_by = 'gone', heartbeat_at = now() WHERE id = $1",
                 run);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel", run);
    t0 = it_now();
    it_call(&c, "POST", path, token, NULL, &r);
    took = it_now() - t0;
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "cancelling");
    ck_assert(json_is_true(it_at(&r, "cancel_requested")));
    ck_assert_msg(took >= 2.4 && took < 6.0, "the cancel took %.2f s", took);
    it_resp_free(&r);
    t0 = it_now();
    it_call(&c, "POST", path, token, NULL, &r);
    took = it_now() - t0;
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "cancelling");
    ck_assert_msg(took < 2.0, "the second cancel took %.2f s", took);
    it_resp_free(&r);
    it_stack("start", "runner");
    free(run);
    free(pid);
    free(conn);
    free(token);
    free(admin);
    free(org);
}
END_TEST

static Suite *
runs_suite(void)
{
    Suite *s = suite_create("it_runs");
    TCase *tc = tcase_create("runs");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, start_read_cancel_retry);
    tcase_add_test(tc, idempotency_nats_down_roles_and_tenants);
    tcase_add_test(tc, plan_quotas);
    tcase_add_test(tc, triggers);
    tcase_add_test(tc, the_scheduler_starts_what_is_due);
    tcase_add_test(tc, seed_003_trigger_by_is_the_callers);
    tcase_add_test(tc, seed_004_executions_name_their_pipeline_and_size);
    tcase_add_test(tc, seed_000_cancel_answers_cancelled);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(runs_suite)
