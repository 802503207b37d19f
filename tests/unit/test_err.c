/*
 * test_err.c: every return code has its own text.
 */
#include <string.h>

#include "err.h"
#include "unit.h"

START_TEST(every_code_has_a_distinct_text)
{
    const char *seen[32];
    int n = 0;

    for (int rc = SL_OK; rc >= SL_ECRYPTO; rc--) {
        const char *t = sl_strerror(rc);

        ck_assert_ptr_nonnull(t);
        ck_assert_str_ne(t, "unknown error");
        for (int i = 0; i < n; i++)
            ck_assert_str_ne(seen[i], t);
        seen[n++] = t;
    }
    ck_assert_str_eq(sl_strerror(-999), "unknown error");
    ck_assert_str_eq(sl_strerror(SL_OK), "success");
}
END_TEST

static Suite *
err_suite(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, every_code_has_a_distinct_text);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(err_suite)
