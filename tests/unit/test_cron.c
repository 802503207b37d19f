/*
 * test_cron.c: cron expression parsing and next runs, in UTC and across
 * daylight-saving changes.
 *
 * Expected instants were computed with GNU date, e.g.
 * TZ=Europe/Paris date -d '2025-03-31 02:30' +%s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron.h"
#include "err.h"
#include "limits.h"
#include "tz.h"
#include "unit.h"

#define ALL_MINUTES ((UINT64_C(1) << 60) - 1)
#define BIT(n)      (UINT64_C(1) << (n))

static struct sl_cron
parse(const char *expr)
{
    struct sl_cron c;
    char err[128];

    ck_assert_msg(sl_cron_parse(expr, &c, err, sizeof(err)) == SL_OK, "%s: %s",
                  expr, err);
    ck_assert_str_eq(err, "");
    return c;
}

/* Asserts that expr is refused with exactly the message msg. */
static void
check_refused(const char *expr, const char *msg)
{
    struct sl_cron c, before;
    char err[128];

    memset(&c, 0xab, sizeof(c));
    memcpy(&before, &c, sizeof(c));
    ck_assert_msg(sl_cron_parse(expr, &c, err, sizeof(err)) == SL_EINVAL,
                  "accepted: %s", expr);
    ck_assert_msg(strcmp(err, msg) == 0, "%s: \"%s\", expected \"%s\"", expr,
                  err, msg);
    ck_assert(memcmp(&c, &before, sizeof(c)) == 0);
}

/* Asserts the runs of expr in zone name after the instant after. */
static void
check_runs(const char *zone, const char *expr, int64_t after,
           const int64_t *want, size_t n)
{
    struct sl_cron c = parse(expr);
    struct sl_tz *tz = NULL;

    if (zone != NULL)
        ck_assert_int_eq(sl_tz_load(zone, &tz), SL_OK);
    for (size_t i = 0; i < n; i++) {
        int64_t next = -1;
        int rc = sl_cron_next(&c, tz, after, &next);

        ck_assert_msg(rc == SL_OK && next == want[i],
                      "%s in %s, run %zu after %lld: rc %d, %lld, expected "
                      "%lld",
                      expr, zone != NULL ? zone : "UTC", i, (long long)after,
                      rc, (long long)next, (long long)want[i]);
        after = next;
    }
    sl_tz_destroy(tz);
}

#define RUNS(zone, expr, after, ...)                                           \
    do {                                                                       \
        static const int64_t want_[] = {__VA_ARGS__};                          \
        check_runs(zone, expr, after, want_, sizeof(want_) / sizeof(*want_));  \
    } while (0)

/* --- Parsing ---------------------------------------------------------- */

START_TEST(parse_star_and_values)
{
    struct sl_cron c = parse("* * * * *");

    ck_assert(c.minutes == ALL_MINUTES);
    ck_assert_uint_eq(c.hours, 0xffffff);
    ck_assert_uint_eq(c.mdays, 0xfffffffe);
    ck_assert_uint_eq(c.months, 0x1ffe);
    ck_assert_uint_eq(c.wdays, 0x7f);
    ck_assert(c.mday_star && c.wday_star && !c.fixed_time);

    c = parse("5 4 3 2 1");
    ck_assert(c.minutes == BIT(5));
    ck_assert_uint_eq(c.hours, BIT(4));
    ck_assert_uint_eq(c.mdays, BIT(3));
    ck_assert_uint_eq(c.months, BIT(2));
    ck_assert_uint_eq(c.wdays, BIT(1));
    ck_assert(!c.mday_star && !c.wday_star && c.fixed_time);

    /* Blanks around and between fields. */
    c = parse(" \t0\t 12  * *\t* ");
    ck_assert(c.minutes == BIT(0));
    ck_assert_uint_eq(c.hours, BIT(12));
}
END_TEST

START_TEST(parse_ranges_steps_lists)
{
    struct sl_cron c;

    c = parse("1-5 */6 10-30/10 */5 *");
    ck_assert(c.minutes == (BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5)));
    ck_assert_uint_eq(c.hours, BIT(0) | BIT(6) | BIT(12) | BIT(18));
    ck_assert_uint_eq(c.mdays, BIT(10) | BIT(20) | BIT(30));
    ck_assert_uint_eq(c.months, BIT(1) | BIT(6) | BIT(11));
    ck_assert(c.mday_star == false); /* "10-30/10" does not start with '*' */

    /* "a/n" runs from a to the maximum. */
    c = parse("5/20 20/2 * * *");
    ck_assert(c.minutes == (BIT(5) | BIT(25) | BIT(45)));
    ck_assert_uint_eq(c.hours, BIT(20) | BIT(22));

    /* Lists mixing all forms. */
    c = parse("0,15,30-32,50-59/5 1,2 1,15,31 * *");
    ck_assert(c.minutes == (BIT(0) | BIT(15) | BIT(30) | BIT(31) | BIT(32) |
                            BIT(50) | BIT(55)));
    ck_assert_uint_eq(c.hours, BIT(1) | BIT(2));
    ck_assert_uint_eq(c.mdays, BIT(1) | BIT(15) | BIT(31));
}
END_TEST

START_TEST(parse_names_and_sunday)
{
    struct sl_cron c;

    c = parse("0 0 * JAN-MAR,jul,Dec mon-FRI");
    ck_assert_uint_eq(c.months, BIT(1) | BIT(2) | BIT(3) | BIT(7) | BIT(12));
    ck_assert_uint_eq(c.wdays, 0x3e);

    /* 0 and 7 are both Sunday. */
    ck_assert_uint_eq(parse("0 0 * * 7").wdays, BIT(0));
    ck_assert_uint_eq(parse("0 0 * * 0").wdays, BIT(0));
    ck_assert_uint_eq(parse("0 0 * * SUN").wdays, BIT(0));
    ck_assert_uint_eq(parse("0 0 * * 5-7").wdays, BIT(5) | BIT(6) | BIT(0));
    ck_assert_uint_eq(parse("0 0 * * */2").wdays,
                      BIT(0) | BIT(2) | BIT(4) | BIT(6));
    ck_assert_uint_eq(parse("0 0 * FEB/3 *").months,
                      BIT(2) | BIT(5) | BIT(8) | BIT(11));
}
END_TEST

START_TEST(parse_macros)
{
    static const char *pairs[][2] = {
        {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},  {" @DAILY ", "0 0 * * *"},
    };

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct sl_cron a = parse(pairs[i][0]), b = parse(pairs[i][1]);

        ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0, "%s", pairs[i][0]);
    }
    ck_assert(parse("@daily").fixed_time);
    ck_assert(!parse("@hourly").fixed_time);
}
END_TEST

START_TEST(parse_refusals)
{
    char long_expr[SL_MAX_CRON_EXPR + 2];

    check_refused("61 * * * *", "minute: 61 is out of range 0-59");
    check_refused("* 24 * * *", "hour: 24 is out of range 0-23");
    check_refused("* * 0 * *", "day-of-month: 0 is out of range 1-31");
    check_refused("* * 32 * *", "day-of-month: 32 is out of range 1-31");
    check_refused("* * * 13 *", "month: 13 is out of range 1-12");
    check_refused("* * * * 8", "day-of-week: 8 is out of range 0-7");
    check_refused("99999999999 * * * *",
                  "minute: 99999999999 is out of range 0-59");
    check_refused("* * * FOO *", "month: unknown name \"FOO\"");
    check_refused("* * * * MON-FOO", "day-of-week: unknown name \"FOO\"");
    check_refused("* * * * MONDAY", "day-of-week: unknown name \"MONDAY\"");
    check_refused("MON * * * *", "minute: expected a number at \"MON\"");
    check_refused("* * JAN * *", "day-of-month: expected a number at \"JAN\"");
    check_refused("*/0 * * * *", "minute: step 0 is out of range 1-59");
    check_refused("* */24 * * *", "hour: step 24 is out of range 1-23");
    check_refused("5-1 * * * *", "minute: range \"5-1\" ends before it starts");
    check_refused("* * * * FRI-MON",
                  "day-of-week: range \"FRI-MON\" ends before it starts");
    check_refused("1,,2 * * * *", "minute: empty list item");
    check_refused("1, * * * *", "minute: empty list item");
    check_refused("1- * * * *", "minute: expected a number after \"1-\"");
    check_refused("* * * JAN- *",
                  "month: expected a number or name after \"JAN-\"");
    check_refused("*/ * * * *", "minute: expected a step after '/' in \"*/\"");
    check_refused("*x * * * *", "minute: unexpected \"x\" in \"*x\"");
    check_refused("1-2-3 * * * *", "minute: unexpected \"-3\" in \"1-2-3\"");
    check_refused("* * * *",
                  "expected 5 fields (minute hour day-of-month month "
                  "day-of-week), found 4");
    check_refused("* * * * * *",
                  "expected 5 fields (minute hour day-of-month month "
                  "day-of-week), found 6");
    check_refused("", "the expression is empty");
    check_refused(" \t ", "the expression is empty");
    check_refused("@reboot", "unknown macro \"@reboot\"");
    check_refused("@daily 1", "unknown macro \"@daily 1\"");
    check_refused("* * * * *\n",
                  "the expression has a control or non-ASCII character");
    memset(long_expr, ' ', sizeof(long_expr) - 1);
    long_expr[0] = '*';
    long_expr[sizeof(long_expr) - 1] = '\0';
    check_refused(long_expr, "the expression is longer than 256 characters");
}
END_TEST

START_TEST(parse_error_buffer)
{
    struct sl_cron c;
    char small[8];

    /* No buffer, or a short one: still refused, never overrun. */
    ck_assert_int_eq(sl_cron_parse("61 * * * *", &c, NULL, 0), SL_EINVAL);
    ck_assert_int_eq(sl_cron_parse("61 * * * *", &c, small, sizeof(small)),
                     SL_EINVAL);
    ck_assert_str_eq(small, "minute:");
    ck_assert_int_eq(sl_cron_parse(NULL, &c, small, sizeof(small)), SL_EINVAL);
    ck_assert_int_eq(sl_cron_parse("* * * * *", NULL, NULL, 0), SL_EINVAL);
}
END_TEST

/* --- Next runs in UTC ------------------------------------------------- */

START_TEST(next_utc_basics)
{
    /* 2026-01-09T16:40:00Z, a Friday. Runs are strictly after. */
    RUNS(NULL, "* * * * *", 1767976800, 1767976860, 1767976920);
    RUNS(NULL, "* * * * *", 1767976859, 1767976860);
    RUNS(NULL, "0 17 * * *", 1767976800, 1767978000, 1768064400);
    RUNS("UTC", "@yearly", 1767976800, 1798761600);
    RUNS(NULL, "@monthly", 1767976800, 1769904000);
    RUNS(NULL, "@weekly", 1767976800, 1768089600); /* Sunday the 11th */
    RUNS(NULL, "@hourly", 1767976800, 1767978000, 1767981600);
    RUNS(NULL, "@daily", 1767976800, 1768003200);
    /* 23:59 on December 31 rolls over the year. */
    RUNS(NULL, "59 23 31 12 *", 1767976800, 1798761540);
}
END_TEST

START_TEST(next_utc_steps)
{
    /* 09:10, 09:20, 09:30 on weekdays; Monday 2026-01-12 first. */
    RUNS(NULL, "10-30/10 9 * * MON-FRI", 1767976800, 1768209000, 1768209600,
         1768210200, 1768295400);
    /* Every 15 minutes from 16:40 on the hour's quarters. */
    RUNS(NULL, "*/15 * * * *", 1767976800, 1767977100, 1767978000, 1767978900);
}
END_TEST

START_TEST(next_leap_days)
{
    /* From 2025 the next February 29 is 2028's. */
    RUNS(NULL, "0 0 29 2 *", 1735689600, 1835395200);
    /* 2100 is not a leap year: from 2096-03-01, wait until 2104. */
    RUNS(NULL, "0 0 29 2 *", 3981398400LL, 4233686400LL);
}
END_TEST

START_TEST(next_impossible)
{
    static const char *never[] = {"0 0 30 2 *", "0 0 31 4 *",
                                  "0 0 31 2,4,6,9,11 *"};
    int64_t next = 42;

    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        struct sl_cron c = parse(never[i]);

        ck_assert_int_eq(sl_cron_next(&c, NULL, 1767976800, &next),
                         SL_ENOTFOUND);
        ck_assert_int_eq(next, 42);
    }
}
END_TEST

START_TEST(next_day_rules)
{
    /*
     * Both day fields restricted: the 13th or any Friday. From
     * 2026-01-01: Friday 2, Friday 9, Tuesday 13, Friday 16.
     */
    RUNS(NULL, "0 0 13 * FRI", 1767225600, 1767312000, 1767916800, 1768262400,
         1768521600);
    /* One starts with '*': both must match, so the first is May 1. */
    RUNS(NULL, "0 0 */10 * FRI", 1767225600, 1777593600);
    /* Only the day of the week restricted. */
    RUNS(NULL, "0 0 * * FRI", 1767225600, 1767312000, 1767916800);
}
END_TEST

START_TEST(next_bad_arguments)
{
    struct sl_cron c = parse("* * * * *");
    int64_t next;

    ck_assert_int_eq(sl_cron_next(&c, NULL, SL_TZ_TIME_MAX + 1, &next),
                     SL_EINVAL);
    ck_assert_int_eq(sl_cron_next(NULL, NULL, 0, &next), SL_EINVAL);
    ck_assert_int_eq(sl_cron_next(&c, NULL, 0, NULL), SL_EINVAL);
    /* Nothing after the last minute of year 9999. */
    ck_assert_int_eq(sl_cron_next(&c, NULL, SL_TZ_TIME_MAX, &next),
                     SL_ENOTFOUND);
}
END_TEST

/* --- Next runs across daylight-saving changes ------------------------ */

START_TEST(next_paris_spring_forward)
{
    /*
     * 2025-03-30: 02:00 CET becomes 03:00 CEST at 01:00Z. A fixed-time job
     * at 02:30 runs at the end of the gap, 03:00 CEST, then at 02:30 CEST
     * the next day.
     */
    RUNS("Europe/Paris", "30 2 * * *", 1743249600, 1743296400, 1743381000);
    /* Hourly at :30 skips the missing 02:30: 01:30 CET, then 03:30 CEST. */
    RUNS("Europe/Paris", "30 * * * *", 1743292800, 1743294600, 1743298200);
    /* Every 15 minutes keeps its real rhythm: 01:45 CET, 03:00 CEST. */
    RUNS("Europe/Paris", "*/15 * * * *", 1743294600, 1743295500, 1743296400);
    /* A daily job at 09:00 stays at 09:00 local. */
    RUNS("Europe/Paris", "0 9 * * *", 1743249600, 1743318000, 1743404400);
}
END_TEST

START_TEST(next_paris_fall_back)
{
    /*
     * 2025-10-26: 03:00 CEST becomes 02:00 CET at 01:00Z. 02:30 happens
     * twice and runs once, at its first occurrence (00:30Z).
     */
    RUNS("Europe/Paris", "30 2 * * *", 1761393600, 1761438600, 1761528600);
    /* Hourly: 02:00 CEST, then 03:00 CET; the second 02:00 is skipped. */
    RUNS("Europe/Paris", "0 * * * *", 1761433200, 1761436800, 1761444000);
    /* Asked from inside the repeated hour, the second 02:30 is not run. */
    RUNS("Europe/Paris", "30 2 * * *", 1761441300, 1761528600);
}
END_TEST

START_TEST(next_new_york)
{
    /* 2025-03-09: 02:30 does not exist; the job runs at 03:00 EDT. */
    RUNS("America/New_York", "30 2 * * *", 1741435200, 1741503600, 1741588200);
    /* 09:00 local before and after the change. */
    RUNS("America/New_York", "0 9 * * *", 1741446000, 1741525200);
    /* 2025-11-02: 01:30 happens twice; it runs at 05:30Z only. */
    RUNS("America/New_York", "30 1 * * *", 1761998400, 1762061400, 1762151400);
}
END_TEST

START_TEST(next_other_zones)
{
    /* Lord Howe skips 02:00-02:30 on 2025-10-05: 02:15 runs at 02:30. */
    RUNS("Australia/Lord_Howe", "15 2 * * *", 1759536000, 1759591800,
         1759677300);
    /* Kolkata, +05:30: 09:00 IST is 03:30Z. */
    RUNS("Asia/Kolkata", "0 9 * * *", 1767916800, 1767929400);
    /* Past the table, from the footer rule: 2090-03-26, 02:30 Paris. */
    RUNS("Europe/Paris", "30 2 26 3 *", 3786955200LL, 3794173200LL);
}
END_TEST

/* The whole question: each failure says which part was wrong. */
START_TEST(next_in_zone_by_name)
{
    char err[128];
    int64_t t = 0;

    /* Kolkata, +05:30: 09:00 IST is 03:30Z. */
    ck_assert_int_eq(sl_cron_next_in("0 9 * * *", "Asia/Kolkata", 1767916800,
                                     &t, err, sizeof(err)),
                     SL_OK);
    ck_assert_int_eq(t, 1767929400);
    ck_assert_int_eq(
        sl_cron_next_in("61 * * * *", "UTC", 0, &t, err, sizeof(err)),
        SL_EPARSE);
    ck_assert_msg(strstr(err, "minute") != NULL, "%s", err);
    ck_assert_int_eq(
        sl_cron_next_in("0 9 * * *", "Mars/Olympus", 0, &t, err, sizeof(err)),
        SL_EINVAL);
    ck_assert_int_eq(sl_cron_next_in("0 0 30 2 *", "UTC", 0, &t, NULL, 0),
                     SL_ENOTFOUND);
}
END_TEST

/*
 * Only the three answers that last say that a schedule is wrong; a zone
 * database that cannot be read now, or a search that fails, may pass
 * (the scheduler then tries again rather than disable the schedule).
 */
START_TEST(next_in_passing_failures)
{
    char dir[] = "/tmp/test_cron.XXXXXX", path[64];
    int64_t t = 0;
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/Broken", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a zone file\n", f);
    ck_assert_int_eq(fclose(f), 0);

    ck_assert_int_eq(setenv("TZDIR", dir, 1), 0);
    /* A zone file that cannot be read as one. */
    ck_assert_int_eq(sl_cron_next_in("0 9 * * *", "Broken", 0, &t, NULL, 0),
                     SL_EIO);
    /* A name that names no file is still the schedule's fault. */
    ck_assert_int_eq(
        sl_cron_next_in("0 9 * * *", "Europe/Paris", 0, &t, NULL, 0),
        SL_EINVAL);
    /* No zone database at all. */
    ck_assert_int_eq(setenv("TZDIR", "/nonexistent", 1), 0);
    ck_assert_int_eq(
        sl_cron_next_in("0 9 * * *", "Europe/Paris", 0, &t, NULL, 0), SL_EIO);
    ck_assert_int_eq(unsetenv("TZDIR"), 0);
    /* A search that cannot start (the clock out of range) proves nothing. */
    ck_assert_int_eq(
        sl_cron_next_in("0 9 * * *", "UTC", SL_TZ_TIME_MAX + 1, &t, NULL, 0),
        SL_ERR);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *
cron_suite(void)
{
    Suite *s = suite_create("cron");
    TCase *p = tcase_create("parse");
    TCase *n = tcase_create("next");

    tcase_add_test(p, parse_star_and_values);
    tcase_add_test(p, parse_ranges_steps_lists);
    tcase_add_test(p, parse_names_and_sunday);
    tcase_add_test(p, parse_macros);
    tcase_add_test(p, parse_refusals);
    tcase_add_test(p, parse_error_buffer);
    suite_add_tcase(s, p);

    tcase_add_test(n, next_utc_basics);
    tcase_add_test(n, next_utc_steps);
    tcase_add_test(n, next_leap_days);
    tcase_add_test(n, next_impossible);
    tcase_add_test(n, next_day_rules);
    tcase_add_test(n, next_bad_arguments);
    tcase_add_test(n, next_paris_spring_forward);
    tcase_add_test(n, next_paris_fall_back);
    tcase_add_test(n, next_new_york);
    tcase_add_test(n, next_other_zones);
    tcase_add_test(n, next_in_zone_by_name);
    tcase_add_test(n, next_in_passing_failures);
    suite_add_tcase(s, n);
    return s;
}

SL_TEST_MAIN(cron_suite)
