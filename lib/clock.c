/*
 * clock.c: time sources and RFC 3339 formatting and parsing.
 */
#include "clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"

int64_t
sl_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t
sl_clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sl_clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
to_tm(int64_t unix_sec, struct tm *tm)
{
    time_t t = (time_t)unix_sec;

    if (gmtime_r(&t, tm) == NULL || tm->tm_year + 1900 < 0 ||
        tm->tm_year + 1900 > 9999)
        return SL_EINVAL;
    return SL_OK;
}

int
sl_clock_format(int64_t unix_sec, char *out)
{
    struct tm tm;

    if (to_tm(unix_sec, &tm) != SL_OK)
        return SL_EINVAL;
    /* The moduli only tell the compiler the ranges to_tm() checked. */
    snprintf(out, SL_RFC3339_MAX, "%04u-%02u-%02uT%02u:%02u:%02uZ",
             (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u);
    return SL_OK;
}

int
sl_clock_format_ms(int64_t unix_ms, char *out)
{
    struct tm tm;
    int64_t sec = unix_ms / 1000, ms = unix_ms % 1000;

    if (ms < 0) {
        ms += 1000;
        sec -= 1;
    }
    if (to_tm(sec, &tm) != SL_OK)
        return SL_EINVAL;
    snprintf(out, SL_RFC3339_MAX, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
             (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u, (unsigned)ms % 1000u);
    return SL_OK;
}

/* Reads exactly n digits at *p into *v and advances *p. */
static int
digits(const char **p, int n, int *v)
{
    int x = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int
days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

int
sl_clock_parse(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
    struct tm tm;
    time_t t;

    if (s == NULL)
        return SL_EPARSE;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return SL_EPARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return SL_EPARSE;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return SL_EPARSE;
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
            *p++ != ':' || digits(&p, 2, &sec))
            return SL_EPARSE;
        if (h > 23 || mi > 59 || sec > 60)
            return SL_EPARSE;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return SL_EPARSE;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p == '+' ? 1 : -1;
            p++;
            if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
                oh > 23 || om > 59)
                return SL_EPARSE;
        } else {
            return SL_EPARSE;
        }
        if (*p != '\0')
            return SL_EPARSE;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *out = (int64_t)t - (int64_t)sign * (oh * 3600 + om * 60);
    return SL_OK;
}
