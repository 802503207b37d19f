/*
 * it_health.c: /health/detailed tells the truth while dependencies stop
 * and start, and the API recovers by itself when they come back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "it.h"
#include "unit.h"

/* Polls /health/detailed until component has status (or the overall
 * status, for component NULL); gives up after seconds. Returns the last
 * response, which the caller frees. */
static void
await_health(struct it_client *c, const char *component, const char *status,
             int seconds, struct it_resp *r)
{
    char path[64];
    int64_t end = sl_clock_mono_us() + (int64_t)seconds * 1000000;

    if (component != NULL)
        snprintf(path, sizeof(path), "components.%s.status", component);
    for (;;) {
        const char *s;

        /* The probe is an authenticated client: its own rate bucket. */
        it_request(c, "GET", "/health/detailed", it_admin_header(), NULL, NULL,
                   0, r);
        s = it_str(r, component ? path : "status");
        if (s != NULL && strcmp(s, status) == 0)
            return;
        ck_assert_msg(
            sl_clock_mono_us() < end, "%s did not become %s in %d s: %.500s",
            component ? component : "the API", status, seconds, r->body);
        it_resp_free(r);
        usleep(200 * 1000);
    }
}

START_TEST(all_healthy_with_latencies)
{
    struct it_client c;
    struct it_resp r;
    const char *names[] = {"database", "nats", "runner", "hub"};

    it_client_init(&c);
    await_health(&c, NULL, "healthy", 20, &r);
    it_assert_status(&r, 200);
    for (int i = 0; i < 4; i++) {
        char path[64];

        snprintf(path, sizeof(path), "components.%s.status", names[i]);
        ck_assert_str_eq(it_str(&r, path), "healthy");
        snprintf(path, sizeof(path), "components.%s.latency_ms", names[i]);
        ck_assert(json_is_number(it_at(&r, path)));
    }
    ck_assert_ptr_nonnull(it_str(&r, "version"));
    ck_assert_ptr_nonnull(it_str(&r, "timestamp"));
    it_resp_free(&r);
}
END_TEST

START_TEST(database_down_is_503_then_recovers)
{
    struct it_client c;
    struct it_resp r;
    char *user, *org, *token;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_stack("stop", "postgres");

    it_request(&c, "GET", "/health/detailed", it_admin_header(), NULL, NULL, 0,
               &r);
    it_assert_status(&r, 503);
    ck_assert_str_eq(it_str(&r, "status"), "unhealthy");
    ck_assert_str_eq(it_str(&r, "components.database.status"), "unhealthy");
    ck_assert(json_is_number(it_at(&r, "components.database.latency_ms")));
    /* The rest still answers for itself. */
    ck_assert_str_eq(it_str(&r, "components.nats.status"), "healthy");
    it_resp_free(&r);
    /* Liveness does not depend on the database. */
    it_get(&c, "/health", NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* Requests that need it say so, in JSON, without crashing anyone. */
    it_get(&c, "/api/v1/auth/me", token, &r);
    it_assert_error(&r, 503, "SERVICE_UNAVAILABLE");
    it_resp_free(&r);

    it_stack("start", "postgres");
    await_health(&c, "database", "healthy", 30, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* Every worker reconnects on its own: the old token works again. */
    for (int i = 0; i < 8; i++) {
        it_get(&c, "/api/v1/auth/me", token, &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
    }
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(runner_and_hub_down_is_degraded)
{
    struct it_client c;
    struct it_resp r;

    it_client_init(&c);
    await_health(&c, NULL, "healthy", 20, &r);
    it_resp_free(&r);

    it_stack("stop", "runner");
    it_request(&c, "GET", "/health/detailed", it_admin_header(), NULL, NULL, 0,
               &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "degraded");
    ck_assert_str_eq(it_str(&r, "components.runner.status"), "unhealthy");
    ck_assert_str_eq(it_str(&r, "components.hub.status"), "healthy");
    it_resp_free(&r);
    it_stack("start", "runner");
    await_health(&c, "runner", "healthy", 20, &r);
    it_resp_free(&r);

    it_stack("stop", "hub");
    it_request(&c, "GET", "/health/detailed", it_admin_header(), NULL, NULL, 0,
               &r);
    ck_assert_str_eq(it_str(&r, "status"), "degraded");
    ck_assert_str_eq(it_str(&r, "components.hub.status"), "unhealthy");
    it_resp_free(&r);
    it_stack("start", "hub");
    await_health(&c, NULL, "healthy", 20, &r);
    it_resp_free(&r);
}
END_TEST

START_TEST(nats_down_then_everyone_reconnects)
{
    struct it_client c;
    struct it_resp r;

    it_client_init(&c);
    it_stack("stop", "nats");
    it_request(&c, "GET", "/health/detailed", it_admin_header(), NULL, NULL, 0,
               &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "degraded");
    ck_assert_str_eq(it_str(&r, "components.nats.status"), "unhealthy");
    /* Without NATS the daemons cannot be asked. */
    ck_assert_str_eq(it_str(&r, "components.runner.status"), "unhealthy");
    it_resp_free(&r);
    it_stack("start", "nats");
    /* The API, the runner and the hub all find NATS again by themselves. */
    await_health(&c, NULL, "healthy", 30, &r);
    it_resp_free(&r);
}
END_TEST

START_TEST(api_down_is_502_json_from_nginx)
{
    struct it_client c;
    struct it_resp r;

    it_client_init(&c);
    it_stack("stop", "api");
    it_request(&c, "GET", "/health", it_admin_header(), NULL, NULL, 0, &r);
    it_assert_error(&r, 502, "SERVICE_UNAVAILABLE");
    it_resp_free(&r);
    it_stack("start", "api");
    await_health(&c, NULL, "healthy", 20, &r);
    it_resp_free(&r);
}
END_TEST

static Suite *
health_suite(void)
{
    Suite *s = suite_create("it_health");
    TCase *tc = tcase_create("health");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, all_healthy_with_latencies);
    tcase_add_test(tc, database_down_is_503_then_recovers);
    tcase_add_test(tc, runner_and_hub_down_is_degraded);
    tcase_add_test(tc, nats_down_then_everyone_reconnects);
    tcase_add_test(tc, api_down_is_502_json_from_nginx);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(health_suite)
