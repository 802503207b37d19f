/*
 * test_ticket.c: hub tickets: a signed one verifies; a changed field, a
 * wrong key, an expired ticket or credential, and junk are refused.
 */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "limits.h"
#include "ticket.h"
#include "unit.h"

static const char key[] = "0123456789abcdef0123456789abcdef";

static void
sample(struct sl_ticket *t)
{
    memset(t, 0, sizeof(*t));
    strcpy(t->tenant, "acme");
    strcpy(t->principal, "0190a6c5-3b1e-7c3a-9f00-000000000001");
    t->scope = SL_TICKET_PIPELINE;
    strcpy(t->target, "0190a6c5-3b1e-7c3a-9f00-0000000000aa");
    t->cred_exp = 2000;
    t->exp = 1010;
}

START_TEST(round_trip)
{
    struct sl_ticket t, back;
    char text[SL_MAX_TICKET];

    sample(&t);
    ck_assert_int_eq(sl_ticket_sign(key, 32, &t, text, sizeof(text)), 0);
    ck_assert_int_eq(sl_ticket_verify(key, 32, text, 1000, &back), 0);
    ck_assert_str_eq(back.tenant, "acme");
    ck_assert_str_eq(back.principal, t.principal);
    ck_assert_int_eq(back.scope, SL_TICKET_PIPELINE);
    ck_assert_str_eq(back.target, t.target);
    ck_assert_int_eq(back.cred_exp, 2000);
    ck_assert_int_eq(back.exp, 1010);
}
END_TEST

START_TEST(refusals)
{
    struct sl_ticket t, back;
    char text[SL_MAX_TICKET], other[] = "0123456789abcdef0123456789abcdeX";
    size_t n;

    sample(&t);
    sl_ticket_sign(key, 32, &t, text, sizeof(text));
    ck_assert_int_eq(sl_ticket_verify(other, 32, text, 1000, &back), SL_EINVAL);
    ck_assert_int_eq(sl_ticket_verify(key, 32, text, 1010, &back), SL_EEXPIRED);
    t.cred_exp = 1005;
    sl_ticket_sign(key, 32, &t, text, sizeof(text));
    ck_assert_int_eq(sl_ticket_verify(key, 32, text, 1005, &back), SL_EEXPIRED);
    /* One character of the fields changed. */
    n = strlen("v1.") + 2;
    text[n] = text[n] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(sl_ticket_verify(key, 32, text, 1000, &back), SL_EINVAL);
    ck_assert_int_eq(sl_ticket_verify(key, 32, "", 1000, &back), SL_EINVAL);
    ck_assert_int_eq(sl_ticket_verify(key, 32, "v1.abc", 1000, &back),
                     SL_EINVAL);
    ck_assert_int_eq(sl_ticket_verify(key, 32, NULL, 1000, &back), SL_EINVAL);
    /* A field holding the separator cannot be signed. */
    strcpy(t.tenant, "a|b");
    ck_assert_int_eq(sl_ticket_sign(key, 32, &t, text, sizeof(text)),
                     SL_EINVAL);
    /* A short key neither signs nor verifies. */
    sample(&t);
    ck_assert_int_eq(sl_ticket_sign(key, 8, &t, text, sizeof(text)), SL_EINVAL);
}
END_TEST

static Suite *
ticket_suite(void)
{
    Suite *s = suite_create("ticket");
    TCase *tc = tcase_create("ticket");

    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(ticket_suite)
