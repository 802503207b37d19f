/*
 * test_tz.c: TZif zones, their footer rules, local-to-UTC conversion and
 * name checks.
 *
 * Expected instants were computed with GNU date, e.g.
 * TZ=UTC date -d '2025-03-30 01:00' +%s, and checked against the zone with
 * TZ=Europe/Paris date -d @1743296400. The files come from Debian's tzdata
 * in /usr/share/zoneinfo; hand-built files exercise the footer rule forms.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "limits.h"
#include "tz.h"
#include "unit.h"

/* Asserts the offset and DST flag of zone z at instant t. */
static void
check_offset(const struct sl_tz *z, int64_t t, int offset, bool dst)
{
    int off = -1;
    bool is_dst = !dst;

    ck_assert_int_eq(sl_tz_offset(z, t, &off, &is_dst), SL_OK);
    ck_assert_msg(off == offset && is_dst == dst,
                  "at %lld: offset %d dst %d, expected %d %d", (long long)t,
                  off, is_dst, offset, dst);
}

/* Asserts that zone z changes from offset a to offset b at instant t. */
static void
check_transition(const struct sl_tz *z, int64_t t, int a, int b)
{
    int off;

    ck_assert_int_eq(sl_tz_offset(z, t - 1, &off, NULL), SL_OK);
    ck_assert_msg(off == a, "before %lld: %d, expected %d", (long long)t, off,
                  a);
    ck_assert_int_eq(sl_tz_offset(z, t, &off, NULL), SL_OK);
    ck_assert_msg(off == b, "at %lld: %d, expected %d", (long long)t, off, b);
}

static struct sl_tz *
load(const char *name)
{
    struct sl_tz *z = NULL;

    ck_assert_int_eq(sl_tz_load(name, &z), SL_OK);
    ck_assert_ptr_nonnull(z);
    return z;
}

static struct tm
local(int y, int mon, int d, int h, int mi)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return tm;
}

/* Asserts what local time y-mon-d h:mi in z converts to. */
static void
check_to_utc(const struct sl_tz *z, int y, int mon, int d, int h, int mi,
             enum sl_tz_fold fold, int64_t first, int64_t second)
{
    struct tm tm = local(y, mon, d, h, mi);
    struct sl_tz_utc u;

    ck_assert_int_eq(sl_tz_to_utc(z, &tm, &u), SL_OK);
    ck_assert_msg(u.fold == fold && u.first == first && u.second == second,
                  "%04d-%02d-%02d %02d:%02d: fold %d %lld %lld, expected %d "
                  "%lld %lld",
                  y, mon, d, h, mi, u.fold, (long long)u.first,
                  (long long)u.second, fold, (long long)first,
                  (long long)second);
}

START_TEST(utc_built_in)
{
    struct sl_tz *z = NULL;
    struct tm tm;

    /* UTC needs no file, whatever the directory. */
    ck_assert_int_eq(sl_tz_load_dir("/nonexistent", "UTC", &z), SL_OK);
    check_offset(z, 1767976800, 0, false);
    sl_tz_destroy(z);
    ck_assert_int_eq(sl_tz_load_dir("/nonexistent", "Etc/UTC", &z), SL_OK);
    sl_tz_destroy(z);
    /* Without the zone database, no other zone: a failure that may pass,
     * not a bad name. */
    ck_assert_int_eq(sl_tz_load_dir("/nonexistent", "Europe/Paris", &z),
                     SL_EIO);

    /* NULL is UTC everywhere. */
    check_offset(NULL, 1767976800, 0, false);
    ck_assert_int_eq(sl_tz_localtime(NULL, 1767976800, &tm), SL_OK);
    ck_assert_int_eq(tm.tm_year, 126);
    ck_assert_int_eq(tm.tm_mon, 0);
    ck_assert_int_eq(tm.tm_mday, 9);
    ck_assert_int_eq(tm.tm_hour, 16);
    ck_assert_int_eq(tm.tm_min, 40);
    ck_assert_int_eq(tm.tm_wday, 5);
    sl_tz_destroy(NULL);
}
END_TEST

START_TEST(paris_offsets)
{
    struct sl_tz *z = load("Europe/Paris");

    check_offset(z, 1736942400, 3600, false); /* 2025-01-15T12:00Z */
    check_offset(z, 1751371200, 7200, true);  /* 2025-07-01T12:00Z */
    /* 2025-03-30T01:00Z and 2025-10-26T01:00Z. */
    check_transition(z, 1743296400, 3600, 7200);
    check_transition(z, 1761440400, 7200, 3600);
    sl_tz_destroy(z);
}
END_TEST

START_TEST(new_york_offsets)
{
    struct sl_tz *z = load("America/New_York");

    check_offset(z, 1736942400, -18000, false);
    check_offset(z, 1751371200, -14400, true);
    /* 2025-03-09T07:00Z and 2025-11-02T06:00Z. */
    check_transition(z, 1741503600, -18000, -14400);
    check_transition(z, 1762063200, -14400, -18000);
    sl_tz_destroy(z);
}
END_TEST

START_TEST(lord_howe_offsets)
{
    struct sl_tz *z = load("Australia/Lord_Howe");

    /* Half-hour DST: +10:30 in winter, +11 in summer. */
    check_offset(z, 1751371200, 37800, false);
    check_offset(z, 1736942400, 39600, true);
    /* 2025-10-04T15:30Z (02:00 -> 02:30) and 2025-04-05T15:00Z. */
    check_transition(z, 1759591800, 37800, 39600);
    check_transition(z, 1743865200, 39600, 37800);
    sl_tz_destroy(z);
}
END_TEST

START_TEST(kolkata_offsets)
{
    struct sl_tz *z = load("Asia/Kolkata");

    check_offset(z, 1748736000, 19800, false);
    check_offset(z, 1767976800, 19800, false);
    /* +06:30 during the Second World War (1943-06-01T00:00Z). */
    check_offset(z, -839030400, 23400, true);
    /* Beyond the table, the footer "IST-5:30". */
    check_offset(z, 3802593600, 19800, false);
    sl_tz_destroy(z);
}
END_TEST

START_TEST(footer_far_future)
{
    struct sl_tz *paris = load("Europe/Paris");
    struct sl_tz *ny = load("America/New_York");
    struct sl_tz *lh = load("Australia/Lord_Howe");

    /* 2090 is past the last transition of Debian's files (2037). */
    check_offset(paris, 3802593600, 7200, true);     /* 2090-07-01T12:00Z */
    check_offset(paris, 3786955200, 3600, false);    /* 2090-01-01T12:00Z */
    check_transition(paris, 3794173200, 3600, 7200); /* 2090-03-26T01:00Z */
    check_offset(ny, 3802593600, -14400, true);
    check_offset(lh, 3802593600, 37800, false);
    check_offset(lh, 3786955200, 39600, true);
    sl_tz_destroy(paris);
    sl_tz_destroy(ny);
    sl_tz_destroy(lh);
}
END_TEST

START_TEST(localtime_fields)
{
    struct sl_tz *z = load("Europe/Paris");
    struct tm tm;

    ck_assert_int_eq(sl_tz_localtime(z, 1751371200, &tm), SL_OK);
    ck_assert_int_eq(tm.tm_year, 125);
    ck_assert_int_eq(tm.tm_mon, 6);
    ck_assert_int_eq(tm.tm_mday, 1);
    ck_assert_int_eq(tm.tm_hour, 14);
    ck_assert_int_eq(tm.tm_min, 0);
    ck_assert_int_eq(tm.tm_wday, 2);
    ck_assert_int_eq(tm.tm_yday, 181);
    ck_assert_int_eq(tm.tm_isdst, 1);
    ck_assert_int_eq(sl_tz_localtime(z, SL_TZ_TIME_MAX + 1, &tm), SL_EINVAL);
    ck_assert_int_eq(sl_tz_offset(z, SL_TZ_TIME_MIN - 1, NULL, NULL),
                     SL_EINVAL);
    sl_tz_destroy(z);
}
END_TEST

START_TEST(to_utc_gaps_and_folds)
{
    struct sl_tz *paris = load("Europe/Paris");
    struct sl_tz *ny = load("America/New_York");
    struct sl_tz *lh = load("Australia/Lord_Howe");

    /* Paris: 02:00-03:00 is skipped on 2025-03-30, repeated on 10-26. */
    check_to_utc(paris, 2025, 3, 30, 2, 30, SL_TZ_GAP, 1743296400, 1743296400);
    check_to_utc(paris, 2025, 3, 30, 3, 30, SL_TZ_UNIQUE, 1743298200,
                 1743298200);
    check_to_utc(paris, 2025, 3, 30, 1, 59, SL_TZ_UNIQUE, 1743296340,
                 1743296340);
    check_to_utc(paris, 2025, 10, 26, 2, 30, SL_TZ_AMBIGUOUS, 1761438600,
                 1761442200);
    check_to_utc(paris, 2025, 10, 26, 3, 0, SL_TZ_UNIQUE, 1761444000,
                 1761444000);
    /* The same from the footer rule, in 2090. */
    check_to_utc(paris, 2090, 3, 26, 2, 30, SL_TZ_GAP, 3794173200, 3794173200);

    /* New York: 02:00-03:00 skipped, 01:00-02:00 repeated. */
    check_to_utc(ny, 2025, 3, 9, 2, 30, SL_TZ_GAP, 1741503600, 1741503600);
    check_to_utc(ny, 2025, 11, 2, 1, 30, SL_TZ_AMBIGUOUS, 1762061400,
                 1762065000);

    /* Lord Howe: a half-hour gap and a half-hour fold. */
    check_to_utc(lh, 2025, 10, 5, 2, 15, SL_TZ_GAP, 1759591800, 1759591800);
    check_to_utc(lh, 2025, 4, 6, 1, 45, SL_TZ_AMBIGUOUS, 1743864300,
                 1743866100);
    check_to_utc(lh, 2025, 4, 6, 2, 0, SL_TZ_UNIQUE, 1743867000, 1743867000);

    /* UTC. */
    check_to_utc(NULL, 2026, 1, 9, 16, 40, SL_TZ_UNIQUE, 1767976800,
                 1767976800);
    sl_tz_destroy(paris);
    sl_tz_destroy(ny);
    sl_tz_destroy(lh);
}
END_TEST

START_TEST(to_utc_rejects)
{
    struct sl_tz_utc u;
    struct tm tm;

    tm = local(2025, 2, 29, 0, 0);
    ck_assert_int_eq(sl_tz_to_utc(NULL, &tm, &u), SL_EINVAL);
    tm = local(2024, 2, 29, 24, 0);
    ck_assert_int_eq(sl_tz_to_utc(NULL, &tm, &u), SL_EINVAL);
    tm = local(2024, 13, 1, 0, 0);
    ck_assert_int_eq(sl_tz_to_utc(NULL, &tm, &u), SL_EINVAL);
    tm = local(10000, 1, 1, 0, 0);
    ck_assert_int_eq(sl_tz_to_utc(NULL, &tm, &u), SL_EINVAL);
    tm = local(2024, 2, 29, 0, 0);
    tm.tm_sec = 60;
    ck_assert_int_eq(sl_tz_to_utc(NULL, &tm, &u), SL_EINVAL);
    tm.tm_sec = 0;
    ck_assert_int_eq(sl_tz_to_utc(NULL, &tm, &u), SL_OK);
}
END_TEST

START_TEST(names)
{
    struct sl_tz *z = (struct sl_tz *)&z; /* must stay untouched */
    char long_name[SL_MAX_TZ_NAME + 2];
    const char *bad[] = {
        "",
        "../etc/passwd",
        "/etc/passwd",
        "/usr/share/zoneinfo/Europe/Paris",
        "Europe/../../etc/passwd",
        "Europe/./Paris",
        "Europe//Paris",
        "Europe/",
        "Europe/Paris/",
        "Europe/Paris ",
        "Europe/Paris\n",
        "Europe\\Paris",
        "Europe/Paris%00",
        "zone.tab",
        "Foo/Bar", /* well formed, no such zone */
        "America", /* a directory */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(sl_tz_load(bad[i], &z) == SL_EINVAL, "%s", bad[i]);
        ck_assert_msg(!sl_tz_valid(bad[i]), "%s", bad[i]);
    }
    /* Files that exist but are not zones this module reads. */
    ck_assert_int_eq(sl_tz_load("right/UTC", &z), SL_EPARSE);
    ck_assert_int_eq(sl_tz_load("leapseconds", &z), SL_EPARSE);
    ck_assert_int_eq(sl_tz_load(NULL, &z), SL_EINVAL);
    ck_assert_int_eq(sl_tz_load("UTC", NULL), SL_EINVAL);
    ck_assert_ptr_eq(z, (struct sl_tz *)&z);
    ck_assert(!sl_tz_valid(NULL));

    memset(long_name, 'A', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    ck_assert(!sl_tz_valid(long_name));

    ck_assert(sl_tz_valid("Europe/Paris"));
    ck_assert(sl_tz_valid("UTC"));
    ck_assert(sl_tz_valid("Etc/GMT+5"));
    ck_assert(sl_tz_valid("America/Port-au-Prince"));
    ck_assert(sl_tz_valid("America/Argentina/Buenos_Aires"));
}
END_TEST

/* --- Hand-built files ------------------------------------------------- */

struct blob {
    unsigned char b[1024];
    size_t n;
};

static void
put(struct blob *x, const void *p, size_t n)
{
    ck_assert_uint_le(x->n + n, sizeof(x->b));
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void
put32(struct blob *x, uint32_t v)
{
    unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

    put(x, b, 4);
}

static void
put64(struct blob *x, int64_t v)
{
    put32(x, (uint32_t)((uint64_t)v >> 32));
    put32(x, (uint32_t)v);
}

static void
header(struct blob *x, char version, uint32_t timecnt, uint32_t typecnt,
       uint32_t charcnt)
{
    static const unsigned char zero[15];

    put(x, "TZif", 4);
    put(x, &version, 1);
    put(x, zero, sizeof(zero));
    put32(x, 0); /* isutcnt */
    put32(x, 0); /* isstdcnt */
    put32(x, 0); /* leapcnt */
    put32(x, timecnt);
    put32(x, typecnt);
    put32(x, charcnt);
}

/* One local time type: offset, DST flag, abbreviation index 0. */
static void
ttinfo(struct blob *x, int32_t utoff, bool dst)
{
    unsigned char b[2] = {dst, 0};

    put32(x, (uint32_t)utoff);
    put(x, b, 2);
}

/*
 * A version 2 file with no transitions, type utoff and footer tz. Its
 * second header follows the first (44 bytes) and a version 1 block of one
 * type (6 bytes) and 4 characters.
 */
#define TZIF_V2_HEADER (44 + 6 + 4)

static void
footer_only(struct blob *x, int32_t utoff, const char *tz)
{
    x->n = 0;
    header(x, '2', 0, 1, 4);
    ttinfo(x, utoff, false);
    put(x, "XST", 4);
    header(x, '2', 0, 1, 4);
    ttinfo(x, utoff, false);
    put(x, "XST", 4);
    put(x, "\n", 1);
    put(x, tz, strlen(tz));
    put(x, "\n", 1);
}

static char dir[64];

static void
make_dir(void)
{
    strcpy(dir, "/tmp/sl-tz-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
remove_dir(void)
{
    struct dirent *e;
    DIR *d;

    if (dir[0] == '\0')
        return;
    d = opendir(dir);
    while (d != NULL && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d != NULL)
        closedir(d);
    rmdir(dir);
    dir[0] = '\0';
}

static void
write_zone(const void *p, size_t n)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/Zone", dir);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static struct sl_tz *
load_blob(const struct blob *x)
{
    struct sl_tz *z = NULL;

    write_zone(x->b, x->n);
    ck_assert_int_eq(sl_tz_load_dir(dir, "Zone", &z), SL_OK);
    return z;
}

static int
load_blob_rc(const struct blob *x)
{
    struct sl_tz *z = NULL;
    int rc;

    write_zone(x->b, x->n);
    rc = sl_tz_load_dir(dir, "Zone", &z);
    sl_tz_destroy(z);
    return rc;
}

/* Names are checked before the file system sees them. */
START_TEST(names_checked_first)
{
    struct blob x;
    struct sl_tz *z = NULL;
    char path[256], zone[256], name[SL_MAX_TZ_NAME + 2];

    footer_only(&x, 7200, "XST-2");
    snprintf(zone, sizeof(zone), "%s/Zone", dir);
    write_zone(x.b, x.n);
    ck_assert_int_eq(sl_tz_load_dir(dir, "Zone", &z), SL_OK);
    sl_tz_destroy(z);
    z = NULL;

    /* Each of these would open that file. */
    snprintf(path, sizeof(path), "%s/Zone", dir);
    ck_assert_int_eq(sl_tz_load_dir("/nonexistent", path, &z), SL_EINVAL);
    snprintf(path, sizeof(path), "%s//Zone", strrchr(dir, '/') + 1);
    ck_assert_int_eq(sl_tz_load_dir("/tmp", path, &z), SL_EINVAL);
    snprintf(path, sizeof(path), "../%s/Zone", strrchr(dir, '/') + 1);
    ck_assert_int_eq(sl_tz_load_dir(dir, path, &z), SL_EINVAL);
    ck_assert_ptr_null(z);

    /* SL_MAX_TZ_NAME characters are allowed, one more is not. */
    memset(name, 'N', sizeof(name) - 1);
    name[SL_MAX_TZ_NAME + 1] = '\0';
    name[SL_MAX_TZ_NAME] = '\0';
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_int_eq(rename(zone, path), 0);
    ck_assert_int_eq(sl_tz_load_dir(dir, name, &z), SL_OK);
    sl_tz_destroy(z);
    z = NULL;
    name[SL_MAX_TZ_NAME] = 'N';
    snprintf(zone, sizeof(zone), "%s/%s", dir, name);
    ck_assert_int_eq(rename(path, zone), 0);
    ck_assert_int_eq(sl_tz_load_dir(dir, name, &z), SL_EINVAL);
    ck_assert_int_eq(unlink(zone), 0);
}
END_TEST

/* TZDIR, as for the C library, names another zone database. */
START_TEST(tzdir_names_the_database)
{
    struct blob x;
    struct sl_tz *z = NULL;

    footer_only(&x, 7200, "XST-2");
    write_zone(x.b, x.n);
    ck_assert_int_eq(setenv("TZDIR", dir, 1), 0);
    ck_assert_int_eq(sl_tz_load("Zone", &z), SL_OK);
    check_offset(z, 1767976800, 7200, false);
    sl_tz_destroy(z);
    z = NULL;
    ck_assert_int_eq(sl_tz_load("Europe/Paris", &z), SL_EINVAL);
    ck_assert_int_eq(setenv("TZDIR", "/nonexistent", 1), 0);
    ck_assert_int_eq(sl_tz_load("Europe/Paris", &z), SL_EIO);
    ck_assert_int_eq(sl_tz_load("UTC", &z), SL_OK);
    sl_tz_destroy(z);
    ck_assert_int_eq(unsetenv("TZDIR"), 0);
}
END_TEST

START_TEST(version_1)
{
    struct blob x = {.n = 0};
    struct sl_tz *z;

    /* +01 until 2001-09-09T01:46:40Z, then +02 DST; no footer. */
    header(&x, '\0', 1, 2, 8);
    put32(&x, 1000000000);
    put(&x, "\x01", 1);
    ttinfo(&x, 3600, false);
    ttinfo(&x, 7200, true);
    put(&x, "AAA\0BBB", 8);
    z = load_blob(&x);
    check_transition(z, 1000000000, 3600, 7200);
    check_offset(z, 4000000000LL, 7200, true);
    check_offset(z, -4000000000LL, 3600, false);
    sl_tz_destroy(z);
}
END_TEST

START_TEST(version_3_64_bit)
{
    struct blob x = {.n = 0};
    struct sl_tz *z;

    /*
     * The version 1 block says +01 for ever; the 64-bit block, which must
     * win, has a transition in 2100 to +03.
     */
    header(&x, '3', 0, 1, 4);
    ttinfo(&x, 3600, false);
    put(&x, "AAA", 4);
    header(&x, '3', 1, 2, 8);
    put64(&x, 4102444800LL); /* 2100-01-01T00:00Z */
    put(&x, "\x01", 1);
    ttinfo(&x, 3600, false);
    ttinfo(&x, 10800, false);
    put(&x, "AAA\0BBB", 8);
    put(&x, "\n\n", 2); /* an empty footer: the last type holds */
    z = load_blob(&x);
    check_transition(z, 4102444800LL, 3600, 10800);
    check_offset(z, 5000000000LL, 10800, false);
    sl_tz_destroy(z);
}
END_TEST

START_TEST(footer_julian_forms)
{
    struct blob x;
    struct sl_tz *z;

    /*
     * +02, DST +03 from J60 (March 1, leap year or not) at 00:00 to
     * zero-based day 300 (October 28, or October 27 in a leap year) at
     * 03:00 DST. Checked with TZ='XST-2XDT,J60/0,300/3' date.
     */
    footer_only(&x, 7200, "XST-2XDT,J60/0,300/3");
    z = load_blob(&x);
    check_transition(z, 1740780000, 7200, 10800); /* 2025-02-28T22:00Z */
    check_transition(z, 1709244000, 7200, 10800); /* 2024-02-29T22:00Z */
    check_transition(z, 1761609600, 10800, 7200); /* 2025-10-28T00:00Z */
    check_transition(z, 1729987200, 10800, 7200); /* 2024-10-27T00:00Z */
    sl_tz_destroy(z);
}
END_TEST

START_TEST(footer_extensions)
{
    struct blob x;
    struct sl_tz *z;

    /* Negative rule times (version 3), as America/Nuuk uses. */
    footer_only(&x, -10800, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1");
    z = load_blob(&x);
    check_transition(z, 1743296400, -10800, -7200); /* 2025-03-30T01:00Z */
    check_transition(z, 1761440400, -7200, -10800); /* 2025-10-26T01:00Z */
    sl_tz_destroy(z);

    /* DST all year: it ends at 25:00 on Dec 31 as the next one starts. */
    footer_only(&x, -18000, "EST5EDT,0/0,J365/25");
    z = load_blob(&x);
    check_offset(z, 1767225600, -14400, true); /* 2026-01-01T00:00Z */
    check_offset(z, 1767243600, -14400, true); /* 2026-01-01T05:00Z */
    check_offset(z, 1751371200, -14400, true);
    sl_tz_destroy(z);

    /* DST that starts at the first instant of a year, in the year before. */
    footer_only(&x, 3600, "CET-1CEST,J1/0,J365/24");
    z = load_blob(&x);
    check_transition(z, 1767222000, 3600, 7200); /* 2025-12-31T23:00Z */
    check_transition(z, 1767218400, 7200, 3600); /* 2025-12-31T22:00Z */
    sl_tz_destroy(z);
}
END_TEST

START_TEST(corrupt_files)
{
    struct blob good, x;
    static const char *bad_footers[] = {
        "XST",             /* no offset */
        "XS-2",            /* abbreviation too short */
        "XST-2XDT",        /* DST without a rule */
        "XST-2XDT,M3.5.0", /* one rule */
        "XST-2XDT,M13.1.0,M10.5.0",
        "XST-2XDT,M3.6.0,M10.5.0",
        "XST-2XDT,M3.5.7,M10.5.0",
        "XST-2XDT,J0,J365",
        "XST-2XDT,M3.5.0/168,M10.5.0",
        "XST-25",
        "XST-2junk",
        "<XST-2",
    };
    unsigned char *big;

    footer_only(&good, 7200, "XST-2");
    ck_assert_int_eq(load_blob_rc(&good), SL_OK);

    /* Every truncation of a good file is refused. */
    for (size_t n = 0; n < good.n; n++) {
        x = good;
        x.n = n;
        ck_assert_msg(load_blob_rc(&x) == SL_EPARSE, "truncated to %zu", n);
    }
    /* Trailing bytes, bad magic, an unknown version. */
    x = good;
    put(&x, "x", 1);
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    x = good;
    x.b[0] = 'X';
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    x = good;
    x.b[4] = x.b[TZIF_V2_HEADER + 4] = '9';
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    x = good;
    x.b[4] = '3'; /* the two headers disagree */
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    for (size_t i = 0; i < sizeof(bad_footers) / sizeof(bad_footers[0]); i++) {
        footer_only(&x, 7200, bad_footers[i]);
        ck_assert_msg(load_blob_rc(&x) == SL_EPARSE, "%s", bad_footers[i]);
    }

    /* Transitions out of order; a type index out of range. */
    x.n = 0;
    header(&x, '\0', 2, 1, 4);
    put32(&x, 2000);
    put32(&x, 1000);
    put(&x, "\0\0", 2);
    ttinfo(&x, 0, false);
    put(&x, "AAA", 4);
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    x.n = 0;
    header(&x, '\0', 1, 1, 4);
    put32(&x, 1000);
    put(&x, "\x01", 1);
    ttinfo(&x, 0, false);
    put(&x, "AAA", 4);
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    /* An offset beyond 26 hours; no types at all. */
    x.n = 0;
    header(&x, '\0', 0, 1, 4);
    ttinfo(&x, 26 * 3600, false);
    put(&x, "AAA", 4);
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    x.n = 0;
    header(&x, '\0', 0, 0, 4);
    put(&x, "AAA", 4);
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);
    /* Counts far beyond the file. */
    x.n = 0;
    header(&x, '\0', 0xffffffffu, 1, 4);
    ck_assert_int_eq(load_blob_rc(&x), SL_EPARSE);

    /* A file over SL_MAX_TZ_FILE. */
    big = calloc(1, SL_MAX_TZ_FILE + 1);
    ck_assert_ptr_nonnull(big);
    memcpy(big, good.b, good.n);
    write_zone(big, SL_MAX_TZ_FILE + 1);
    free(big);
    {
        struct sl_tz *z = NULL;

        ck_assert_int_eq(sl_tz_load_dir(dir, "Zone", &z), SL_EPARSE);
        ck_assert_ptr_null(z);
    }
}
END_TEST

/* Several threads reading one zone agree with one thread. */
static void *
reader(void *arg)
{
    const struct sl_tz *z = arg;
    long bad = 0;

    for (int64_t t = 1700000000; t < 1900000000; t += 86400 + 17) {
        struct tm tm;
        struct sl_tz_utc u;

        if (sl_tz_localtime(z, t, &tm) != SL_OK ||
            sl_tz_to_utc(z, &tm, &u) != SL_OK ||
            (u.first != t && u.second != t))
            bad++;
    }
    return (void *)(intptr_t)bad;
}

START_TEST(shared_between_threads)
{
    struct sl_tz *z = load("America/New_York");
    pthread_t th[4];

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, reader, z), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;

        ck_assert_int_eq(pthread_join(th[i], &bad), 0);
        ck_assert_ptr_null(bad);
    }
    sl_tz_destroy(z);
}
END_TEST

static Suite *
tz_suite(void)
{
    Suite *s = suite_create("tz");
    TCase *tc = tcase_create("core");
    TCase *files = tcase_create("files");

    tcase_add_test(tc, utc_built_in);
    tcase_add_test(tc, paris_offsets);
    tcase_add_test(tc, new_york_offsets);
    tcase_add_test(tc, lord_howe_offsets);
    tcase_add_test(tc, kolkata_offsets);
    tcase_add_test(tc, footer_far_future);
    tcase_add_test(tc, localtime_fields);
    tcase_add_test(tc, to_utc_gaps_and_folds);
    tcase_add_test(tc, to_utc_rejects);
    tcase_add_test(tc, names);
    tcase_add_test(tc, shared_between_threads);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(files, make_dir, remove_dir);
    tcase_add_test(files, names_checked_first);
    tcase_add_test(files, tzdir_names_the_database);
    tcase_add_test(files, version_1);
    tcase_add_test(files, version_3_64_bit);
    tcase_add_test(files, footer_julian_forms);
    tcase_add_test(files, footer_extensions);
    tcase_add_test(files, corrupt_files);
    suite_add_tcase(s, files);
    return s;
}

SL_TEST_MAIN(tz_suite)
