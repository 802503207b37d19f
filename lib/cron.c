/*
 * cron.c: cron expressions as bit masks, and their next run (see cron.h).
 *
 * Parsing is driven by a table of the five fields (name, bounds, value
 * names) and a table of macros. The search walks local calendar time
 * forward from the instant after: a month, day or hour that cannot match
 * is skipped whole, the next matching hour and minute are read off the
 * masks, and each candidate local time is resolved to UTC by the zone.
 */
#include "cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "limits.h"

/* At most this many characters of bad input are quoted in a message. */
#define QUOTE_MAX 24

enum { F_MINUTE, F_HOUR, F_MDAY, F_MONTH, F_WDAY, NFIELDS };

struct field {
    const char *name;
    int min;
    int max;
    const char *const *names; /* three-letter names of min, min + 1, ... */
    int nnames;
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR",
                                          "MAY", "JUN", "JUL", "AUG",
                                          "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED",
                                        "THU", "FRI", "SAT"};

static const struct field fields[NFIELDS] = {
    [F_MINUTE] = {"minute", 0, 59, NULL, 0},
    [F_HOUR] = {"hour", 0, 23, NULL, 0},
    [F_MDAY] = {"day-of-month", 1, 31, NULL, 0},
    [F_MONTH] = {"month", 1, 12, month_names, 12},
    /* 7 is Sunday again; it has no name of its own. */
    [F_WDAY] = {"day-of-week", 0, 7, day_names, 7},
};

struct macro {
    const char *name;
    const char *expr;
};

static const struct macro macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Where a parse writes its message. */
struct errbuf {
    char *buf;
    size_t size;
};

/* Writes a message to e, if it has room, and returns SL_EINVAL. */
static int fail(struct errbuf *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct errbuf *e, const char *fmt, ...)
{
    va_list ap;

    if (e->buf != NULL && e->size > 0) {
        va_start(ap, fmt);
        vsnprintf(e->buf, e->size, fmt, ap);
        va_end(ap);
    }
    return SL_EINVAL;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The length to quote of the text from p to end. */
static int
quote_len(const char *p, const char *end)
{
    return end - p > QUOTE_MAX ? QUOTE_MAX : (int)(end - p);
}

/*
 * Reads a value of field fi (a number, or a name where the field has
 * names) from *s, which ends before end, and advances *s. item is the
 * start of the list item, for messages. Returns 0 or SL_EINVAL.
 */
static int
parse_value(struct errbuf *e, int fi, const char *item, const char **s,
            const char *end, int *out)
{
    const struct field *f = &fields[fi];
    const char *p = *s;
    int v = 0;

    if (p < end && is_digit(*p)) {
        while (p < end && is_digit(*p)) {
            if (v <= 1000)
                v = v * 10 + (*p - '0');
            p++;
        }
        if (v < f->min || v > f->max)
            return fail(e, "%s: %.*s is out of range %d-%d", f->name,
                        quote_len(*s, p), *s, f->min, f->max);
    } else if (p < end && is_alpha(*p) && f->names != NULL) {
        while (p < end && is_alpha(*p))
            p++;
        for (v = 0; v < f->nnames; v++)
            if (p - *s == 3 && strncasecmp(*s, f->names[v], 3) == 0)
                break;
        if (v == f->nnames)
            return fail(e, "%s: unknown name \"%.*s\"", f->name,
                        quote_len(*s, p), *s);
        v += f->min;
    } else if (p == end) {
        return fail(e, "%s: expected a %s after \"%.*s\"", f->name,
                    f->names != NULL ? "number or name" : "number",
                    quote_len(item, end), item);
    } else {
        return fail(e, "%s: expected a %s at \"%.*s\"", f->name,
                    f->names != NULL ? "number or name" : "number",
                    quote_len(p, end), p);
    }
    *s = p;
    *out = v;
    return SL_OK;
}

/*
 * Parses one list item of field fi, the text from p to end, and sets its
 * values in *bits. Returns 0 or SL_EINVAL.
 */
static int
parse_item(struct errbuf *e, int fi, const char *p, const char *end,
           uint64_t *bits)
{
    const struct field *f = &fields[fi];
    const char *item = p;
    int lo, hi, step = 1, rc;

    if (p == end)
        return fail(e, "%s: empty list item", f->name);
    if (*p == '*') {
        lo = f->min;
        hi = f->max;
        p++;
    } else {
        if ((rc = parse_value(e, fi, item, &p, end, &lo)) != SL_OK)
            return rc;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            if ((rc = parse_value(e, fi, item, &p, end, &hi)) != SL_OK)
                return rc;
            if (hi < lo)
                return fail(e, "%s: range \"%.*s\" ends before it starts",
                            f->name, quote_len(item, p), item);
        } else if (p < end && *p == '/') {
            hi = f->max; /* "a/n" runs from a to the maximum */
        }
    }
    if (p < end && *p == '/') {
        const char *s = ++p;

        step = 0;
        while (p < end && is_digit(*p)) {
            if (step <= 1000)
                step = step * 10 + (*p - '0');
            p++;
        }
        if (p == s)
            return fail(e, "%s: expected a step after '/' in \"%.*s\"", f->name,
                        quote_len(item, end), item);
        if (step < 1 || step > f->max)
            return fail(e, "%s: step %.*s is out of range 1-%d", f->name,
                        quote_len(s, p), s, f->max);
    }
    if (p != end)
        return fail(e, "%s: unexpected \"%.*s\" in \"%.*s\"", f->name,
                    quote_len(p, end), p, quote_len(item, end), item);
    for (int v = lo; v <= hi; v += step)
        *bits |= UINT64_C(1) << (fi == F_WDAY && v == 7 ? 0 : v);
    return SL_OK;
}

/* Parses field fi, the text from p to end, into *bits. */
static int
parse_field(struct errbuf *e, int fi, const char *p, const char *end,
            uint64_t *bits)
{
    *bits = 0;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma != NULL ? comma : end;
        int rc = parse_item(e, fi, p, item_end, bits);

        if (rc != SL_OK)
            return rc;
        if (comma == NULL)
            return SL_OK;
        p = comma + 1;
    }
}

/* Parses the text from p to end, trimmed and free of control bytes. */
static int
parse_fields(struct errbuf *e, const char *p, const char *end,
             struct sl_cron *out)
{
    const char *start[NFIELDS], *stop[NFIELDS];
    uint64_t bits[NFIELDS];
    int n = 0, rc;

    while (p < end) {
        const char *s = p;

        while (p < end && !is_blank(*p))
            p++;
        if (n < NFIELDS) {
            start[n] = s;
            stop[n] = p;
        }
        n++;
        while (p < end && is_blank(*p))
            p++;
    }
    if (n != NFIELDS)
        return fail(e,
                    "expected 5 fields (minute hour day-of-month month "
                    "day-of-week), found %d",
                    n);
    for (int i = 0; i < NFIELDS; i++)
        if ((rc = parse_field(e, i, start[i], stop[i], &bits[i])) != SL_OK)
            return rc;
    memset(out, 0, sizeof(*out));
    out->minutes = bits[F_MINUTE];
    out->hours = (uint32_t)bits[F_HOUR];
    out->mdays = (uint32_t)bits[F_MDAY];
    out->months = (uint16_t)bits[F_MONTH];
    out->wdays = (uint8_t)bits[F_WDAY];
    out->mday_star = *start[F_MDAY] == '*';
    out->wday_star = *start[F_WDAY] == '*';
    out->fixed_time = *start[F_MINUTE] != '*' && *start[F_HOUR] != '*';
    return SL_OK;
}

int
sl_cron_parse(const char *expr, struct sl_cron *out, char *err, size_t errsz)
{
    struct errbuf e = {err, errsz};
    struct sl_cron c;
    const char *p, *end;
    size_t len;
    int rc;

    if (err != NULL && errsz > 0)
        err[0] = '\0';
    if (expr == NULL || out == NULL)
        return fail(&e, "no expression");
    len = strnlen(expr, SL_MAX_CRON_EXPR + 1);
    if (len > SL_MAX_CRON_EXPR)
        return fail(&e, "the expression is longer than %d characters",
                    SL_MAX_CRON_EXPR);
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)expr[i] < 0x20 && expr[i] != '\t') ||
            (unsigned char)expr[i] >= 0x7f)
            return fail(&e, "the expression has a control or non-ASCII "
                            "character");
    p = expr;
    end = expr + len;
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    if (p == end)
        return fail(&e, "the expression is empty");
    if (*p == '@') {
        const struct macro *m = NULL;
        size_t n = (size_t)(end - p);

        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
            if (strlen(macros[i].name) == n &&
                strncasecmp(p, macros[i].name, n) == 0)
                m = &macros[i];
        if (m == NULL)
            return fail(&e, "unknown macro \"%.*s\"", quote_len(p, end), p);
        p = m->expr;
        end = p + strlen(p);
    }
    if ((rc = parse_fields(&e, p, end, &c)) != SL_OK)
        return rc;
    *out = c;
    return SL_OK;
}

/* --- The next run ----------------------------------------------------- */

static bool
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* 0 for Sunday. Years 0 to 9999; m is 1..12. */
static int
weekday(int y, int m, int d)
{
    static const int before[] = {0,   31,  59,  90,  120, 151,
                                 181, 212, 243, 273, 304, 334};
    /*
     * Days counted as if the year were y + 400, so that the divisions see
     * positive numbers: 400 Gregorian years are a whole number of weeks,
     * so the weekday is unchanged. The count happens to be a multiple of 7
     * on Sundays (2000-01-01, a Saturday, gives 6), so no offset is needed.
     */
    int64_t yy = (int64_t)y + 400 - 1;
    int64_t days = yy * 365 + yy / 4 - yy / 100 + yy / 400 + before[m - 1] +
                   (m > 2 && is_leap(y)) + d;

    return (int)(days % 7);
}

static bool
day_matches(const struct sl_cron *c, int y, int m, int d)
{
    bool mday = c->mdays >> d & 1;
    bool wday = c->wdays >> weekday(y, m, d) & 1;

    if (c->mday_star || c->wday_star)
        return mday && wday;
    return mday || wday;
}

/* The smallest value at least from whose bit is set in mask, or -1. */
static int
next_bit(uint64_t mask, int from)
{
    uint64_t rest;

    if (from > 63)
        return -1;
    rest = mask >> from;
    return rest == 0 ? -1 : from + __builtin_ctzll(rest);
}

/*
 * The instant at which the schedule runs for the local time in *lt, into
 * *t. Returns false when it does not run for it: a local time in a gap,
 * for a schedule that is not fixed-time (see cron.h).
 */
static bool
resolve(const struct sl_cron *c, const struct sl_tz *tz, const struct tm *lt,
        int64_t *t)
{
    struct sl_tz_utc u;

    if (sl_tz_to_utc(tz, lt, &u) != SL_OK)
        return false;
    if (u.fold == SL_TZ_GAP && !c->fixed_time)
        return false;
    *t = u.first; /* the first occurrence, or the end of the gap */
    return true;
}

int
sl_cron_next(const struct sl_cron *c, const struct sl_tz *tz, int64_t after,
             int64_t *next)
{
    struct tm lt;
    int y, mo, d, h, mi, last_year, rc;

    if (c == NULL || next == NULL)
        return SL_EINVAL;
    if ((rc = sl_tz_localtime(tz, after, &lt)) != SL_OK)
        return rc;
    /* Runs are on whole minutes: start at the minute after. */
    y = lt.tm_year + 1900;
    mo = lt.tm_mon + 1;
    d = lt.tm_mday;
    h = lt.tm_hour;
    mi = lt.tm_min + 1;
    last_year = y + SL_CRON_HORIZON_YEARS;
    if (last_year > 9999)
        last_year = 9999;

    while (y <= last_year) {
        int64_t t;
        int hh, mm;

        if (!(c->months >> mo & 1) || d > month_days(y, mo)) {
            d = 1;
            h = mi = 0;
            if (++mo > 12) {
                mo = 1;
                y++;
            }
            continue;
        }
        hh = day_matches(c, y, mo, d) ? next_bit(c->hours, h) : -1;
        if (hh < 0 || hh > 23) {
            d++;
            h = mi = 0;
            continue;
        }
        if (hh > h) {
            h = hh;
            mi = 0;
        }
        mm = next_bit(c->minutes, mi);
        if (mm < 0 || mm > 59) {
            h++;
            mi = 0;
            continue;
        }
        mi = mm;
        memset(&lt, 0, sizeof(lt));
        lt.tm_year = y - 1900;
        lt.tm_mon = mo - 1;
        lt.tm_mday = d;
        lt.tm_hour = h;
        lt.tm_min = mi;
        if (resolve(c, tz, &lt, &t) && t > after) {
            *next = t;
            return SL_OK;
        }
        mi++;
    }
    return SL_ENOTFOUND;
}

int
sl_cron_next_in(const char *expr, const char *zone, int64_t after,
                int64_t *next, char *err, size_t errsz)
{
    struct sl_cron cron;
    struct sl_tz *tz = NULL;
    int rc;

    if (sl_cron_parse(expr, &cron, err, errsz) != SL_OK)
        return SL_EPARSE;
    /* Only a name that names no zone is the schedule's fault; a zone
     * database that cannot be read now may be readable later. */
    rc = sl_tz_load(zone, &tz);
    if (rc == SL_EINVAL || rc == SL_ENOMEM)
        return rc;
    if (rc != SL_OK)
        return SL_EIO;
    rc = sl_cron_next(&cron, tz, after, next);
    sl_tz_destroy(tz);
    /* SL_ENOTFOUND is a proof that it never fires; anything else (an
     * instant out of range: the clock) is not. */
    return rc == SL_OK || rc == SL_ENOTFOUND ? rc : SL_ERR;
}
