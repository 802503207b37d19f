/*
 * test_token.c: access tokens, including the forgeries a client may try.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "token.h"
#include "unit.h"

static const char key[] = "0123456789abcdef0123456789abcdef";

static void
claims(struct sl_claims *c, int64_t iat, int64_t exp)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->sub, "0190a6c5-3b1e-7c3a-9f00-000000000001");
    strcpy(c->sid, "0190a6c5-3b1e-7c3a-9f00-000000000002");
    strcpy(c->jti, "0190a6c5-3b1e-7c3a-9f00-000000000003");
    strcpy(c->org, "acme");
    strcpy(c->role, "engineer");
    c->iat = iat;
    c->exp = exp;
}

/* Builds header.payload.signature by hand, signed with key. */
static char *
forge(const char *header, const char *payload, const char *k)
{
    char h64[512], p64[1024], s64[64], *out;
    unsigned char mac[SL_SHA256_LEN];
    size_t n;

    sl_b64url_encode(header, strlen(header), h64, sizeof(h64));
    sl_b64url_encode(payload, strlen(payload), p64, sizeof(p64));
    n = strlen(h64) + strlen(p64) + 2 + sizeof(s64);
    out = malloc(n);
    snprintf(out, n, "%s.%s", h64, p64);
    if (k != NULL) {
        sl_hmac_sha256(k, strlen(k), out, strlen(out), mac);
        sl_b64url_encode(mac, sizeof(mac), s64, sizeof(s64));
        strcat(out, ".");
        strcat(out, s64);
    } else {
        strcat(out, ".");
    }
    return out;
}

START_TEST(issue_and_verify)
{
    struct sl_claims c, out;
    char *t = NULL;
    int64_t now = sl_clock_now();

    claims(&c, now, now + 3600);
    ck_assert_int_eq(sl_token_issue(key, strlen(key), &c, &t), SL_OK);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out), SL_OK);
    ck_assert_str_eq(out.sub, c.sub);
    ck_assert_str_eq(out.sid, c.sid);
    ck_assert_str_eq(out.jti, c.jti);
    ck_assert_str_eq(out.org, "acme");
    ck_assert_str_eq(out.role, "engineer");
    ck_assert_int_eq(out.exp, now + 3600);
    free(t);
}
END_TEST

START_TEST(expired)
{
    struct sl_claims c, out;
    char *t = NULL;
    int64_t now = sl_clock_now();

    claims(&c, now - 7200, now - 3600);
    ck_assert_int_eq(sl_token_issue(key, strlen(key), &c, &t), SL_OK);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out),
                     SL_EEXPIRED);
    free(t);
}
END_TEST

START_TEST(tampered_payload)
{
    struct sl_claims c, out;
    char *t = NULL, *dot;
    int64_t now = sl_clock_now();

    claims(&c, now, now + 3600);
    ck_assert_int_eq(sl_token_issue(key, strlen(key), &c, &t), SL_OK);
    dot = strchr(t, '.');
    /* Flip one character of the payload. */
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out), SL_EAUTH);
    free(t);
}
END_TEST

START_TEST(wrong_key)
{
    struct sl_claims c, out;
    char *t = NULL;
    int64_t now = sl_clock_now();

    claims(&c, now, now + 3600);
    ck_assert_int_eq(
        sl_token_issue("another-key-another-key-another!", 32, &c, &t), SL_OK);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out), SL_EAUTH);
    free(t);
}
END_TEST

START_TEST(alg_none_refused)
{
    struct sl_claims out;
    char payload[512], *t;
    int64_t now = sl_clock_now();

    snprintf(payload, sizeof(payload),
             "{\"typ\":\"access\",\"sub\":\"0190a6c5-3b1e-7c3a-9f00-"
             "000000000001\",\"sid\":\"0190a6c5-3b1e-7c3a-9f00-000000000002\","
             "\"jti\":\"0190a6c5-3b1e-7c3a-9f00-000000000003\",\"org\":\"acme"
             "\",\"role\":\"admin\",\"iat\":%lld,\"exp\":%lld}",
             (long long)now, (long long)now + 3600);
    t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out), SL_EAUTH);
    free(t);
    /* Signed with our key but claiming another algorithm. */
    t = forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, key);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out), SL_EAUTH);
    free(t);
    /* The genuine form, built by hand, passes: the forgery test is fair. */
    t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, key);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out), SL_OK);
    free(t);
}
END_TEST

START_TEST(not_an_access_token)
{
    struct sl_claims out;
    char *t;
    int64_t now = sl_clock_now();

    t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
              "{\"typ\":\"refresh\",\"sub\":\"x\"}", key);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), t, now, &out), SL_EAUTH);
    free(t);
}
END_TEST

START_TEST(garbage)
{
    struct sl_claims out;
    const char *bad[] = {"",
                         "abc",
                         "a.b",
                         "a.b.c",
                         "a.b.c.d",
                         "...",
                         "eyJhbGciOiJIUzI1NiJ9..sig"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(sl_token_verify(key, strlen(key), bad[i], 0, &out),
                         SL_EAUTH);
    ck_assert_int_eq(sl_token_verify(key, strlen(key), NULL, 0, &out),
                     SL_EAUTH);
}
END_TEST

static Suite *
token_suite(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, issue_and_verify);
    tcase_add_test(tc, expired);
    tcase_add_test(tc, tampered_payload);
    tcase_add_test(tc, wrong_key);
    tcase_add_test(tc, alg_none_refused);
    tcase_add_test(tc, not_an_access_token);
    tcase_add_test(tc, garbage);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(token_suite)
