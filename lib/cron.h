/*
 * cron.h: five-field cron schedules and their next run.
 *
 * An expression is "minute hour day-of-month month day-of-week", fields
 * separated by spaces or tabs. Each field is a comma-separated list of
 * items; an item is '*', a value, or a range a-b (a <= b), and may end in
 * a step "/n": every n-th value of '*' or of the range, and for a single
 * value a, of the range from a to the field's maximum ("5/15" is 5,20,35,50
 * in the minute field).
 *
 *   minute        0-59
 *   hour          0-23
 *   day-of-month  1-31
 *   month         1-12 or JAN-DEC
 *   day-of-week   0-7 or SUN-SAT (0 and 7 are both Sunday)
 *
 * Names are case-insensitive and may be range ends ("MON-FRI"). A step is
 * 1 to the field's maximum. An expression may instead be one macro:
 * @yearly and @annually (0 0 1 1 *), @monthly (0 0 1 * *), @weekly
 * (0 0 * * 0), @daily and @midnight (0 0 * * *), @hourly (0 * * * *).
 *
 * Days follow Vixie cron: when both day fields are restricted (neither
 * starts with '*'), a day matches if either matches ("0 0 1,15 * MON" runs
 * on the 1st, the 15th and every Monday); otherwise both must match.
 *
 * Schedules are evaluated in a zone's local wall-clock time. Around
 * daylight-saving changes:
 *
 * - A local time that occurs twice (clocks go back) runs once, at its first
 *   occurrence. This holds for every schedule: one every ten minutes
 *   skips the repeated hour, so two of its runs are seventy minutes apart.
 * - A local time that does not occur (clocks go forward) is skipped by a
 *   schedule whose minute or hour field starts with '*' (it runs on its
 *   other times, as the clock shows them). A fixed-time schedule, whose
 *   minute and hour fields both name values ("30 2 * * *"), runs once
 *   instead at the instant the gap ends (03:00 local in Europe/Paris), so a
 *   daily job is never lost. This is Vixie cron's rule.
 */
#ifndef SL_CRON_H
#define SL_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tz.h"

/*
 * sl_cron_next() gives up after this many years of local time. The longest
 * wait of a possible schedule is 8 years: February 29 from 2096 to 2104.
 */
#define SL_CRON_HORIZON_YEARS 10

/*
 * A parsed expression, owned by the caller and filled by sl_cron_parse();
 * callers read it but do not build it. Bit n of each mask is value n.
 */
struct sl_cron {
    uint64_t minutes; /* 0-59 */
    uint32_t hours;   /* 0-23 */
    uint32_t mdays;   /* 1-31 */
    uint16_t months;  /* 1-12 */
    uint8_t wdays;    /* 0-6, Sunday = 0 */
    bool mday_star;   /* the day-of-month field starts with '*' */
    bool wday_star;   /* the day-of-week field starts with '*' */
    bool fixed_time;  /* neither minute nor hour starts with '*' */
};

/*
 * Parses expr (at most SL_MAX_CRON_EXPR bytes) into *out. Returns 0, or
 * SL_EINVAL (also for a NULL expr or out) with *out untouched and, when
 * err is not NULL and errsz is not 0, a message in err naming the field
 * and the fault ("minute: 61 is out of range 0-59"), truncated to errsz
 * bytes. On success err is set to "".
 */
int sl_cron_parse(const char *expr, struct sl_cron *out, char *err,
                  size_t errsz);

/*
 * Stores in *next the first instant strictly after the instant after at
 * which the schedule runs, matched against the local time of tz (borrowed;
 * NULL means UTC), by the rules above. Runs are on whole minutes of local
 * time. Returns 0; SL_ENOTFOUND when no run falls within
 * SL_CRON_HORIZON_YEARS (as for "0 0 30 2 *") or before year 10000; or
 * SL_EINVAL for a NULL c or next, or an instant outside SL_TZ_TIME_MIN to
 * SL_TZ_TIME_MAX.
 */
int sl_cron_next(const struct sl_cron *c, const struct sl_tz *tz, int64_t after,
                 int64_t *next);

/*
 * The whole question at once: the first instant strictly after after at
 * which expr fires in the IANA zone named zone, into *next. Returns 0,
 * or one of three answers that will not change as long as expr and zone
 * do not: SL_EPARSE when expr does not parse (err, as for
 * sl_cron_parse(), says why); SL_EINVAL when zone names no zone
 * (sl_tz_load()); SL_ENOTFOUND when it never fires (sl_cron_next()).
 * Any other code is a failure that may pass: SL_EIO when the zone could
 * not be read (its database missing or unreadable, its file not a zone
 * file this module reads), SL_ENOMEM, or SL_ERR when the search itself
 * failed (an instant out of range).
 */
int sl_cron_next_in(const char *expr, const char *zone, int64_t after,
                    int64_t *next, char *err, size_t errsz);

#endif
