/*
 * test_plan.c: the plans' names and order.
 */
#include "plan.h"
#include "unit.h"

START_TEST(names_in_any_case)
{
    ck_assert_int_eq(sl_plan_parse("STARTER"), SL_PLAN_STARTER);
    ck_assert_int_eq(sl_plan_parse("professional"), SL_PLAN_PROFESSIONAL);
    ck_assert_int_eq(sl_plan_parse("Scale"), SL_PLAN_SCALE);
    ck_assert_int_eq(sl_plan_parse("ENTERPRISE"), SL_PLAN_NONE);
    ck_assert_int_eq(sl_plan_parse(""), SL_PLAN_NONE);
    ck_assert_int_eq(sl_plan_parse(NULL), SL_PLAN_NONE);
    ck_assert_str_eq(sl_plan_name(SL_PLAN_PROFESSIONAL), "PROFESSIONAL");
    ck_assert_ptr_null(sl_plan_name(SL_PLAN_NONE));
    ck_assert_ptr_null(sl_plan_name((enum sl_plan)4));
}
END_TEST

START_TEST(weakest_first)
{
    ck_assert_int_lt(SL_PLAN_NONE, SL_PLAN_STARTER);
    ck_assert_int_lt(SL_PLAN_STARTER, SL_PLAN_PROFESSIONAL);
    ck_assert_int_lt(SL_PLAN_PROFESSIONAL, SL_PLAN_SCALE);
}
END_TEST

static Suite *
plan_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, names_in_any_case);
    tcase_add_test(tc, weakest_first);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(plan_suite)
