/*
 * test_password.c: scrypt hashing and verification.
 */
#include <string.h>

#include "err.h"
#include "password.h"
#include "unit.h"

START_TEST(hash_then_verify)
{
    char h[SL_PASSWORD_HASH_MAX];

    ck_assert_int_eq(sl_password_hash("SecurePass123!", 12, h), SL_OK);
    ck_assert_ptr_nonnull(strstr(h, "$scrypt$ln=12,r=8,p=1$"));
    ck_assert_int_eq(sl_password_verify("SecurePass123!", h), SL_OK);
    ck_assert_int_eq(sl_password_verify("SecurePass123?", h), SL_EAUTH);
    ck_assert_int_eq(sl_password_verify("", h), SL_EAUTH);
}
END_TEST

START_TEST(salts_differ)
{
    char a[SL_PASSWORD_HASH_MAX], b[SL_PASSWORD_HASH_MAX];

    ck_assert_int_eq(sl_password_hash("same", 10, a), SL_OK);
    ck_assert_int_eq(sl_password_hash("same", 10, b), SL_OK);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(cost_bounds)
{
    char h[SL_PASSWORD_HASH_MAX];

    ck_assert_int_eq(sl_password_hash("x", 9, h), SL_EINVAL);
    ck_assert_int_eq(sl_password_hash("x", 21, h), SL_EINVAL);
}
END_TEST

START_TEST(malformed_stored_hash)
{
    ck_assert_int_eq(sl_password_verify("x", NULL), SL_EPARSE);
    ck_assert_int_eq(sl_password_verify("x", "plaintext"), SL_EPARSE);
    ck_assert_int_eq(sl_password_verify("x", "$scrypt$ln=30,r=8,p=1$AAAA$AAAA"),
                     SL_EPARSE);
    ck_assert_int_eq(sl_password_verify("x", "$scrypt$ln=12,r=8,p=1$AAAA"),
                     SL_EPARSE);
    ck_assert_int_eq(
        sl_password_verify("x", "$scrypt$ln=12,r=8,p=1$!!!!!!!!!!!$AAAA"),
        SL_EPARSE);
}
END_TEST

START_TEST(owasp_cost_by_default)
{
    char h[SL_PASSWORD_HASH_MAX];

    /* N = 2^17, r = 8, p = 1: 128 MiB, past OpenSSL's default maxmem. */
    ck_assert_int_eq(SL_PASSWORD_LOG_N_DEFAULT, 17);
    ck_assert_int_eq(
        sl_password_hash("SecurePass123!", SL_PASSWORD_LOG_N_DEFAULT, h),
        SL_OK);
    ck_assert_ptr_nonnull(strstr(h, "$scrypt$ln=17,r=8,p=1$"));
    ck_assert_int_eq(sl_password_verify("SecurePass123!", h), SL_OK);
    ck_assert(!sl_password_needs_rehash(h, SL_PASSWORD_LOG_N_DEFAULT));
}
END_TEST

START_TEST(older_hashes_need_rehashing)
{
    char h[SL_PASSWORD_HASH_MAX];

    ck_assert_int_eq(sl_password_hash("pw", 12, h), SL_OK);
    ck_assert(!sl_password_needs_rehash(h, 12));
    ck_assert(sl_password_needs_rehash(h, 15));
    ck_assert(sl_password_needs_rehash("$scrypt$ln=12,r=4,p=1$AAAA$AAAA", 12));
    /* What cannot be read is refused, not rehashed. */
    ck_assert(!sl_password_needs_rehash(NULL, 12));
    ck_assert(!sl_password_needs_rehash("plaintext", 12));
    ck_assert(!sl_password_needs_rehash("$scrypt$ln=30,r=8,p=1$AAAA$AAAA", 12));
}
END_TEST

/* A lowered password_cost never weakens what is stored: a rehash only
 * ever raises a parameter, and lowers none. */
START_TEST(rehashing_only_strengthens)
{
    char h[SL_PASSWORD_HASH_MAX];

    ck_assert_int_eq(sl_password_hash("pw", 12, h), SL_OK);
    ck_assert(!sl_password_needs_rehash(h, 10));
    ck_assert(!sl_password_needs_rehash(h, 11));
    ck_assert(!sl_password_needs_rehash("$scrypt$ln=17,r=8,p=1$AAAA$AAAA", 12));
    /* A stronger r or p is not traded for a higher cost either. */
    ck_assert(!sl_password_needs_rehash("$scrypt$ln=12,r=8,p=2$AAAA$AAAA", 12));
    ck_assert(!sl_password_needs_rehash("$scrypt$ln=12,r=8,p=2$AAAA$AAAA", 14));
    ck_assert(
        !sl_password_needs_rehash("$scrypt$ln=10,r=16,p=1$AAAA$AAAA", 14));
    /* Weaker in one parameter and equal in the others: made again. */
    ck_assert(sl_password_needs_rehash("$scrypt$ln=10,r=4,p=1$AAAA$AAAA", 12));
}
END_TEST

static Suite *
password_suite(void)
{
    Suite *s = suite_create("password");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, hash_then_verify);
    tcase_add_test(tc, salts_differ);
    tcase_add_test(tc, cost_bounds);
    tcase_add_test(tc, malformed_stored_hash);
    tcase_add_test(tc, owasp_cost_by_default);
    tcase_add_test(tc, older_hashes_need_rehashing);
    tcase_add_test(tc, rehashing_only_strengthens);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(password_suite)
