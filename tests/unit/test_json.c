/*
 * test_json.c: bounded parsing, getters and the error body.
 */
#include <string.h>

#include "err.h"
#include "json.h"
#include "unit.h"

START_TEST(parse_ok)
{
    json_t *j = NULL;
    char err[128];
    const char *text = "{\"a\": \"x\", \"n\": 5, \"b\": true}";

    ck_assert_int_eq(sl_json_parse(text, strlen(text), 8, &j, err, sizeof(err)),
                     SL_OK);
    ck_assert_str_eq(sl_json_get_str(j, "a"), "x");
    ck_assert_int_eq(sl_json_get_int(j, "n", 0), 5);
    ck_assert(sl_json_get_bool(j, "b", false));
    ck_assert_ptr_null(sl_json_get_str(j, "n"));
    ck_assert_int_eq(sl_json_get_int(j, "a", -1), -1);
    json_decref(j);
}
END_TEST

START_TEST(parse_reports_position)
{
    json_t *j = NULL;
    char err[128];
    const char *text = "{\"a\": }";

    ck_assert_int_eq(sl_json_parse(text, strlen(text), 8, &j, err, sizeof(err)),
                     SL_EPARSE);
    ck_assert_ptr_null(j);
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
}
END_TEST

START_TEST(duplicate_keys_refused)
{
    json_t *j = NULL;
    char err[128];
    const char *text = "{\"role\": \"viewer\", \"role\": \"admin\"}";

    ck_assert_int_eq(sl_json_parse(text, strlen(text), 8, &j, err, sizeof(err)),
                     SL_EPARSE);
}
END_TEST

START_TEST(depth_limit)
{
    json_t *j = NULL;
    char err[128], deep[200];

    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ck_assert_int_eq(sl_json_parse(deep, 200, 32, &j, err, sizeof(err)),
                     SL_ETOOBIG);
    ck_assert_int_eq(sl_json_parse(deep + 90, 20, 32, &j, err, sizeof(err)),
                     SL_OK);
    json_decref(j);
    /* Brackets inside strings do not count, escaped quotes do not end. */
    ck_assert(sl_json_depth_ok("[\"[[[[\\\"[[[[\"]", 15, 1));
    ck_assert(!sl_json_depth_ok("[[1]]", 5, 1));
}
END_TEST

START_TEST(error_body_shape)
{
    json_t *details = json_pack("{s:s}", "field", "email");
    json_t *b =
        sl_json_error_body("VALIDATION_ERROR", "bad email", details, "req_1");
    json_t *e = json_object_get(b, "error");
    const char *ts;

    ck_assert_str_eq(sl_json_get_str(e, "code"), "VALIDATION_ERROR");
    ck_assert_str_eq(sl_json_get_str(e, "message"), "bad email");
    ck_assert_str_eq(sl_json_get_str(e, "request_id"), "req_1");
    ck_assert_str_eq(sl_json_get_str(json_object_get(e, "details"), "field"),
                     "email");
    ts = sl_json_get_str(e, "timestamp");
    ck_assert_uint_eq(strlen(ts), 20);
    ck_assert_int_eq(ts[19], 'Z');
    json_decref(b);

    b = sl_json_error_body("X", NULL, NULL, NULL);
    e = json_object_get(b, "error");
    ck_assert(json_is_object(json_object_get(e, "details")));
    ck_assert(json_is_null(json_object_get(e, "request_id")));
    json_decref(b);
}
END_TEST

START_TEST(pool_owns_reference)
{
    sl_pool *p = sl_pool_create(0, 0);
    json_t *j = json_object();

    json_incref(j);
    ck_assert_ptr_eq(sl_json_pool_own(p, j), j);
    ck_assert_int_eq(j->refcount, 2);
    sl_pool_reset(p);
    ck_assert_int_eq(j->refcount, 1);
    json_decref(j);
    sl_pool_destroy(p);
}
END_TEST

START_TEST(time_and_null)
{
    json_t *t = sl_json_time(0), *n = sl_json_time(-1);

    ck_assert_str_eq(json_string_value(t), "1970-01-01T00:00:00Z");
    ck_assert(json_is_null(n));
    json_decref(t);
    json_decref(n);
    n = sl_json_str_or_null(NULL);
    ck_assert(json_is_null(n));
    json_decref(n);
}
END_TEST

static Suite *
json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, parse_ok);
    tcase_add_test(tc, parse_reports_position);
    tcase_add_test(tc, duplicate_keys_refused);
    tcase_add_test(tc, depth_limit);
    tcase_add_test(tc, error_body_shape);
    tcase_add_test(tc, pool_owns_reference);
    tcase_add_test(tc, time_and_null);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(json_suite)
