/*
 * test_events.c: event names of both seeds' families, and which
 * subscriptions take which events.
 */
#include <string.h>

#include "events.h"
#include "unit.h"

START_TEST(known_names)
{
    static const char *const seed000[] = {
        "pipeline.started", "pipeline.completed", "pipeline.failed",
        "quality.check_failed", "pii.detected"};
    static const char *const seed001[] = {"pipeline.created",
                                          "pipeline.updated",
                                          "pipeline.deleted",
                                          "pipeline.execution.started",
                                          "pipeline.execution.completed",
                                          "pipeline.execution.failed",
                                          "data_quality.check.completed",
                                          "connector.connection.failed"};

    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(sl_event_known(seed000[i]), "%s", seed000[i]);
    for (size_t i = 0; i < 8; i++)
        ck_assert_msg(sl_event_known(seed001[i]), "%s", seed001[i]);
    ck_assert(sl_event_known("webhook.test"));
    ck_assert(sl_event_known("notification.sent"));
    ck_assert(sl_event_known("webhook.delivery.exhausted"));
    ck_assert(sl_event_known("pipeline.cancelled"));
    ck_assert(!sl_event_known("*"));
    ck_assert(!sl_event_known("pipeline.exploded"));
    ck_assert(!sl_event_known("Pipeline.Started"));
    ck_assert(!sl_event_known("pipeline.started "));
    ck_assert(!sl_event_known(""));
    ck_assert(!sl_event_known(NULL));
    for (size_t i = 0; i < sl_event_nnames; i++)
        ck_assert(strlen(sl_event_names[i]) <= SL_EVENT_NAME_MAX);
}
END_TEST

START_TEST(families_match_both_ways)
{
    ck_assert(
        sl_event_matches("pipeline.execution.completed", "pipeline.completed"));
    ck_assert(
        sl_event_matches("pipeline.completed", "pipeline.execution.completed"));
    ck_assert(
        sl_event_matches("pipeline.execution.started", "pipeline.started"));
    ck_assert(sl_event_matches("pipeline.failed", "pipeline.execution.failed"));
    ck_assert(sl_event_matches("pipeline.completed", "pipeline.completed"));
    /* Different events do not. */
    ck_assert(!sl_event_matches("pipeline.completed", "pipeline.failed"));
    ck_assert(!sl_event_matches("pipeline.execution.completed",
                                "pipeline.execution.failed"));
    ck_assert(!sl_event_matches("pipeline.created", "pipeline.started"));
}
END_TEST

START_TEST(quality_is_one_way)
{
    ck_assert(sl_event_matches("data_quality.check.completed",
                               "quality.check_failed"));
    ck_assert(!sl_event_matches("quality.check_failed",
                                "data_quality.check.completed"));
}
END_TEST

START_TEST(star_and_null)
{
    ck_assert(sl_event_matches("*", "pipeline.completed"));
    ck_assert(sl_event_matches("*", "webhook.test"));
    ck_assert(!sl_event_matches(NULL, "pipeline.completed"));
    ck_assert(!sl_event_matches("*", NULL));
    ck_assert(!sl_event_matches("pipeline.*", "pipeline.completed"));
}
END_TEST

START_TEST(delivered_under_subscribed_name)
{
    ck_assert_str_eq(sl_event_delivered_name("pipeline.execution.completed",
                                             "pipeline.completed"),
                     "pipeline.execution.completed");
    ck_assert_str_eq(sl_event_delivered_name("*", "pipeline.completed"),
                     "pipeline.completed");
    ck_assert_str_eq(
        sl_event_delivered_name("pipeline.failed", "pipeline.failed"),
        "pipeline.failed");
}
END_TEST

static Suite *
events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, known_names);
    tcase_add_test(tc, families_match_both_ways);
    tcase_add_test(tc, quality_is_one_way);
    tcase_add_test(tc, star_and_null);
    tcase_add_test(tc, delivered_under_subscribed_name);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(events_suite)
