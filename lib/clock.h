/*
 * clock.h: wall and monotonic time, and RFC 3339 text.
 *
 * Sluice writes every time as RFC 3339 in UTC with a 'Z'
 * ("2026-01-09T16:40:00Z"). It reads RFC 3339 with any offset and
 * optional fraction, and a bare date ("2026-01-09", midnight UTC).
 */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL. */
#define SL_RFC3339_MAX 25

/* Seconds since the epoch. */
int64_t sl_clock_now(void);

/* Milliseconds since the epoch. */
int64_t sl_clock_now_ms(void);

/* Microseconds on the monotonic clock, for measuring durations. */
int64_t sl_clock_mono_us(void);

/*
 * Writes unix_sec as "YYYY-MM-DDTHH:MM:SSZ" into out (SL_RFC3339_MAX
 * bytes). Returns 0, or SL_EINVAL for a time outside years 0..9999.
 */
int sl_clock_format(int64_t unix_sec, char *out);

/* As sl_clock_format() with milliseconds: "...:SS.mmmZ". */
int sl_clock_format_ms(int64_t unix_ms, char *out);

/*
 * Parses RFC 3339 text, or a bare date, into seconds since the epoch
 * (fractions are dropped). Returns 0 or SL_EPARSE; *out is untouched on
 * failure.
 */
int sl_clock_parse(const char *s, int64_t *out);

#endif
