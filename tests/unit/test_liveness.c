/*
 * test_liveness.c: liveness answers over a real nats-server, with a real
 * and an unreachable PostgreSQL (private stack: SLUICE_TEST_NATS_URL,
 * SLUICE_TEST_DB_URL).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "clock.h"
#include "err.h"
#include "liveness.h"
#include "unit.h"

static struct sl_bus bus;
static struct sl_logger lg;

static void
setup(void)
{
    int64_t end = sl_clock_mono_us() + 5000000;

    sl_log_init(&lg, "test", SL_LOG_ERROR, 2);
    ck_assert_int_eq(sl_bus_connect(&bus, getenv("SLUICE_TEST_NATS_URL"),
                                    "test_liveness", &lg),
                     SL_OK);
    while (!sl_bus_connected(&bus)) {
        ck_assert(sl_clock_mono_us() < end);
        usleep(20000);
    }
}

static void
teardown(void)
{
    sl_bus_close(&bus);
}

static json_t *
ask(const char *subject)
{
    char *reply = NULL;
    size_t n = 0;
    json_t *j;

    ck_assert_int_eq(sl_bus_request(&bus, subject, "{}", 2, 2000, &reply, &n),
                     SL_OK);
    j = json_loadb(reply, n, 0, NULL);
    free(reply);
    ck_assert_ptr_nonnull(j);
    return j;
}

static void
extra(json_t *answer, void *arg)
{
    json_object_set_new(answer, "widgets", json_integer(*(int *)arg));
}

START_TEST(answers_with_database_state)
{
    struct sl_liveness l;
    struct sl_db db, bad;
    int widgets = 7;
    json_t *j;

    ck_assert_int_eq(
        sl_liveness_start(&l, &bus, &lg, "t.ping.live", NULL, extra, &widgets),
        SL_OK);
    /* Before any check: not known to be healthy. */
    j = ask("t.ping.live");
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "degraded");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "widgets")), 7);
    ck_assert_ptr_nonnull(json_object_get(j, "instance"));
    json_decref(j);

    ck_assert_int_eq(
        sl_db_init(&db, getenv("SLUICE_TEST_DB_URL"), "t", 5000, NULL, 0, NULL),
        SL_OK);
    sl_liveness_check(&l, &db);
    j = ask("t.ping.live");
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "healthy");
    ck_assert(json_is_true(json_object_get(j, "database")));
    ck_assert_ptr_null(json_object_get(j, "error"));
    json_decref(j);

    ck_assert_int_eq(sl_db_init(&bad, "host=127.0.0.1 port=1 dbname=x", "t",
                                5000, NULL, 0, NULL),
                     SL_OK);
    sl_liveness_check(&l, &bad);
    j = ask("t.ping.live");
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "degraded");
    ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
                     "database unreachable");
    json_decref(j);

    sl_liveness_stop(&l);
    sl_liveness_stop(&l);
    sl_db_free(&db);
    sl_db_free(&bad);
}
END_TEST

static Suite *
liveness_suite(void)
{
    Suite *s = suite_create("liveness");
    TCase *tc = tcase_create("server");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, answers_with_database_state);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(liveness_suite)
