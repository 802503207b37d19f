/*
 * test_uuid.c: UUID generation and validation.
 */
#include <string.h>

#include "err.h"
#include "unit.h"
#include "uuid.h"

START_TEST(v4_shape)
{
    char u[SL_UUID_LEN];

    ck_assert_int_eq(sl_uuid_v4(u), SL_OK);
    ck_assert(sl_uuid_valid(u));
    ck_assert_int_eq(u[14], '4');
    ck_assert(strchr("89ab", u[19]) != NULL);
}
END_TEST

START_TEST(v7_shape_and_order)
{
    char a[SL_UUID_LEN], b[SL_UUID_LEN];

    ck_assert_int_eq(sl_uuid_v7(a), SL_OK);
    ck_assert_int_eq(sl_uuid_v7(b), SL_OK);
    ck_assert(sl_uuid_valid(a));
    ck_assert_int_eq(a[14], '7');
    ck_assert(strchr("89ab", a[19]) != NULL);
    ck_assert_str_ne(a, b);
    /* The timestamp prefix never goes backwards. */
    ck_assert(strncmp(a, b, 13) <= 0);
}
END_TEST

START_TEST(validation)
{
    ck_assert(sl_uuid_valid("550e8400-e29b-41d4-a716-446655440000"));
    ck_assert(sl_uuid_valid("550E8400-E29B-41D4-A716-446655440000"));
    ck_assert(!sl_uuid_valid("550e8400e29b41d4a716446655440000"));
    ck_assert(!sl_uuid_valid("550e8400-e29b-41d4-a716-44665544000"));
    ck_assert(!sl_uuid_valid("550e8400-e29b-41d4-a716-4466554400000"));
    ck_assert(!sl_uuid_valid("550e8400-e29b-41d4-a716-44665544000g"));
    ck_assert(!sl_uuid_valid("pip_123"));
    ck_assert(!sl_uuid_valid(NULL));
}
END_TEST

static Suite *
uuid_suite(void)
{
    Suite *s = suite_create("uuid");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, v4_shape);
    tcase_add_test(tc, v7_shape_and_order);
    tcase_add_test(tc, validation);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(uuid_suite)
