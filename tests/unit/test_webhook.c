/*
 * test_webhook.c: both signatures against known values (Standard
 * Webhooks' published example, and HMAC-SHA256 computed by openssl
 * dgst), rotated secrets, the retry schedule with its jitter, and
 * Retry-After in both of its forms.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "unit.h"
#include "webhook.h"

/* Standard Webhooks' example (and Svix's libraries' test vector). */
#define STD_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define STD_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define STD_TS     1614265330
#define STD_BODY   "{\"test\": 2432232314}"
#define STD_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

START_TEST(std_signature_of_whsec_secret)
{
    char sig[SL_WEBHOOK_STD_SIG_SIZE];

    ck_assert_int_eq(sl_webhook_sign_std(STD_SECRET, STD_ID, STD_TS, STD_BODY,
                                         strlen(STD_BODY), sig),
                     SL_OK);
    ck_assert_str_eq(sig, STD_SIG);
    ck_assert(sl_webhook_verify_std(STD_SECRET, STD_SIG, STD_ID, STD_TS,
                                    STD_BODY, strlen(STD_BODY)));
    /* Another timestamp, id or body: no longer valid. */
    ck_assert(!sl_webhook_verify_std(STD_SECRET, STD_SIG, STD_ID, STD_TS + 1,
                                     STD_BODY, strlen(STD_BODY)));
    ck_assert(!sl_webhook_verify_std(STD_SECRET, STD_SIG, "msg_x", STD_TS,
                                     STD_BODY, strlen(STD_BODY)));
    ck_assert(
        !sl_webhook_verify_std(STD_SECRET, STD_SIG, STD_ID, STD_TS, "{}", 2));
}
END_TEST

START_TEST(std_signature_of_plain_secret)
{
    char sig[SL_WEBHOOK_STD_SIG_SIZE];
    const char *body = "{\"a\":1}";

    /* printf '%s' 'msg_1.1700000000.{"a":1}' |
     *   openssl dgst -sha256 -hmac s3cret -binary | base64 */
    ck_assert_int_eq(sl_webhook_sign_std("s3cret", "msg_1", 1700000000, body,
                                         strlen(body), sig),
                     SL_OK);
    ck_assert_str_eq(sig, "v1,JTnXZsicQmbYBUKbG0PXd2OqV6VmCFiMTEvW8yxopSo=");
}
END_TEST

START_TEST(hex_signature_is_the_seeds)
{
    char sig[SL_WEBHOOK_HEX_SIG_SIZE];
    const char *body = "{\"a\":1}";

    /* printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac s3cret */
    ck_assert_int_eq(sl_webhook_sign_hex("s3cret", body, strlen(body), sig),
                     SL_OK);
    ck_assert_str_eq(
        sig,
        "sha256="
        "5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d");
    /* A whsec_ secret signs the seeds' way with its text as given. */
    ck_assert_int_eq(sl_webhook_sign_hex(STD_SECRET, body, strlen(body), sig),
                     SL_OK);
    ck_assert_int_eq(strlen(sig), 71);
    ck_assert_int_eq(sl_webhook_sign_hex("", body, strlen(body), sig),
                     SL_EINVAL);
}
END_TEST

START_TEST(rotation_verifies_either)
{
    char a[SL_WEBHOOK_STD_SIG_SIZE], b[SL_WEBHOOK_STD_SIG_SIZE], both[128];

    ck_assert_int_eq(sl_webhook_sign_std("new-secret", "msg_2", 5, "x", 1, a),
                     SL_OK);
    ck_assert_int_eq(sl_webhook_sign_std(STD_SECRET, "msg_2", 5, "x", 1, b),
                     SL_OK);
    snprintf(both, sizeof(both), "%s %s", a, b);
    ck_assert(sl_webhook_verify_std("new-secret", both, "msg_2", 5, "x", 1));
    ck_assert(sl_webhook_verify_std(STD_SECRET, both, "msg_2", 5, "x", 1));
    ck_assert(!sl_webhook_verify_std("other", both, "msg_2", 5, "x", 1));
}
END_TEST

START_TEST(bad_whsec_refused)
{
    char sig[SL_WEBHOOK_STD_SIG_SIZE];

    ck_assert_int_eq(sl_webhook_sign_std("whsec_", "m", 1, "x", 1, sig),
                     SL_EINVAL);
    ck_assert_int_eq(sl_webhook_sign_std("whsec_!!!!", "m", 1, "x", 1, sig),
                     SL_EINVAL);
    ck_assert_int_eq(sl_webhook_sign_std("", "m", 1, "x", 1, sig), SL_EINVAL);
}
END_TEST

START_TEST(schedule_is_svixs_with_jitter)
{
    static const int64_t base_s[] = {5, 300, 1800, 7200, 18000, 36000, 36000};

    for (int a = 1; a < SL_WEBHOOK_MAX_ATTEMPTS; a++) {
        int64_t b = base_s[a - 1] * 1000, lo = b * 85 / 100, hi = b * 115 / 100;
        uint32_t rnds[] = {0, 1, 12345, 0xffffffffu, 777777};
        bool moved = false;

        for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
            int64_t d = sl_webhook_retry_delay_ms(a, rnds[i]);

            ck_assert_msg(d >= lo && d <= hi, "attempt %d: %lld", a,
                          (long long)d);
            moved |= d != b;
        }
        ck_assert(moved);
    }
    ck_assert_int_eq(sl_webhook_retry_delay_ms(SL_WEBHOOK_MAX_ATTEMPTS, 0), -1);
    ck_assert_int_eq(sl_webhook_retry_delay_ms(0, 0), -1);
}
END_TEST

START_TEST(retry_after_forms)
{
    /* 1994-11-06 08:49:37 UTC = 784111777 */
    ck_assert_int_eq(sl_webhook_retry_after_ms("120", 0), 120000);
    ck_assert_int_eq(sl_webhook_retry_after_ms(" 0 ", 0), 0);
    ck_assert_int_eq(sl_webhook_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT",
                                               784111777 - 30),
                     30000);
    /* A date passed: now. */
    ck_assert_int_eq(sl_webhook_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT",
                                               784111777 + 30),
                     0);
    /* Bounded to a day. */
    ck_assert_int_eq(sl_webhook_retry_after_ms("99999999999", 0),
                     (int64_t)SL_WEBHOOK_RETRY_AFTER_MAX_S * 1000);
    ck_assert_int_eq(sl_webhook_retry_after_ms("soon", 0), -1);
    ck_assert_int_eq(sl_webhook_retry_after_ms("12abc", 0), -1);
    ck_assert_int_eq(sl_webhook_retry_after_ms(NULL, 0), -1);
}
END_TEST

static Suite *
webhook_suite(void)
{
    Suite *s = suite_create("webhook");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, std_signature_of_whsec_secret);
    tcase_add_test(tc, std_signature_of_plain_secret);
    tcase_add_test(tc, hex_signature_is_the_seeds);
    tcase_add_test(tc, rotation_verifies_either);
    tcase_add_test(tc, bad_whsec_refused);
    tcase_add_test(tc, schedule_is_svixs_with_jitter);
    tcase_add_test(tc, retry_after_forms);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(webhook_suite)
