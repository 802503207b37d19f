/*
 * test_deliver_rules.c: from events to delivery rows (ws-hub/
 * deliver_rules.h): subscriptions in both families of names and "*",
 * one row per webhook whatever it subscribed to twice, alert conditions
 * and their filters, the bodies of webhook and Slack channels, an
 * exhausted endpoint never fed its own exhaustion, and the events that
 * are never delivered.
 */
#include <string.h>

#include "deliver_rules.h"
#include "err.h"
#include "unit.h"

static json_t *
event(const char *type, json_t *data)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "event_id", "evt_1",
                     "event_type", type, "timestamp", "2026-01-01T00:00:00Z",
                     "organization_id", "org", "data", data);
}

/* Rows for ev and endpoints (JSON text); ev is taken. */
static json_t *
rows_for(json_t *ev, const char *endpoints)
{
    json_t *rows = json_array(), *eps = json_loads(endpoints, 0, NULL);

    ck_assert_ptr_nonnull(eps);
    ck_assert_int_eq(hub_deliver_rows(rows, "org", ev, 7, eps), SL_OK);
    json_decref(eps);
    json_decref(ev);
    return rows;
}

/* The parsed body of row i. New reference. */
static json_t *
body(json_t *rows, size_t i)
{
    json_t *b = json_loads(
        json_string_value(json_object_get(json_array_get(rows, i), "body")), 0,
        NULL);

    ck_assert_ptr_nonnull(b);
    return b;
}

static const char *
str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

START_TEST(webhooks_by_either_name)
{
    json_t *rows = rows_for(
        event("pipeline.completed", json_pack("{s:s}", "run_id", "r1")),
        "{\"webhooks\": ["
        "{\"id\": \"w-new\", \"events\": [\"pipeline.execution.completed\"]},"
        "{\"id\": \"w-old\", \"events\": [\"pipeline.failed\", "
        "\"pipeline.completed\", \"pipeline.execution.completed\"]},"
        "{\"id\": \"w-all\", \"events\": [\"*\"]},"
        "{\"id\": \"w-none\", \"events\": [\"pipeline.failed\"]}],"
        " \"alerts\": []}");
    json_t *b;

    ck_assert_int_eq(json_array_size(rows), 3);
    b = body(rows, 0);
    ck_assert_str_eq(str(json_array_get(rows, 0), "webhook_id"), "w-new");
    ck_assert_str_eq(str(json_array_get(rows, 0), "event_type"),
                     "pipeline.execution.completed");
    ck_assert_str_eq(str(b, "event_type"), "pipeline.execution.completed");
    ck_assert_str_eq(str(b, "event_id"), "evt_1");
    ck_assert_str_eq(str(json_object_get(b, "data"), "run_id"), "r1");
    json_decref(b);
    /* Subscribed twice, one row, under the first name that matched. */
    b = body(rows, 1);
    ck_assert_str_eq(str(json_array_get(rows, 1), "webhook_id"), "w-old");
    ck_assert_str_eq(str(b, "event_type"), "pipeline.completed");
    json_decref(b);
    b = body(rows, 2);
    ck_assert_str_eq(str(b, "event_type"), "pipeline.completed");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(rows, 2), "seq")), 7);
    json_decref(b);
    json_decref(rows);
}
END_TEST

#define ALERTS                                                                 \
    "{\"webhooks\": [], \"alerts\": [{\"id\": \"a1\", \"name\": \"Failed\", "  \
    "\"condition\": {\"event_type\": \"pipeline.execution.failed\", "          \
    "\"filters\": {\"severity\": [\"critical\", \"high\"], \"records\": "      \
    "\"2\"}}, \"template\": {\"subject\": \"{{pipeline_name}} failed\", "      \
    "\"body\": \"at {{timestamp}}: {{error_message}}\"}, \"channels\": ["      \
    "{\"id\": \"c-slack\", \"type\": \"slack\", \"configuration\": "           \
    "{\"channel\": \"#ops\", \"username\": \"sluice\", \"other\": 1}}, "       \
    "{\"id\": \"c-hook\", \"type\": \"webhook\", \"configuration\": {}}]}]}"

START_TEST(alerts_render_for_each_channel)
{
    json_t *rows =
        rows_for(event("pipeline.failed",
                       json_pack("{s:s, s:s, s:s, s:i}", "pipeline_name",
                                 "daily", "error_message", "boom <3",
                                 "severity", "high", "records", 2)),
                 ALERTS);
    json_t *slack, *hook;

    ck_assert_int_eq(json_array_size(rows), 2);
    slack = body(rows, 0);
    ck_assert_str_eq(str(json_array_get(rows, 0), "alert_id"), "a1");
    ck_assert_str_eq(str(json_array_get(rows, 0), "channel_id"), "c-slack");
    ck_assert_int_eq(json_object_size(slack), 3);
    ck_assert_str_eq(str(slack, "text"),
                     "*daily failed*\nat 2026-01-01T00:00:00Z: boom &lt;3");
    ck_assert_str_eq(str(slack, "channel"), "#ops");
    ck_assert_str_eq(str(slack, "username"), "sluice");
    hook = body(rows, 1);
    ck_assert_str_eq(str(hook, "event_type"), "pipeline.execution.failed");
    ck_assert_str_eq(str(json_object_get(hook, "alert"), "name"), "Failed");
    ck_assert_str_eq(str(json_object_get(hook, "alert"), "subject"),
                     "daily failed");
    /* Unescaped where it is not Slack's text. */
    ck_assert_str_eq(str(json_object_get(hook, "alert"), "message"),
                     "at 2026-01-01T00:00:00Z: boom <3");
    json_decref(slack);
    json_decref(hook);
    json_decref(rows);
}
END_TEST

START_TEST(filters_that_do_not_hold)
{
    json_t *rows;

    /* A value outside the list. */
    rows = rows_for(event("pipeline.failed", json_pack("{s:s, s:i}", "severity",
                                                       "low", "records", 2)),
                    ALERTS);
    ck_assert_int_eq(json_array_size(rows), 0);
    json_decref(rows);
    /* A field the event lacks. */
    rows = rows_for(
        event("pipeline.failed", json_pack("{s:s}", "severity", "high")),
        ALERTS);
    ck_assert_int_eq(json_array_size(rows), 0);
    json_decref(rows);
    /* Another event. */
    rows =
        rows_for(event("pipeline.completed", json_pack("{s:s, s:i}", "severity",
                                                       "high", "records", 2)),
                 ALERTS);
    ck_assert_int_eq(json_array_size(rows), 0);
    json_decref(rows);
}
END_TEST

START_TEST(an_exhausted_endpoint_is_not_fed_its_own)
{
    json_t *rows = rows_for(
        event("webhook.delivery.exhausted",
              json_pack("{s:s}", "webhook_id", "w-dead")),
        "{\"webhooks\": [{\"id\": \"w-dead\", \"events\": [\"*\"]}, "
        "{\"id\": \"w-watch\", \"events\": [\"webhook.delivery.exhausted\"]}],"
        " \"alerts\": [{\"id\": \"a\", \"name\": \"x\", \"condition\": "
        "{\"event_type\": \"*\"}, \"channels\": [{\"id\": \"c\", \"type\": "
        "\"webhook\"}]}]}");

    ck_assert_int_eq(json_array_size(rows), 2);
    ck_assert_str_eq(str(json_array_get(rows, 0), "webhook_id"), "w-watch");
    ck_assert_str_eq(str(json_array_get(rows, 1), "channel_id"), "c");
    json_decref(rows);
    rows = rows_for(event("webhook.delivery.exhausted",
                          json_pack("{s:s}", "channel_id", "c")),
                    "{\"webhooks\": [], \"alerts\": [{\"id\": \"a\", "
                    "\"name\": \"x\", \"condition\": {\"event_type\": \"*\"}, "
                    "\"channels\": [{\"id\": \"c\", \"type\": \"slack\"}]}]}");
    ck_assert_int_eq(json_array_size(rows), 0);
    json_decref(rows);
}
END_TEST

START_TEST(progress_and_logs_are_never_delivered)
{
    ck_assert(hub_deliver_skipped("sluice.event.org.run.progress"));
    ck_assert(hub_deliver_skipped("sluice.event.org.run.log"));
    ck_assert(!hub_deliver_skipped("sluice.event.org.pipeline.completed"));
    ck_assert(!hub_deliver_skipped("sluice.event.org.run.logs"));
}
END_TEST

START_TEST(an_owner_names_its_pid_on_its_host)
{
    ck_assert_int_eq(hub_deliver_owner_pid("h1:4242/abcdefgh", "h1:"), 4242);
    ck_assert_int_eq(hub_deliver_owner_pid("h10:4242/abcdefgh", "h1:"), -1);
    ck_assert_int_eq(hub_deliver_owner_pid("h2:4242/abcdefgh", "h1:"), -1);
    ck_assert_int_eq(hub_deliver_owner_pid("h1:/abcdefgh", "h1:"), -1);
    ck_assert_int_eq(hub_deliver_owner_pid("h1:42x/abcdefgh", "h1:"), -1);
    ck_assert_int_eq(hub_deliver_owner_pid("h1:4242", "h1:"), -1);
    ck_assert_int_eq(hub_deliver_owner_pid("h1:0/abcdefgh", "h1:"), -1);
    ck_assert_int_eq(
        hub_deliver_owner_pid("h1:99999999999999999999/abcdefgh", "h1:"), -1);
}
END_TEST

static Suite *
rules_suite(void)
{
    Suite *s = suite_create("deliver_rules");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, webhooks_by_either_name);
    tcase_add_test(tc, alerts_render_for_each_channel);
    tcase_add_test(tc, filters_that_do_not_hold);
    tcase_add_test(tc, an_exhausted_endpoint_is_not_fed_its_own);
    tcase_add_test(tc, progress_and_logs_are_never_delivered);
    tcase_add_test(tc, an_owner_names_its_pid_on_its_host);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(rules_suite)
