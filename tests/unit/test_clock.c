/*
 * test_clock.c: RFC 3339 formatting and parsing.
 */
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "unit.h"

START_TEST(format_utc_z)
{
    char out[SL_RFC3339_MAX];

    ck_assert_int_eq(sl_clock_format(1767976800, out), SL_OK);
    ck_assert_str_eq(out, "2026-01-09T16:40:00Z");
    ck_assert_int_eq(sl_clock_format_ms(1767976800123LL, out), SL_OK);
    ck_assert_str_eq(out, "2026-01-09T16:40:00.123Z");
    ck_assert_int_eq(sl_clock_format(0, out), SL_OK);
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
}
END_TEST

START_TEST(parse_forms)
{
    int64_t t = 0;

    ck_assert_int_eq(sl_clock_parse("2026-01-09T16:40:00Z", &t), SL_OK);
    ck_assert_int_eq(t, 1767976800);
    ck_assert_int_eq(sl_clock_parse("2026-01-09T16:40:00.999Z", &t), SL_OK);
    ck_assert_int_eq(t, 1767976800);
    ck_assert_int_eq(sl_clock_parse("2026-01-09T18:40:00+02:00", &t), SL_OK);
    ck_assert_int_eq(t, 1767976800);
    ck_assert_int_eq(sl_clock_parse("2026-01-09T11:10:00-05:30", &t), SL_OK);
    ck_assert_int_eq(t, 1767976800);
    ck_assert_int_eq(sl_clock_parse("2026-01-09", &t), SL_OK);
    ck_assert_int_eq(t, 1767916800);
}
END_TEST

START_TEST(parse_rejects)
{
    int64_t t = 42;
    const char *bad[] = {
        "",
        "2026-1-09",
        "2026-02-30",
        "2026-13-01",
        "2026-01-09T25:00:00Z",
        "2026-01-09T16:40:00",
        "2026-01-09T16:40:00Zjunk",
        "2026-01-09T16:40Z",
        "2026-01-09T16:40:00+2:00",
        "not a date",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sl_clock_parse(bad[i], &t) == SL_EPARSE, "%s", bad[i]);
    ck_assert_int_eq(t, 42);
    ck_assert_int_eq(sl_clock_parse(NULL, &t), SL_EPARSE);
    /* Leap day in a leap year only. */
    ck_assert_int_eq(sl_clock_parse("2024-02-29", &t), SL_OK);
    ck_assert_int_eq(sl_clock_parse("2025-02-29", &t), SL_EPARSE);
}
END_TEST

START_TEST(round_trip_now)
{
    char out[SL_RFC3339_MAX];
    int64_t now = sl_clock_now(), back = 0;

    ck_assert_int_eq(sl_clock_format(now, out), SL_OK);
    ck_assert_int_eq(sl_clock_parse(out, &back), SL_OK);
    ck_assert_int_eq(back, now);
}
END_TEST

START_TEST(monotonic_advances)
{
    int64_t a = sl_clock_mono_us(), b = sl_clock_mono_us();

    ck_assert_int_ge(b, a);
}
END_TEST

static Suite *
clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, format_utc_z);
    tcase_add_test(tc, parse_forms);
    tcase_add_test(tc, parse_rejects);
    tcase_add_test(tc, round_trip_now);
    tcase_add_test(tc, monotonic_advances);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(clock_suite)
