/*
 * webhook.h: the sender's side of the webhook protocol: signatures, the
 * retry schedule and Retry-After.
 *
 * Every delivery is signed twice (DESIGN.md, Webhooks):
 *
 *   X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, body)>
 *       the seeds' scheme, keyed with the secret's bytes as given;
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>
 *       Standard Webhooks', where key is the base64-decoded tail of a
 *       secret "whsec_<base64>", and the secret's bytes otherwise.
 *
 * Retries follow Svix's schedule: the first attempt at once, then 5 s,
 * 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure, each delay
 * moved by up to SL_WEBHOOK_JITTER_PCT percent either way so that the
 * deliveries of one outage do not all come back at the same instant.
 * A Retry-After the receiver sends (429, 503) moves the next attempt
 * later, never earlier, and at most SL_WEBHOOK_RETRY_AFTER_MAX_S away.
 */
#ifndef SL_WEBHOOK_H
#define SL_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Attempts in all, the first included; after the last, "exhausted". */
#define SL_WEBHOOK_MAX_ATTEMPTS 8
#define SL_WEBHOOK_JITTER_PCT   15
/* The latest a Retry-After may put the next attempt. */
#define SL_WEBHOOK_RETRY_AFTER_MAX_S (24 * 3600)
/* The longest secret accepted (bytes of text). */
#define SL_WEBHOOK_MAX_SECRET 1024

/* "sha256=" and 64 hex digits, with the NUL. */
#define SL_WEBHOOK_HEX_SIG_SIZE 72
/* "v1," and 44 characters of base64, with the NUL. */
#define SL_WEBHOOK_STD_SIG_SIZE 48

/*
 * Writes "sha256=<hex HMAC-SHA256(secret, body)>" into out. Returns 0, or
 * SL_EINVAL for an empty or oversized secret, SL_ECRYPTO.
 */
int sl_webhook_sign_hex(const char *secret, const void *body, size_t len,
                        char out[SL_WEBHOOK_HEX_SIG_SIZE]);

/*
 * Writes Standard Webhooks' "v1,<base64 signature>" of body sent as
 * msg_id at unix time ts into out. Returns 0, or SL_EINVAL (an empty or
 * oversized secret, a "whsec_" secret whose tail is not base64),
 * SL_ECRYPTO.
 */
int sl_webhook_sign_std(const char *secret, const char *msg_id, int64_t ts,
                        const void *body, size_t len,
                        char out[SL_WEBHOOK_STD_SIG_SIZE]);

/*
 * Whether header (a webhook-signature value: space-separated "v1,..."
 * signatures) holds a valid signature of body under secret, compared in
 * constant time. For receivers: the tests' and the benchmark's.
 */
bool sl_webhook_verify_std(const char *secret, const char *header,
                           const char *msg_id, int64_t ts, const void *body,
                           size_t len);

/*
 * The delay before the next attempt, in milliseconds, once attempts
 * attempts (1 or more) have failed: the schedule's, with jitter drawn
 * from rnd (any value; a random one in use, fixed in tests). -1 when the
 * schedule is over: the delivery is exhausted.
 */
int64_t sl_webhook_retry_delay_ms(int attempts, uint32_t rnd);

/*
 * Parses a Retry-After value, delay-seconds or an HTTP date (IMF-fixdate,
 * RFC 9110), against the time now (unix seconds). Returns the delay in
 * milliseconds, at most SL_WEBHOOK_RETRY_AFTER_MAX_S seconds and not
 * below 0, or -1 when value is neither.
 */
int64_t sl_webhook_retry_after_ms(const char *value, int64_t now);

#endif
