/*
 * test_event.c: an event serialised within its bound; what is trimmed,
 * in what order, and that it says so.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "limits.h"
#include "unit.h"

/* An event of seed 001's shape around data (taken). */
static json_t *
event(json_t *data)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:o}", "event_id",
                          "evt_0123456789abcdef0123456789abcdef", "event_type",
                          "run.log", "timestamp", "2026-01-09T16:40:00Z",
                          "organization_id", "acme", "data", data);

    ck_assert_ptr_nonnull(e);
    return e;
}

/* A string of n copies of c. */
static char *
repeat(const char *c, size_t n)
{
    size_t k = strlen(c);
    char *s = malloc(n * k + 1);

    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * k, c, k);
    s[n * k] = '\0';
    return s;
}

/* The event text parsed back, its data member (the caller decrefs *j). */
static json_t *
data_of(const char *text, json_t **j)
{
    *j = json_loads(text, 0, NULL);
    ck_assert_msg(*j != NULL, "not JSON: %.200s", text);
    return json_object_get(*j, "data");
}

START_TEST(small_event_unchanged)
{
    json_t *e =
        event(json_pack("{s:s, s:s, s:{s:i}}", "level", "INFO", "message",
                        "Run completed", "metadata", "records_processed", 3));
    char *want = json_dumps(e, JSON_COMPACT), *text = NULL;

    ck_assert_int_eq(sl_event_dump(e, SL_MAX_EVENT_BYTES, &text), SL_OK);
    ck_assert_str_eq(text, want);
    /* Exactly at the bound is within it. */
    free(text);
    ck_assert_int_eq(sl_event_dump(e, strlen(want), &text), SL_OK);
    ck_assert_str_eq(text, want);
    free(text);
    free(want);
    json_decref(e);
}
END_TEST

START_TEST(huge_metadata_keeps_its_scalars)
{
    json_t *meta = json_pack("{s:i, s:s, s:b}", "rows", 42, "table", "sales",
                             "passed", 0),
           *rules = json_array(), *j, *d;
    char *text = NULL, *long_string = repeat("x", SL_EVENT_KEEP_STRING + 1);
    json_t *e;

    for (int i = 0; i < 5000; i++)
        json_array_append_new(
            rules, json_pack("{s:s, s:i}", "type", "not_null", "checked", i));
    json_object_set_new(meta, "rules", rules);
    json_object_set_new(meta, "long", json_string(long_string));
    e = event(json_pack("{s:s, s:s, s:o}", "level", "WARNING", "message",
                        "Quality check failed", "metadata", meta));

    ck_assert_int_eq(sl_event_dump(e, SL_MAX_EVENT_BYTES, &text), SL_OK);
    ck_assert_uint_le(strlen(text), SL_MAX_EVENT_BYTES);
    d = data_of(text, &j);
    ck_assert(json_is_true(json_object_get(d, "metadata_truncated")));
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(d, "metadata"), "rows")),
                     42);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(d, "metadata"), "table")),
                     "sales");
    ck_assert(json_is_false(
        json_object_get(json_object_get(d, "metadata"), "passed")));
    ck_assert_ptr_null(
        json_object_get(json_object_get(d, "metadata"), "rules"));
    ck_assert_ptr_null(json_object_get(json_object_get(d, "metadata"), "long"));
    /* What did not need trimming is untouched, and not flagged. */
    ck_assert_str_eq(json_string_value(json_object_get(d, "message")),
                     "Quality check failed");
    ck_assert_ptr_null(json_object_get(d, "message_truncated"));
    json_decref(j);
    free(text);
    free(long_string);
    json_decref(e);
}
END_TEST

START_TEST(metadata_of_huge_scalars_is_dropped)
{
    json_t *meta = json_object(), *e, *j, *d;
    char *text = NULL, *s = repeat("y", SL_EVENT_KEEP_STRING);

    /* Each string short enough to keep; together far too many. */
    for (int i = 0; i < 1000; i++) {
        char key[16];

        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(meta, key, json_string(s));
    }
    e = event(json_pack("{s:s, s:s, s:o}", "level", "INFO", "message", "m",
                        "metadata", meta));
    ck_assert_int_eq(sl_event_dump(e, SL_MAX_EVENT_BYTES, &text), SL_OK);
    d = data_of(text, &j);
    ck_assert(json_is_null(json_object_get(d, "metadata")));
    ck_assert(json_is_true(json_object_get(d, "metadata_truncated")));
    json_decref(j);
    free(text);
    free(s);
    json_decref(e);
}
END_TEST

START_TEST(result_data_trimmed_before_metadata)
{
    json_t *result = json_pack("{s:i, s:i}", "records_processed", 7,
                               "records_failed", 0),
           *nodes = json_object(), *e, *j, *d;
    char *text = NULL, *big = repeat("z", 100 * 1024);

    json_object_set_new(nodes, "gate", json_pack("{s:s}", "detail", big));
    json_object_set_new(result, "nodes", nodes);
    e = event(json_pack("{s:s, s:o, s:{s:i}}", "status", "completed",
                        "result_data", result, "metadata", "n", 1));
    ck_assert_int_eq(sl_event_dump(e, SL_MAX_EVENT_BYTES, &text), SL_OK);
    d = data_of(text, &j);
    ck_assert(json_is_true(json_object_get(d, "result_data_truncated")));
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(d, "result_data"),
                                           "records_processed")),
        7);
    ck_assert_ptr_null(
        json_object_get(json_object_get(d, "result_data"), "nodes"));
    /* Enough: metadata stays whole. */
    ck_assert_ptr_null(json_object_get(d, "metadata_truncated"));
    ck_assert_int_eq(json_integer_value(
                         json_object_get(json_object_get(d, "metadata"), "n")),
                     1);
    json_decref(j);
    free(text);
    free(big);
    json_decref(e);
}
END_TEST

START_TEST(huge_message_cut_at_a_character)
{
    /* Two-byte characters, so that the cut falls inside one unless it
     * looks. */
    char *msg = repeat("\xc3\xa9", 60 * 1024), *text = NULL;
    json_t *e = event(json_pack("{s:s, s:s, s:n}", "level", "ERROR", "message",
                                msg, "metadata")),
           *j, *d;
    const char *m;

    ck_assert_int_eq(sl_event_dump(e, SL_MAX_EVENT_BYTES, &text), SL_OK);
    ck_assert_uint_le(strlen(text), SL_MAX_EVENT_BYTES);
    d = data_of(text, &j); /* json_loads refuses invalid UTF-8 */
    m = json_string_value(json_object_get(d, "message"));
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_le(strlen(m), SL_EVENT_KEEP_MESSAGE);
    ck_assert_uint_ge(strlen(m), SL_EVENT_KEEP_MESSAGE - 1);
    ck_assert_int_eq(strncmp(m, msg, strlen(m)), 0);
    ck_assert(json_is_true(json_object_get(d, "message_truncated")));
    /* A null metadata is not "trimmed". */
    ck_assert_ptr_null(json_object_get(d, "metadata_truncated"));
    json_decref(j);
    free(text);
    free(msg);
    json_decref(e);
}
END_TEST

START_TEST(what_cannot_be_trimmed_is_refused)
{
    char *big = repeat("q", SL_MAX_EVENT_BYTES), *text = (char *)"x";
    json_t *e = event(json_pack("{s:s, s:s}", "level", big, "message", "m"));

    ck_assert_int_eq(sl_event_dump(e, SL_MAX_EVENT_BYTES, &text), SL_ETOOBIG);
    ck_assert_ptr_null(text);
    free(big);
    json_decref(e);
}
END_TEST

static Suite *
event_suite(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tcase_create("dump");

    tcase_add_test(tc, small_event_unchanged);
    tcase_add_test(tc, huge_metadata_keeps_its_scalars);
    tcase_add_test(tc, metadata_of_huge_scalars_is_dropped);
    tcase_add_test(tc, result_data_trimmed_before_metadata);
    tcase_add_test(tc, huge_message_cut_at_a_character);
    tcase_add_test(tc, what_cannot_be_trimmed_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(event_suite)
