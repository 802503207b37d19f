/*
 * test_role.c: the role ladder and its permissions.
 */
#include <string.h>

#include "role.h"
#include "unit.h"

static int
has(json_t *a, const char *perm)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i,
                       v) if (strcmp(json_string_value(v), perm) == 0) return 1;
    return 0;
}

START_TEST(names_and_alias)
{
    ck_assert_int_eq(sl_role_parse("viewer"), SL_ROLE_VIEWER);
    ck_assert_int_eq(sl_role_parse("Developer"), SL_ROLE_ENGINEER);
    ck_assert_int_eq(sl_role_parse("engineer"), SL_ROLE_ENGINEER);
    ck_assert_int_eq(sl_role_parse("admin"), SL_ROLE_ADMIN);
    ck_assert_int_eq(sl_role_parse("root"), SL_ROLE_NONE);
    ck_assert_int_eq(sl_role_parse(NULL), SL_ROLE_NONE);
    ck_assert_str_eq(sl_role_name(SL_ROLE_ARCHITECT), "architect");
    ck_assert_str_eq(sl_role_name(SL_ROLE_NONE), "none");
}
END_TEST

START_TEST(ladder_is_cumulative)
{
    json_t *viewer = sl_role_permissions(SL_ROLE_VIEWER);
    json_t *engineer = sl_role_permissions(SL_ROLE_ENGINEER);
    json_t *admin = sl_role_permissions(SL_ROLE_ADMIN);
    json_t *none = sl_role_permissions(SL_ROLE_NONE);

    ck_assert(has(viewer, "pipeline:read"));
    ck_assert(!has(viewer, "pipeline:write"));
    ck_assert(has(engineer, "pipeline:read"));
    ck_assert(has(engineer, "pipeline:write"));
    ck_assert(!has(engineer, "user:write"));
    ck_assert(has(admin, "user:write"));
    ck_assert_uint_gt(json_array_size(admin), json_array_size(engineer));
    ck_assert_uint_eq(json_array_size(none), 0);
    ck_assert(sl_role_can(SL_ROLE_ANALYST, "pipeline:execute"));
    ck_assert(!sl_role_can(SL_ROLE_VIEWER, "pipeline:execute"));
    ck_assert(!sl_role_can(SL_ROLE_ADMIN, "no:such"));
    json_decref(viewer);
    json_decref(engineer);
    json_decref(admin);
    json_decref(none);
}
END_TEST

static Suite *
role_suite(void)
{
    Suite *s = suite_create("role");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, names_and_alias);
    tcase_add_test(tc, ladder_is_cumulative);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(role_suite)
