/*
 * test_lineage.c: checking OpenLineage run events (lib/lineage.c): what
 * is accepted, the field each problem names, seed 000's names turned
 * into OpenLineage's, and the bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "json.h"
#include "lineage.h"
#include "unit.h"

/* The problems told, as "field: reason" lines. */
struct told {
    char text[8192];
    int n;
};

static void
collect(void *arg, const char *field, const char *reason)
{
    struct told *t = arg;
    size_t len = strlen(t->text);

    snprintf(t->text + len, sizeof(t->text) - len, "%s: %s\n", field, reason);
    t->n++;
}

/* Checks the JSON text; returns the code, the problems in *t. */
static int
check_text(const char *text, struct told *t, json_t **out)
{
    json_error_t e;
    json_t *ev = json_loads(text, 0, &e);
    int rc;

    ck_assert_msg(ev != NULL, "bad test JSON: %s", e.text);
    memset(t, 0, sizeof(*t));
    rc = sl_lineage_check(ev, collect, t);
    if (out != NULL)
        *out = ev;
    else
        json_decref(ev);
    return rc;
}

/* True when a problem names exactly field. */
static bool
names(const struct told *t, const char *field)
{
    char want[600];

    snprintf(want, sizeof(want), "%s: ", field);
    for (const char *p = t->text; (p = strstr(p, want)) != NULL; p++)
        if (p == t->text || p[-1] == '\n')
            return true;
    return false;
}

#define RUN_ID "3F5E83FA-3480-44FF-99C5-FF943904E5E8"
#define OK_EVENT                                                               \
    "{\"eventType\": \"COMPLETE\", \"eventTime\": "                            \
    "\"2026-01-09T16:30:00.123Z\", \"producer\": "                             \
    "\"https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client\", "       \
    "\"schemaURL\": \"https://openlineage.io/spec/2-0-2/"                      \
    "OpenLineage.json#/$defs/RunEvent\", "                                     \
    "\"run\": {\"runId\": \"" RUN_ID "\", \"facets\": {}}, "                   \
    "\"job\": {\"namespace\": \"airflow\", \"name\": \"etl.orders\"}, "        \
    "\"inputs\": [{\"namespace\": \"postgres://db:5432\", \"name\": "          \
    "\"shop.public.orders\", \"facets\": {\"schema\": {\"fields\": "           \
    "[{\"name\": \"id\", \"type\": \"integer\"}]}}}], "                        \
    "\"outputs\": [{\"namespace\": \"postgres://db:5432\", \"name\": "         \
    "\"shop.gold.orders\", \"facets\": {\"columnLineage\": {\"fields\": "      \
    "{\"order_id\": {\"inputFields\": [{\"namespace\": "                       \
    "\"postgres://db:5432\", \"name\": \"shop.public.orders\", \"field\": "    \
    "\"id\", \"transformations\": [{\"type\": \"DIRECT\", \"subtype\": "       \
    "\"IDENTITY\", \"masking\": false}]}], \"transformationType\": "           \
    "\"IDENTITY\"}}}}}]}"

START_TEST(accepts_openlineage_event)
{
    struct told t;
    json_t *ev;

    ck_assert_int_eq(check_text(OK_EVENT, &t, &ev), 0);
    ck_assert_int_eq(t.n, 0);
    /* runId is lower-cased: one run whatever the case it is sent in. */
    ck_assert_str_eq(sl_json_get_str(json_object_get(ev, "run"), "runId"),
                     "3f5e83fa-3480-44ff-99c5-ff943904e5e8");
    json_decref(ev);
}
END_TEST

START_TEST(seed_000_names_become_openlineage)
{
    struct told t;
    json_t *ev;

    ck_assert_int_eq(
        check_text("{\"event_type\": \"COMPLETE\", \"event_time\": "
                   "\"2026-01-09T16:30:00Z\", \"run\": {\"run_id\": "
                   "\"550e8400-e29b-41d4-a716-446655440000\"}, \"job\": "
                   "{\"namespace\": \"atlas_pipeline\", \"name\": "
                   "\"bronze_to_silver\"}, \"inputs\": [{\"namespace\": "
                   "\"atlas\", \"name\": \"bronze.customers\"}], \"outputs\": "
                   "[{\"namespace\": \"atlas\", \"name\": "
                   "\"silver.customers\"}]}",
                   &t, &ev),
        0);
    ck_assert_str_eq(sl_json_get_str(ev, "eventType"), "COMPLETE");
    ck_assert_str_eq(sl_json_get_str(ev, "eventTime"), "2026-01-09T16:30:00Z");
    ck_assert_ptr_null(json_object_get(ev, "event_type"));
    ck_assert_str_eq(sl_json_get_str(json_object_get(ev, "run"), "runId"),
                     "550e8400-e29b-41d4-a716-446655440000");
    /* What OpenLineage requires and seed 000 leaves out. */
    ck_assert_str_eq(sl_json_get_str(ev, "producer"), SL_LINEAGE_PRODUCER);
    ck_assert_str_eq(sl_json_get_str(ev, "schemaURL"), SL_LINEAGE_SCHEMA_URL);
    json_decref(ev);
}
END_TEST

START_TEST(event_types)
{
    const char *ok[] = {"START", "RUNNING", "COMPLETE",
                        "ABORT", "FAIL",    "OTHER"};

    for (size_t i = 0; i < 6; i++)
        ck_assert(sl_lineage_event_type_valid(ok[i]));
    ck_assert(!sl_lineage_event_type_valid("complete"));
    ck_assert(!sl_lineage_event_type_valid("DONE"));
    ck_assert(!sl_lineage_event_type_valid(""));
    ck_assert(!sl_lineage_event_type_valid(NULL));
}
END_TEST

START_TEST(times)
{
    ck_assert(sl_lineage_time_valid("2026-01-09T16:30:00Z"));
    ck_assert(sl_lineage_time_valid("2026-01-09T16:30:00.123456Z"));
    ck_assert(sl_lineage_time_valid("2026-01-09T16:30:00+02:00"));
    ck_assert(sl_lineage_time_valid("2024-02-29T00:00:00-05:30"));
    ck_assert(!sl_lineage_time_valid("2026-01-09"));            /* a date */
    ck_assert(!sl_lineage_time_valid("2026-01-09T16:30:00"));   /* no zone */
    ck_assert(!sl_lineage_time_valid("2026-13-09T16:30:00Z"));  /* month */
    ck_assert(!sl_lineage_time_valid("2026-01-32T16:30:00Z"));  /* day */
    ck_assert(!sl_lineage_time_valid("2026-01-09T24:30:00Z"));  /* hour */
    ck_assert(!sl_lineage_time_valid("2026-01-09T16:30:00.Z")); /* fraction */
    ck_assert(!sl_lineage_time_valid("2026-01-09T16:30:00Zjunk"));
    ck_assert(!sl_lineage_time_valid("yesterday"));
}
END_TEST

/* Each invalid event names the member at fault. */
START_TEST(problems_name_the_field)
{
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"{\"eventType\": \"DONE\", \"eventTime\": \"2026-01-09T16:30:00Z\", "
         "\"run\": {\"runId\": \"" RUN_ID "\"}, \"job\": {\"namespace\": "
         "\"n\", \"name\": \"j\"}}",
         "eventType"},
        {"{\"eventTime\": \"9 January\", \"run\": {\"runId\": \"" RUN_ID
         "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}}",
         "eventTime"},
        {"{\"run\": {\"runId\": \"" RUN_ID "\"}, \"job\": {\"namespace\": "
         "\"n\", \"name\": \"j\"}}",
         "eventTime"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"not-a-uuid\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}}",
         "run.runId"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {}, \"job\": "
         "{\"namespace\": \"n\", \"name\": \"j\"}}",
         "run.runId"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"job\": {\"namespace\": "
         "\"n\", \"name\": \"j\"}}",
         "run"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"name\": \"j\"}}",
         "job.namespace"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"\"}}",
         "job.name"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"producer\": \"no uri\", "
         "\"run\": {\"runId\": \"" RUN_ID "\"}, \"job\": {\"namespace\": "
         "\"n\", \"name\": \"j\"}}",
         "producer"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}, "
         "\"inputs\": {}}",
         "inputs"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}, "
         "\"inputs\": [{\"namespace\": \"n\"}]}",
         "inputs[0].name"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}, "
         "\"outputs\": [{\"namespace\": \"n\", \"name\": \"d\", \"facets\": "
         "{\"schema\": {\"fields\": [{\"type\": \"int\"}]}}}]}",
         "outputs[0].facets.schema.fields[0].name"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}, "
         "\"outputs\": [{\"namespace\": \"n\", \"name\": \"d\", \"facets\": "
         "{\"columnLineage\": {\"fields\": {\"a\": {\"inputFields\": "
         "[{\"namespace\": \"n\", \"name\": \"s\"}]}}}}}]}",
         "outputs[0].facets.columnLineage.fields.a.inputFields[0].field"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}, "
         "\"outputs\": [{\"namespace\": \"n\", \"name\": \"d\", \"facets\": "
         "{\"columnLineage\": {\"fields\": {\"a\": {}}}}}]}",
         "outputs[0].facets.columnLineage.fields.a.inputFields"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\"}, \"job\": {\"namespace\": \"n\", \"name\": \"j\"}, "
         "\"outputs\": [{\"namespace\": \"n\", \"name\": \"d\", \"facets\": "
         "{\"columnLineage\": {\"fields\": {\"a\": {\"inputFields\": "
         "[{\"namespace\": \"n\", \"name\": \"s\", \"field\": \"x\", "
         "\"transformations\": [{\"type\": \"SIDEWAYS\"}]}]}}}}}]}",
         "outputs[0].facets.columnLineage.fields.a.inputFields[0]."
         "transformations[0].type"},
        {"{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": {\"runId\": "
         "\"" RUN_ID "\", \"facets\": {\"x\": 1}}, \"job\": {\"namespace\": "
         "\"n\", \"name\": \"j\"}}",
         "run.facets.x"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct told t;

        ck_assert_int_eq(check_text(cases[i].json, &t, NULL), SL_EINVAL);
        ck_assert_msg(names(&t, cases[i].field),
                      "case %zu: %s not named in:\n%s", i, cases[i].field,
                      t.text);
    }
}
END_TEST

/* OpenLineage's own example sends "description": "". */
START_TEST(optional_members_may_be_empty)
{
    struct told t;

    ck_assert_int_eq(
        check_text("{\"eventTime\": \"2026-01-09T16:30:00Z\", \"run\": "
                   "{\"runId\": \"" RUN_ID "\"}, \"job\": {\"namespace\": "
                   "\"n\", \"name\": \"j\"}, \"outputs\": [{\"namespace\": "
                   "\"n\", \"name\": \"d\", \"facets\": {\"columnLineage\": "
                   "{\"fields\": {\"a\": {\"inputFields\": [{\"namespace\": "
                   "\"n\", \"name\": \"s\", \"field\": \"x\", "
                   "\"transformations\": [{\"type\": \"DIRECT\", "
                   "\"subtype\": \"IDENTITY\", \"description\": \"\"}]}], "
                   "\"transformationDescription\": \"\"}}}}}]}",
                   &t, NULL),
        0);
    ck_assert_msg(t.n == 0, "%s", t.text);
}
END_TEST

START_TEST(not_an_object)
{
    struct told t;

    ck_assert_int_eq(check_text("[1, 2]", &t, NULL), SL_EINVAL);
    ck_assert_int_eq(t.n, 1);
}
END_TEST

/* An event with n inputs (and n schema fields on the first). */
static char *
wide_event(int ninputs, int nfields)
{
    json_t *ev = json_loads(OK_EVENT, 0, NULL), *inputs = json_array(),
           *fields = json_array();
    char *text;

    for (int i = 0; i < nfields; i++)
        json_array_append_new(
            fields, json_pack("{s:s++}", "name", "c", i % 2 ? "a" : "b", "x"));
    for (int i = 0; i < ninputs; i++) {
        char name[32];

        snprintf(name, sizeof(name), "t%d", i);
        json_array_append_new(
            inputs, json_pack("{s:s, s:s, s:{s:{s:O}}}", "namespace", "n",
                              "name", name, "facets", "schema", "fields",
                              i == 0 ? fields : json_array()));
    }
    json_object_set_new(ev, "inputs", inputs);
    json_decref(fields);
    text = json_dumps(ev, 0);
    json_decref(ev);
    return text;
}

START_TEST(bounds)
{
    struct told t;
    char *text;

    text = wide_event(SL_LINEAGE_MAX_DATASETS, 10);
    ck_assert_int_eq(check_text(text, &t, NULL), 0);
    free(text);
    text = wide_event(SL_LINEAGE_MAX_DATASETS + 1, 10);
    ck_assert_int_eq(check_text(text, &t, NULL), SL_EINVAL);
    ck_assert(names(&t, "inputs"));
    free(text);
    text = wide_event(1, SL_LINEAGE_MAX_FIELDS + 1);
    ck_assert_int_eq(check_text(text, &t, NULL), SL_EINVAL);
    ck_assert(names(&t, "inputs[0].facets.schema.fields"));
    free(text);
}
END_TEST

/* The column lineage of one event is bounded as a whole: each output
 * within its own bounds, the sum past SL_LINEAGE_MAX_COLUMN_INPUTS. */
START_TEST(column_lineage_is_bounded_per_event)
{
    struct told t;
    json_t *ev, *outputs, *out, *fields;
    int per = SL_LINEAGE_MAX_COLUMN_INPUTS / SL_LINEAGE_MAX_FIELDS + 1;

    check_text(OK_EVENT, &t, &ev);
    outputs = json_object_get(ev, "outputs");
    out = json_array_get(outputs, 0);
    fields = json_object();
    for (int i = 0; i < SL_LINEAGE_MAX_FIELDS; i++) {
        json_t *ins = json_array();
        char name[32];

        for (int k = 0; k < per; k++) {
            snprintf(name, sizeof(name), "in_%d", k);
            json_array_append_new(ins, json_pack("{s:s, s:s, s:s}", "namespace",
                                                 "ns", "name", name, "field",
                                                 "c"));
        }
        snprintf(name, sizeof(name), "f%d", i);
        json_object_set_new(fields, name, json_pack("{s:o}", "inputFields",
                                                    ins));
    }
    json_object_set_new(json_object_get(json_object_get(out, "facets"),
                                        "columnLineage"),
                        "fields", fields);
    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(sl_lineage_check(ev, collect, &t), SL_EINVAL);
    ck_assert_int_eq(t.n, 1);
    ck_assert_msg(strstr(t.text, "more than") != NULL, "%s", t.text);
    json_decref(ev);
}
END_TEST

/* However many problems an event has, at most SL_LINEAGE_MAX_PROBLEMS
 * are told. */
START_TEST(problems_are_bounded)
{
    json_t *ev = json_loads(OK_EVENT, 0, NULL), *inputs = json_array();
    struct told t = {{0}, 0};

    for (int i = 0; i < SL_LINEAGE_MAX_DATASETS; i++)
        json_array_append_new(inputs, json_pack("{s:i}", "namespace", i));
    json_object_set_new(ev, "inputs", inputs);
    ck_assert_int_eq(sl_lineage_check(ev, collect, &t), SL_EINVAL);
    ck_assert_int_eq(t.n, SL_LINEAGE_MAX_PROBLEMS);
    json_decref(ev);
}
END_TEST

static Suite *
lineage_suite(void)
{
    Suite *s = suite_create("lineage");
    TCase *tc = tcase_create("check");

    tcase_add_test(tc, accepts_openlineage_event);
    tcase_add_test(tc, seed_000_names_become_openlineage);
    tcase_add_test(tc, event_types);
    tcase_add_test(tc, times);
    tcase_add_test(tc, problems_name_the_field);
    tcase_add_test(tc, optional_members_may_be_empty);
    tcase_add_test(tc, not_an_object);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, column_lineage_is_bounded_per_event);
    tcase_add_test(tc, problems_are_bounded);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(lineage_suite)
