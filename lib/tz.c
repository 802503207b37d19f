/*
 * tz.c: time zones from TZif files (see tz.h).
 *
 * A zone is a sorted table of transitions, each naming one of at most 256
 * local time types (an offset and a DST flag), and an optional POSIX TZ
 * rule ("CET-1CEST,M3.5.0,M10.5.0/3") that governs every instant after the
 * last transition. Everything the file says is checked as it is read:
 * counts against the file's size, transitions strictly ascending, type
 * indices in range, offsets within RFC 9636's -24:59:59 to +25:59:59.
 *
 * Internally a lookup answers with a period: the offset in effect at an
 * instant and the interval of instants over which it holds. Converting a
 * local time to UTC walks the periods that can contain an answer.
 */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "limits.h"

#define SECS_PER_DAY 86400

/* RFC 9636 section 3.2: offsets in -24:59:59 .. +25:59:59. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599

/* A TZif header: magic, version, 15 unused bytes, six 32-bit counts. */
#define TZIF_HEADER 44

/* A rule's transition time may be -167 to 167 hours (TZif version 3). */
#define RULE_HOURS_MAX 167

struct tz_type {
    int32_t utoff;
    bool isdst;
};

struct transition {
    int64_t at;
    uint8_t type;
};

/* One date of a POSIX TZ rule: Jn, n or Mm.w.d, at a local time. */
enum rule_kind { RULE_JULIAN, RULE_ZERO_BASED, RULE_MONTH_WEEK_DAY };

struct rule {
    enum rule_kind kind;
    int day; /* Jn: 1..365; n: 0..365; Mm.w.d: the weekday, 0..6 */
    int week;
    int month;
    int32_t time; /* seconds after local midnight */
};

/* A footer rule. Without DST, std_utoff holds for ever. */
struct posix_tz {
    int32_t std_utoff;
    int32_t dst_utoff;
    bool has_dst;
    struct rule start; /* into DST, in standard time */
    struct rule end;   /* out of DST, in daylight time */
};

struct sl_tz {
    bool has_footer;
    struct posix_tz footer;
    struct tz_type types[256]; /* the file's, at most 256; types[0] first */
    uint32_t ntrans;
    struct transition trans[];
};

/* The offset in effect over the instants [start, end). */
struct period {
    int64_t start;
    int64_t end;
    int32_t utoff;
    bool isdst;
};

/* --- Calendar arithmetic, proleptic Gregorian ------------------------ */

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Leap years in 1..y, counting backwards (negative) below year 1. */
static int64_t
leaps_through(int64_t y)
{
    return floor_div(y, 4) - floor_div(y, 100) + floor_div(y, 400);
}

/* Days from 1970-01-01 to y-m-d; m is 1..12 and d 1..31. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    static const int before[] = {0,   31,  59,  90,  120, 151,
                                 181, 212, 243, 273, 304, 334};
    int64_t days =
        (y - 1970) * 365 + leaps_through(y - 1) - leaps_through(1969);

    days += before[m - 1] + (m > 2 && is_leap(y)) + d - 1;
    return days;
}

/* 0 for Sunday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
    int64_t x = days + 4;

    return (int)(x - floor_div(x, 7) * 7);
}

/* The inverse of days_from_civil(), with the day of the year (0-based). */
static void
civil_from_days(int64_t days, int64_t *y, int *m, int *d, int *yday)
{
    int64_t year = 1970 + floor_div(days, 365);
    int64_t rest;
    int mon = 1;

    /* The estimate is off by a few years at most; walk to the right one. */
    while (days_from_civil(year, 1, 1) > days)
        year--;
    while (days_from_civil(year + 1, 1, 1) <= days)
        year++;
    rest = days - days_from_civil(year, 1, 1);
    *yday = (int)rest;
    while (rest >= month_days(year, mon)) {
        rest -= month_days(year, mon);
        mon++;
    }
    *y = year;
    *m = mon;
    *d = (int)rest + 1;
}

/* --- The footer's POSIX TZ rule -------------------------------------- */

static bool
is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads 1 to maxdig digits at *s into *out, at most max. */
static bool
parse_num(const char **s, int maxdig, int max, int *out)
{
    const char *p = *s;
    int v = 0, n = 0;

    while (is_digit(*p) && n < maxdig) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n == 0 || is_digit(*p) || v > max)
        return false;
    *s = p;
    *out = v;
    return true;
}

/* A zone abbreviation: three or more letters, or <...> quoted. */
static bool
parse_abbr(const char **s)
{
    const char *p = *s;
    size_t n = 0;

    if (*p == '<') {
        p++;
        while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-') {
            p++;
            n++;
        }
        if (*p != '>')
            return false;
        p++;
    } else {
        while (is_alpha(*p)) {
            p++;
            n++;
        }
    }
    if (n < 3)
        return false;
    *s = p;
    return true;
}

/* [+-]h[h][:mm[:ss]] with hours up to maxh, as signed seconds. */
static bool
parse_hms(const char **s, int maxh, int32_t *out)
{
    const char *p = *s;
    int sign = 1, h, m = 0, sec = 0;

    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!parse_num(&p, 3, maxh, &h))
        return false;
    if (*p == ':') {
        p++;
        if (!parse_num(&p, 2, 59, &m))
            return false;
        if (*p == ':') {
            p++;
            if (!parse_num(&p, 2, 59, &sec))
                return false;
        }
    }
    *s = p;
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
}

/* A rule date (Jn, n or Mm.w.d) and its optional /time. */
static bool
parse_rule(const char **s, struct rule *r)
{
    const char *p = *s;

    memset(r, 0, sizeof(*r));
    if (*p == 'J') {
        p++;
        r->kind = RULE_JULIAN;
        if (!parse_num(&p, 3, 365, &r->day) || r->day < 1)
            return false;
    } else if (*p == 'M') {
        p++;
        r->kind = RULE_MONTH_WEEK_DAY;
        if (!parse_num(&p, 2, 12, &r->month) || r->month < 1 || *p++ != '.' ||
            !parse_num(&p, 1, 5, &r->week) || r->week < 1 || *p++ != '.' ||
            !parse_num(&p, 1, 6, &r->day))
            return false;
    } else {
        r->kind = RULE_ZERO_BASED;
        if (!parse_num(&p, 3, 365, &r->day))
            return false;
    }
    r->time = 2 * 3600;
    if (*p == '/') {
        p++;
        if (!parse_hms(&p, RULE_HOURS_MAX, &r->time))
            return false;
    }
    *s = p;
    return true;
}

static bool
utoff_ok(int64_t utoff)
{
    return utoff >= UTOFF_MIN && utoff <= UTOFF_MAX;
}

/*
 * Parses a POSIX TZ string: std offset [dst [offset] ,start[/time],end
 * [/time]]. POSIX offsets count west of Greenwich, so "EST5" is UTC-5.
 * A DST name without a rule is refused: TZif footers always carry one.
 */
static int
parse_posix_tz(const char *s, struct posix_tz *out)
{
    int32_t off;

    memset(out, 0, sizeof(*out));
    if (!parse_abbr(&s) || !parse_hms(&s, 24, &off) || !utoff_ok(-off))
        return SL_EPARSE;
    out->std_utoff = -off;
    if (*s == '\0')
        return SL_OK;
    if (!parse_abbr(&s))
        return SL_EPARSE;
    out->has_dst = true;
    out->dst_utoff = out->std_utoff + 3600;
    if (*s != ',') {
        if (!parse_hms(&s, 24, &off) || !utoff_ok(-off))
            return SL_EPARSE;
        out->dst_utoff = -off;
    }
    if (!utoff_ok(out->dst_utoff) || *s++ != ',' ||
        !parse_rule(&s, &out->start) || *s++ != ',' ||
        !parse_rule(&s, &out->end) || *s != '\0')
        return SL_EPARSE;
    return SL_OK;
}

/* The local time, in seconds from 1970-01-01 local, at which r falls. */
static int64_t
rule_local(const struct rule *r, int64_t year)
{
    int64_t days = days_from_civil(year, 1, 1);

    switch (r->kind) {
    case RULE_JULIAN:
        /* Jn never counts February 29. */
        days += r->day - 1 + (is_leap(year) && r->day >= 60);
        break;
    case RULE_ZERO_BASED:
        days += r->day;
        break;
    case RULE_MONTH_WEEK_DAY: {
        int64_t first = days_from_civil(year, r->month, 1);
        int64_t last = first + month_days(year, r->month) - 1;

        /* Week 5 means the last such weekday of the month. */
        days = first + (r->day - weekday(first) + 7) % 7 + (r->week - 1) * 7;
        while (days > last)
            days -= 7;
        break;
    }
    }
    return days * SECS_PER_DAY + r->time;
}

struct edge {
    int64_t at;
    bool into_dst;
};

/*
 * The period of the footer rule containing t, clipped below at lo (the
 * last transition of the table). The rule's transitions are computed for
 * the two years either side of t's, so that transition times up to 167
 * hours off midnight still sort into place.
 */
static void
footer_period(const struct posix_tz *f, int64_t t, int64_t lo, struct period *p)
{
    struct edge e[10];
    int64_t year;
    int n = 0, month, day, yday, last = -1;

    p->start = lo;
    p->end = INT64_MAX;
    p->utoff = f->std_utoff;
    p->isdst = false;
    if (!f->has_dst)
        return;
    civil_from_days(floor_div(t + f->std_utoff, SECS_PER_DAY), &year, &month,
                    &day, &yday);
    for (int64_t y = year - 2; y <= year + 2; y++) {
        e[n].at = rule_local(&f->start, y) - f->std_utoff;
        e[n++].into_dst = true;
        e[n].at = rule_local(&f->end, y) - f->dst_utoff;
        e[n++].into_dst = false;
    }
    /* Insertion sort, stable: of two equal times the later rule wins. */
    for (int i = 1; i < n; i++) {
        struct edge x = e[i];
        int j = i;

        while (j > 0 && e[j - 1].at > x.at) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = x;
    }
    for (int i = 0; i < n && e[i].at <= t; i++)
        last = i;
    if (last >= 0) {
        p->isdst = e[last].into_dst;
        p->utoff = p->isdst ? f->dst_utoff : f->std_utoff;
        if (e[last].at > lo)
            p->start = e[last].at;
    }
    if (last + 1 < n)
        p->end = e[last + 1].at;
}

/* --- Lookups ---------------------------------------------------------- */

static void
type_period(const struct sl_tz *tz, unsigned type, int64_t start, int64_t end,
            struct period *p)
{
    p->start = start;
    p->end = end;
    p->utoff = tz->types[type].utoff;
    p->isdst = tz->types[type].isdst;
}

/*
 * The period containing t. Before the first transition time type 0
 * applies; from the last one on, the footer rule if there is one, else
 * the last transition's type (RFC 9636 section 3.2).
 */
static void
lookup(const struct sl_tz *tz, int64_t t, struct period *p)
{
    uint32_t lo = 0, hi;

    if (tz == NULL) {
        p->start = INT64_MIN;
        p->end = INT64_MAX;
        p->utoff = 0;
        p->isdst = false;
        return;
    }
    if (tz->ntrans == 0) {
        if (tz->has_footer)
            footer_period(&tz->footer, t, INT64_MIN, p);
        else
            type_period(tz, 0, INT64_MIN, INT64_MAX, p);
        return;
    }
    /* lo becomes the number of transitions at or before t. */
    hi = tz->ntrans;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (tz->trans[mid].at <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        type_period(tz, 0, INT64_MIN, tz->trans[0].at, p);
    else if (lo < tz->ntrans)
        type_period(tz, tz->trans[lo - 1].type, tz->trans[lo - 1].at,
                    tz->trans[lo].at, p);
    else if (tz->has_footer)
        footer_period(&tz->footer, t, tz->trans[lo - 1].at, p);
    else
        type_period(tz, tz->trans[lo - 1].type, tz->trans[lo - 1].at, INT64_MAX,
                    p);
}

static bool
in_range(int64_t t)
{
    return t >= SL_TZ_TIME_MIN && t <= SL_TZ_TIME_MAX;
}

int
sl_tz_offset(const struct sl_tz *tz, int64_t utc, int *offset_sec, bool *is_dst)
{
    struct period p;

    if (!in_range(utc))
        return SL_EINVAL;
    lookup(tz, utc, &p);
    if (offset_sec != NULL)
        *offset_sec = p.utoff;
    if (is_dst != NULL)
        *is_dst = p.isdst;
    return SL_OK;
}

int
sl_tz_localtime(const struct sl_tz *tz, int64_t utc, struct tm *out)
{
    struct period p;
    int64_t local, days, secs, year;
    int m, d, yday;

    if (out == NULL || !in_range(utc))
        return SL_EINVAL;
    lookup(tz, utc, &p);
    local = utc + p.utoff;
    days = floor_div(local, SECS_PER_DAY);
    secs = local - days * SECS_PER_DAY;
    civil_from_days(days, &year, &m, &d, &yday);
    memset(out, 0, sizeof(*out));
    out->tm_year = (int)(year - 1900);
    out->tm_mon = m - 1;
    out->tm_mday = d;
    out->tm_hour = (int)(secs / 3600);
    out->tm_min = (int)(secs / 60 % 60);
    out->tm_sec = (int)(secs % 60);
    out->tm_wday = weekday(days);
    out->tm_yday = yday;
    out->tm_isdst = p.isdst;
    return SL_OK;
}

int
sl_tz_to_utc(const struct sl_tz *tz, const struct tm *local,
             struct sl_tz_utc *out)
{
    struct period p, prev;
    int64_t year, wall, first = 0, second = 0;
    int found = 0;
    bool gap = false;

    if (local == NULL || out == NULL)
        return SL_EINVAL;
    year = (int64_t)local->tm_year + 1900;
    if (year < 0 || year > 9999 || local->tm_mon < 0 || local->tm_mon > 11 ||
        local->tm_mday < 1 ||
        local->tm_mday > month_days(year, local->tm_mon + 1) ||
        local->tm_hour < 0 || local->tm_hour > 23 || local->tm_min < 0 ||
        local->tm_min > 59 || local->tm_sec < 0 || local->tm_sec > 59)
        return SL_EINVAL;
    wall = days_from_civil(year, local->tm_mon + 1, local->tm_mday) *
               SECS_PER_DAY +
           local->tm_hour * 3600 + local->tm_min * 60 + local->tm_sec;

    /*
     * An answer u has u + utoff(u) == wall, so it lies within the offset
     * bounds of wall. Walk every period over those instants: each one
     * whose offset maps wall inside it gives an answer; a boundary whose
     * forward jump steps over wall marks a gap ending there.
     */
    lookup(tz, wall - UTOFF_MAX, &p);
    for (;;) {
        int64_t cand = wall - p.utoff;

        if (cand >= p.start && cand < p.end) {
            if (found == 0)
                first = cand;
            second = cand;
            found++;
        }
        if (p.end == INT64_MAX || p.end > wall - UTOFF_MIN)
            break;
        prev = p;
        lookup(tz, prev.end, &p);
        if (found == 0 && !gap && p.utoff > prev.utoff &&
            p.start + prev.utoff <= wall && wall < p.start + p.utoff) {
            gap = true;
            first = second = p.start;
        }
    }
    if (found == 0 && !gap)
        return SL_ERR; /* cannot happen: the walk spans every answer */
    out->fold = found > 1    ? SL_TZ_AMBIGUOUS
                : found == 1 ? SL_TZ_UNIQUE
                             : SL_TZ_GAP;
    out->first = first;
    out->second = second;
    return SL_OK;
}

/* --- Reading TZif ----------------------------------------------------- */

struct reader {
    const unsigned char *p;
    size_t left;
};

/* Takes n bytes, or returns NULL when fewer are left. */
static const unsigned char *
take(struct reader *r, uint64_t n)
{
    const unsigned char *q = r->p;

    if (n > r->left)
        return NULL;
    r->p += n;
    r->left -= n;
    return q;
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int64_t
be64s(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct header {
    int version; /* 1 to 4 */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int
read_header(struct reader *r, struct header *h)
{
    const unsigned char *p = take(r, TZIF_HEADER);

    if (p == NULL || memcmp(p, "TZif", 4) != 0)
        return SL_EPARSE;
    if (p[4] == '\0')
        h->version = 1;
    else if (p[4] >= '2' && p[4] <= '4')
        h->version = p[4] - '0';
    else
        return SL_EPARSE;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return SL_OK;
}

/* The size of the data block after h, with times of tsize bytes. */
static uint64_t
block_size(const struct header *h, unsigned tsize)
{
    return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 +
           h->charcnt + (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt +
           h->isutcnt;
}

/*
 * Reads the data block described by h, with times of tsize bytes (4 or
 * 8), into a new zone. Returns 0 and *out (the caller frees it), or
 * SL_EPARSE / SL_ENOMEM.
 */
static int
read_block(struct reader *r, const struct header *h, unsigned tsize,
           struct sl_tz **out)
{
    const unsigned char *times, *idx, *types, *isstd, *isut;
    struct sl_tz *tz;

    if (h->typecnt < 1 || h->typecnt > 256 || h->charcnt < 1 ||
        h->leapcnt != 0 || (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        block_size(h, tsize) > r->left)
        return SL_EPARSE;
    times = take(r, (uint64_t)h->timecnt * tsize);
    idx = take(r, h->timecnt);
    types = take(r, (uint64_t)h->typecnt * 6);
    (void)take(r, h->charcnt);
    isstd = take(r, h->isstdcnt);
    isut = take(r, h->isutcnt);

    tz = calloc(1, sizeof(*tz) + (size_t)h->timecnt * sizeof(tz->trans[0]));
    if (tz == NULL)
        return SL_ENOMEM;
    for (uint32_t i = 0; i < h->typecnt; i++) {
        const unsigned char *t = types + 6 * i;
        int32_t utoff = (int32_t)be32(t);

        /* isstd and isut are read by nothing here, but must be flags. */
        if (!utoff_ok(utoff) || t[4] > 1 || t[5] >= h->charcnt ||
            (h->isstdcnt != 0 && isstd[i] > 1) ||
            (h->isutcnt != 0 && isut[i] > 1))
            goto corrupt;
        tz->types[i].utoff = utoff;
        tz->types[i].isdst = t[4];
    }
    tz->ntrans = h->timecnt;
    for (uint32_t i = 0; i < h->timecnt; i++) {
        const unsigned char *t = times + (size_t)tsize * i;

        tz->trans[i].at = tsize == 8 ? be64s(t) : (int32_t)be32(t);
        if (idx[i] >= h->typecnt ||
            (i > 0 && tz->trans[i].at <= tz->trans[i - 1].at))
            goto corrupt;
        tz->trans[i].type = idx[i];
    }
    *out = tz;
    return SL_OK;
corrupt:
    free(tz);
    return SL_EPARSE;
}

/*
 * Parses a whole TZif file. Version 1 files give their 32-bit block;
 * later versions skip it and give the 64-bit block and the footer (a TZ
 * string of at most 255 bytes), which must be the last thing in the file.
 */
static int
parse_tzif(const unsigned char *buf, size_t len, struct sl_tz **out)
{
    struct reader r = {buf, len};
    struct header h, h2;
    struct sl_tz *tz = NULL;
    const unsigned char *nl;
    char footer[256];
    size_t flen;
    int rc;

    if ((rc = read_header(&r, &h)) != SL_OK)
        return rc;
    if (h.version == 1) {
        if ((rc = read_block(&r, &h, 4, &tz)) != SL_OK)
            return rc;
        if (r.left != 0)
            goto corrupt;
        *out = tz;
        return SL_OK;
    }
    if (take(&r, block_size(&h, 4)) == NULL)
        return SL_EPARSE;
    if ((rc = read_header(&r, &h2)) != SL_OK)
        return rc;
    if (h2.version != h.version)
        return SL_EPARSE;
    if ((rc = read_block(&r, &h2, 8, &tz)) != SL_OK)
        return rc;

    /* The footer: a newline, a POSIX TZ string, a newline, the end. */
    if (r.left < 2 || r.p[0] != '\n' || r.p[r.left - 1] != '\n')
        goto corrupt;
    nl = memchr(r.p + 1, '\n', r.left - 1);
    flen = (size_t)(nl - (r.p + 1));
    if (nl != r.p + r.left - 1 || flen >= sizeof(footer))
        goto corrupt;
    memcpy(footer, r.p + 1, flen);
    footer[flen] = '\0';
    if (flen > 0) {
        if (memchr(footer, '\0', flen) != NULL ||
            parse_posix_tz(footer, &tz->footer) != SL_OK)
            goto corrupt;
        tz->has_footer = true;
    }
    *out = tz;
    return SL_OK;
corrupt:
    free(tz);
    return SL_EPARSE;
}

/* --- Loading ---------------------------------------------------------- */

/* See sl_tz_load() for the rules. */
static bool
name_ok(const char *name)
{
    size_t len;

    if (name == NULL)
        return false;
    len = strnlen(name, SL_MAX_TZ_NAME + 1);
    if (len == 0 || len > SL_MAX_TZ_NAME || name[0] == '/' ||
        name[len - 1] == '/')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '+' && c != '-' &&
            c != '/')
            return false;
        if (c == '/' && name[i + 1] == '/')
            return false;
    }
    /* As '.' is refused, no component can be "." or "..". */
    return true;
}

/* An error of open() as a return code: a missing file is a bad name. */
static int
open_error(int e)
{
    return e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG
               ? SL_EINVAL
               : SL_EIO;
}

/*
 * Reads the file name under the directory dir, at most SL_MAX_TZ_FILE
 * bytes. Returns 0 and a buffer in *buf (the caller frees it) of *len
 * bytes; SL_EINVAL when dir has no such regular file; SL_EPARSE when it
 * is too large; SL_EIO (also when dir itself cannot be opened); or
 * SL_ENOMEM.
 */
static int
read_file(const char *dir, const char *name, unsigned char **buf, size_t *len)
{
    struct stat st;
    unsigned char *b = NULL;
    size_t cap, n = 0;
    int dfd, fd, rc;

    /* A directory that cannot be opened says nothing of the name: the
     * zone database is missing or unreadable, which may pass. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return SL_EIO;
    /* O_NONBLOCK: a FIFO in the directory must not hang the caller. */
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    rc = fd < 0 ? open_error(errno) : SL_OK;
    close(dfd);
    if (fd < 0)
        return rc;
    if (fstat(fd, &st) != 0) {
        rc = SL_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = SL_EINVAL;
        goto out;
    }
    if (st.st_size > SL_MAX_TZ_FILE) {
        rc = SL_EPARSE;
        goto out;
    }
    /* One byte more than the size, to notice a file that grew. */
    cap = (size_t)st.st_size + 1;
    b = malloc(cap);
    if (b == NULL) {
        rc = SL_ENOMEM;
        goto out;
    }
    while (n < cap) {
        ssize_t k = read(fd, b + n, cap - n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = SL_EIO;
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n == cap) {
        rc = SL_EPARSE;
        goto out;
    }
    *buf = b;
    *len = n;
    b = NULL;
    rc = SL_OK;
out:
    free(b);
    close(fd);
    return rc;
}

int
sl_tz_load_dir(const char *dir, const char *name, struct sl_tz **out)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    struct sl_tz *tz;
    int rc;

    if (out == NULL || !name_ok(name))
        return SL_EINVAL;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        tz = calloc(1, sizeof(*tz));
        if (tz == NULL)
            return SL_ENOMEM;
        /* types[0] is UTC, from calloc. */
        *out = tz;
        return SL_OK;
    }
    if ((rc = read_file(dir != NULL ? dir : SL_TZ_DIR, name, &buf, &len)) !=
        SL_OK)
        return rc;
    rc = parse_tzif(buf, len, &tz);
    free(buf);
    if (rc == SL_OK)
        *out = tz;
    return rc;
}

int
sl_tz_load(const char *name, struct sl_tz **out)
{
    const char *dir = getenv("TZDIR");

    return sl_tz_load_dir(dir != NULL && *dir != '\0' ? dir : NULL, name, out);
}

void
sl_tz_destroy(struct sl_tz *tz)
{
    free(tz);
}

bool
sl_tz_valid(const char *name)
{
    struct sl_tz *tz;

    if (sl_tz_load(name, &tz) != SL_OK)
        return false;
    sl_tz_destroy(tz);
    return true;
}
