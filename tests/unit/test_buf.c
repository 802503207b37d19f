/*
 * test_buf.c: the bounded buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "unit.h"

START_TEST(append_and_terminate)
{
    sl_buf b;

    sl_buf_init(&b, 100);
    ck_assert_int_eq(sl_buf_puts(&b, "abc"), SL_OK);
    ck_assert_int_eq(sl_buf_printf(&b, "-%d", 7), SL_OK);
    ck_assert_uint_eq(b.len, 5);
    ck_assert_str_eq(b.data, "abc-7");
    sl_buf_free(&b);
}
END_TEST

START_TEST(maximum_is_hard)
{
    sl_buf b;
    char big[64];

    memset(big, 'x', sizeof(big));
    sl_buf_init(&b, 100);
    ck_assert_int_eq(sl_buf_append(&b, big, 64), SL_OK);
    ck_assert_int_eq(sl_buf_append(&b, big, 36), SL_OK);
    ck_assert_uint_eq(b.len, 100);
    /* One more byte fails and changes nothing. */
    ck_assert_int_eq(sl_buf_append(&b, "y", 1), SL_ETOOBIG);
    ck_assert_uint_eq(b.len, 100);
    ck_assert_int_eq(sl_buf_printf(&b, "%s", "z"), SL_ETOOBIG);
    ck_assert_uint_eq(strlen(b.data), 100);
    sl_buf_free(&b);
}
END_TEST

START_TEST(take_hands_over)
{
    sl_buf b;
    char *s;

    sl_buf_init(&b, 10);
    ck_assert_ptr_null(sl_buf_take(&b));
    sl_buf_puts(&b, "hi");
    s = sl_buf_take(&b);
    ck_assert_str_eq(s, "hi");
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    free(s);
    sl_buf_free(&b);
    sl_buf_free(NULL);
}
END_TEST

START_TEST(reset_keeps_memory)
{
    sl_buf b;

    sl_buf_init(&b, 1000);
    sl_buf_puts(&b, "hello");
    sl_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ck_assert_int_eq(sl_buf_puts(&b, "x"), SL_OK);
    ck_assert_str_eq(b.data, "x");
    sl_buf_free(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, append_and_terminate);
    tcase_add_test(tc, maximum_is_hard);
    tcase_add_test(tc, take_hands_over);
    tcase_add_test(tc, reset_keeps_memory);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(buf_suite)
