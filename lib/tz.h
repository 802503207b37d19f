/*
 * tz.h: IANA time zones, read from TZif files without the C library.
 *
 * localtime_r() and mktime() consult the process-wide TZ, so a daemon
 * cannot use them for many zones at once. This module reads a zone's TZif
 * file (RFC 9636, versions 1 to 4) into an immutable struct sl_tz: the
 * transition table, and the footer's POSIX TZ rule for instants after the
 * last transition. A loaded zone is never written again, so any number of
 * threads may use one without locking.
 *
 * Instants are seconds since the epoch, without leap seconds, between
 * SL_TZ_TIME_MIN and SL_TZ_TIME_MAX (years 0 to 9999). Every function that
 * takes a const struct sl_tz * accepts NULL, meaning UTC.
 */
#ifndef SL_TZ_H
#define SL_TZ_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Where sl_tz_load() reads zones, unless the environment names another
 * in TZDIR (as for the C library); sl_tz_load_dir() takes another. */
#define SL_TZ_DIR "/usr/share/zoneinfo"

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define SL_TZ_TIME_MIN (-62167219200LL)
#define SL_TZ_TIME_MAX 253402300799LL

struct sl_tz;

/*
 * Loads the zone called name, such as "Europe/Paris", from SL_TZ_DIR (or
 * $TZDIR). The
 * name is checked before the file system is touched: 1 to SL_MAX_TZ_NAME
 * characters from [A-Za-z0-9_+-/], no leading, trailing or doubled '/'
 * (and, as '.' is refused, no "." or ".." component). "UTC" and "Etc/UTC"
 * are built in and need no file. Files may not exceed SL_MAX_TZ_FILE bytes
 * nor carry leap-second records (the zoneinfo "right/" zones).
 *
 * Returns 0 and a zone in *out that the caller frees with sl_tz_destroy();
 * SL_EINVAL for a bad name or one that names no file; SL_EPARSE for a file
 * that is not a TZif file this module accepts; SL_EIO when the file, or
 * the directory, could not be read; SL_ENOMEM. Only SL_EINVAL says that
 * the name itself is wrong. *out is untouched on failure.
 */
int sl_tz_load(const char *name, struct sl_tz **out);

/*
 * As sl_tz_load(), reading from the directory dir (borrowed) instead of
 * SL_TZ_DIR; NULL means SL_TZ_DIR. For tests and unusual installations.
 */
int sl_tz_load_dir(const char *dir, const char *name, struct sl_tz **out);

/* Frees a zone from sl_tz_load(); accepts NULL. */
void sl_tz_destroy(struct sl_tz *tz);

/* True when sl_tz_load(name) would succeed. This reads the file. */
bool sl_tz_valid(const char *name);

/*
 * Stores in *offset_sec the offset from UTC in effect at the instant utc
 * (east positive: 3600 for Paris in winter) and in *is_dst whether it is
 * daylight-saving time; either pointer may be NULL. Returns 0, or
 * SL_EINVAL for an instant outside SL_TZ_TIME_MIN..SL_TZ_TIME_MAX.
 */
int sl_tz_offset(const struct sl_tz *tz, int64_t utc, int *offset_sec,
                 bool *is_dst);

/*
 * Fills *out with the local time at the instant utc, as localtime_r()
 * would for this zone: tm_year to tm_sec, tm_wday, tm_yday and tm_isdst;
 * the other fields are zero. Returns 0, or SL_EINVAL for an instant out of
 * range.
 */
int sl_tz_localtime(const struct sl_tz *tz, int64_t utc, struct tm *out);

/* How many instants show a given local wall-clock time. */
enum sl_tz_fold {
    SL_TZ_UNIQUE = 0,    /* exactly one */
    SL_TZ_GAP = 1,       /* none: clocks jumped over it (spring forward) */
    SL_TZ_AMBIGUOUS = 2, /* two: clocks went back over it (fall back) */
};

/* What sl_tz_to_utc() found. */
struct sl_tz_utc {
    enum sl_tz_fold fold;
    /*
     * SL_TZ_UNIQUE: the instant, in both. SL_TZ_AMBIGUOUS: the first and
     * the second occurrence. SL_TZ_GAP: in both, the instant the gap ends,
     * the first one whose local time is later than the time asked for
     * (01:00:00Z for 02:30 in Paris on 2025-03-30).
     */
    int64_t first;
    int64_t second;
};

/*
 * Converts the local time in local->tm_year, tm_mon, tm_mday, tm_hour,
 * tm_min and tm_sec (other fields are ignored) to UTC. The fields must be
 * in their ranges (tm_sec 0 to 59, tm_mday valid for the month, year 0 to
 * 9999); nothing is normalised. Returns 0 and fills *out, or SL_EINVAL.
 */
int sl_tz_to_utc(const struct sl_tz *tz, const struct tm *local,
                 struct sl_tz_utc *out);

#endif
