/*
 * test_sched.c: the parts of firing schedules that need no database: the
 * next time an item moves on to (strictly after now, in its own zone,
 * and each way that fails), and what each answer of scheduler_fire()
 * means for the caller. The firing itself, against PostgreSQL and NATS,
 * is it_schedules' and it_runs'.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "sched.h"
#include "unit.h"

#define JAN_1_2025  1735689600 /* 2025-01-01T00:00:00Z */
#define JAN_15_2025 1736899200
#define JUL_15_2025 1752537600

START_TEST(the_next_time_is_strictly_after_now)
{
    char out[SL_RFC3339_MAX];

    ck_assert_int_eq(
        sl_sched_next_time("0 2 * * *", "UTC", JAN_1_2025, out, NULL, 0), 0);
    ck_assert_str_eq(out, "2025-01-01T02:00:00Z");
    /* At the very time it fires, the next is the day after. */
    ck_assert_int_eq(
        sl_sched_next_time("0 2 * * *", "UTC", JAN_1_2025 + 7200, out, NULL, 0),
        0);
    ck_assert_str_eq(out, "2025-01-02T02:00:00Z");
    ck_assert_int_eq(
        sl_sched_next_time("@hourly", "UTC", JAN_1_2025, out, NULL, 0), 0);
    ck_assert_str_eq(out, "2025-01-01T01:00:00Z");
}
END_TEST

START_TEST(the_next_time_is_in_the_items_zone)
{
    char out[SL_RFC3339_MAX];

    /* 09:00 in Paris is 08:00Z in winter and 07:00Z in summer. */
    ck_assert_int_eq(sl_sched_next_time("0 9 * * *", "Europe/Paris",
                                        JAN_15_2025, out, NULL, 0),
                     0);
    ck_assert_str_eq(out, "2025-01-15T08:00:00Z");
    ck_assert_int_eq(sl_sched_next_time("0 9 * * *", "Europe/Paris",
                                        JUL_15_2025, out, NULL, 0),
                     0);
    ck_assert_str_eq(out, "2025-07-15T07:00:00Z");
}
END_TEST

START_TEST(a_next_time_that_cannot_be_computed)
{
    char out[SL_RFC3339_MAX] = "untouched";

    ck_assert_int_eq(
        sl_sched_next_time("61 * * * *", "UTC", JAN_1_2025, out, NULL, 0),
        SL_EPARSE);
    ck_assert_int_eq(sl_sched_next_time("", "UTC", JAN_1_2025, out, NULL, 0),
                     SL_EPARSE);
    ck_assert_int_eq(sl_sched_next_time("0 2 * * *", "Mars/Olympus", JAN_1_2025,
                                        out, NULL, 0),
                     SL_EINVAL);
    /* February the 30th never comes. */
    ck_assert_int_eq(
        sl_sched_next_time("0 0 30 2 *", "UTC", JAN_1_2025, out, NULL, 0),
        SL_ENOTFOUND);
    ck_assert_str_eq(out, "untouched");
}
END_TEST

/* The reason an item is disabled with says what is wrong, for people. */
START_TEST(why_a_next_time_cannot_be_computed)
{
    char out[SL_RFC3339_MAX], why[256];

    ck_assert_int_eq(sl_sched_next_time("61 * * * *", "UTC", JAN_1_2025, out,
                                        why, sizeof(why)),
                     SL_EPARSE);
    ck_assert_msg(strncmp(why,
                          "the cron expression \"61 * * * *\" is not valid",
                          44) == 0,
                  "%s", why);
    ck_assert_int_eq(sl_sched_next_time("0 2 * * *", "Mars/Olympus", JAN_1_2025,
                                        out, why, sizeof(why)),
                     SL_EINVAL);
    ck_assert_str_eq(why, "the time zone \"Mars/Olympus\" cannot be loaded");
    ck_assert_int_eq(sl_sched_next_time("0 0 30 2 *", "UTC", JAN_1_2025, out,
                                        why, sizeof(why)),
                     SL_ENOTFOUND);
    ck_assert_str_eq(why, "the cron expression \"0 0 30 2 *\" never fires");
}
END_TEST

/* Only what will not change by itself disables an item; a failure that
 * may pass leaves it due, saying what failed. */
START_TEST(only_what_lasts_disables)
{
    char out[SL_RFC3339_MAX], why[256];

    ck_assert(sl_sched_next_final(SL_EPARSE));
    ck_assert(sl_sched_next_final(SL_EINVAL));
    ck_assert(sl_sched_next_final(SL_ENOTFOUND));
    ck_assert(!sl_sched_next_final(SL_EIO));
    ck_assert(!sl_sched_next_final(SL_ENOMEM));
    ck_assert(!sl_sched_next_final(SL_ERR));
    ck_assert(!sl_sched_next_final(SL_EDB));

    ck_assert_int_eq(setenv("TZDIR", "/nonexistent", 1), 0);
    ck_assert_int_eq(sl_sched_next_time("0 2 * * *", "Europe/Paris", JAN_1_2025,
                                        out, why, sizeof(why)),
                     SL_EIO);
    ck_assert_int_eq(unsetenv("TZDIR"), 0);
    ck_assert_msg(strstr(why, "Europe/Paris") != NULL &&
                      strstr(why, "tried again") != NULL,
                  "%s", why);
}
END_TEST

START_TEST(what_scheduler_fire_answers)
{
    static const struct {
        const char *name;
        enum sl_sched_outcome outcome;
        bool reported;
    } answers[] = {
        {"fired", SL_SCHED_FIRED, true},
        {"quota", SL_SCHED_QUOTA, true},
        {"inactive", SL_SCHED_INACTIVE, true},
        /* Another scheduler fired it first: not this one's news. */
        {"taken", SL_SCHED_FIRED, false},
    };
    enum sl_sched_outcome o;
    bool reported;

    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        o = SL_SCHED_ERROR;
        reported = !answers[i].reported;
        ck_assert_int_eq(sl_sched_outcome_parse(answers[i].name, &o, &reported),
                         0);
        ck_assert_int_eq(o, answers[i].outcome);
        ck_assert_int_eq(reported, answers[i].reported);
    }
    /* An answer this file does not know is a database error, and changes
     * nothing. */
    o = SL_SCHED_QUOTA;
    reported = true;
    ck_assert_int_eq(sl_sched_outcome_parse("Fired", &o, &reported), SL_EDB);
    ck_assert_int_eq(sl_sched_outcome_parse("", &o, &reported), SL_EDB);
    ck_assert_int_eq(sl_sched_outcome_parse(NULL, &o, &reported), SL_EDB);
    ck_assert_int_eq(o, SL_SCHED_QUOTA);
    ck_assert(reported);
}
END_TEST

static Suite *
sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("sched");

    tcase_add_test(tc, the_next_time_is_strictly_after_now);
    tcase_add_test(tc, the_next_time_is_in_the_items_zone);
    tcase_add_test(tc, a_next_time_that_cannot_be_computed);
    tcase_add_test(tc, why_a_next_time_cannot_be_computed);
    tcase_add_test(tc, only_what_lasts_disables);
    tcase_add_test(tc, what_scheduler_fire_answers);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(sched_suite)
