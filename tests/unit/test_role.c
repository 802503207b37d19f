/*
 * test_role.c: the role ladder (its permissions: test_permissions).
 */
#include "role.h"
#include "unit.h"

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

static Suite *
role_suite(void)
{
    Suite *s = suite_create("role");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, names_and_alias);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(role_suite)
