/*
 * test_crypto.c: hashes, HMAC, comparison, base64url, randomness, checked
 * against published test vectors.
 */
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "unit.h"

START_TEST(sha256_vectors)
{
    char hex[SL_SHA256_HEX_LEN];

    ck_assert_int_eq(sl_sha256_hex("abc", 3, hex), SL_OK);
    ck_assert_str_eq(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(sl_sha256_hex("", 0, hex), SL_OK);
    ck_assert_str_eq(
        hex,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(hmac_rfc4231_case2)
{
    unsigned char mac[SL_SHA256_LEN];
    char hex[SL_SHA256_HEX_LEN];
    const char *data = "what do ya want for nothing?";

    ck_assert_int_eq(sl_hmac_sha256("Jefe", 4, data, strlen(data), mac), SL_OK);
    sl_hex(mac, sizeof(mac), hex);
    ck_assert_str_eq(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(constant_time_equality)
{
    ck_assert(sl_ct_equal("abcd", "abcd", 4));
    ck_assert(!sl_ct_equal("abcd", "abce", 4));
    ck_assert(sl_ct_streq("secret", "secret"));
    ck_assert(!sl_ct_streq("secret", "secret2"));
    ck_assert(!sl_ct_streq("secret", ""));
    ck_assert(!sl_ct_streq(NULL, "x"));
}
END_TEST

START_TEST(b64url_round_trip)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"",       "Zg",      "Zm8",     "Zm9v",
                          "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char enc[32];
    unsigned char dec[32];
    size_t n;

    for (int i = 0; i < 7; i++) {
        ck_assert_uint_eq(
            sl_b64url_encode(in[i], strlen(in[i]), enc, sizeof(enc)),
            strlen(want[i]));
        ck_assert_str_eq(enc, want[i]);
        ck_assert_int_eq(
            sl_b64url_decode(enc, strlen(enc), dec, sizeof(dec), &n), SL_OK);
        ck_assert_uint_eq(n, strlen(in[i]));
        ck_assert(memcmp(dec, in[i], n) == 0);
    }
}
END_TEST

START_TEST(b64url_alphabet_and_errors)
{
    unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    unsigned char dec[8];
    char enc[8];
    size_t n;

    sl_b64url_encode(bytes, 3, enc, sizeof(enc));
    ck_assert_str_eq(enc, "-_-_");
    ck_assert_int_eq(sl_b64url_decode("+/+/", 4, dec, sizeof(dec), &n),
                     SL_EPARSE);
    ck_assert_int_eq(sl_b64url_decode("Zg==", 4, dec, sizeof(dec), &n), SL_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sl_b64url_decode("Z", 1, dec, sizeof(dec), &n), SL_EPARSE);
    /* Non-canonical trailing bits. */
    ck_assert_int_eq(sl_b64url_decode("Zh", 2, dec, sizeof(dec), &n),
                     SL_EPARSE);
    ck_assert_int_eq(sl_b64url_decode("Zm9vYmFy", 8, dec, 3, &n), SL_ETOOBIG);
    /* Output too small to encode into. */
    ck_assert_uint_eq(sl_b64url_encode("foobar", 6, enc, 4), 0);
}
END_TEST

START_TEST(random_alnum_shape)
{
    char a[33], b[33];

    ck_assert_int_eq(sl_random_alnum(a, 32), SL_OK);
    ck_assert_int_eq(sl_random_alnum(b, 32), SL_OK);
    ck_assert_uint_eq(strlen(a), 32);
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                "qrstuvwxyz0123456789"),
                      32);
    ck_assert_str_ne(a, b);
}
END_TEST

static Suite *
crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, hmac_rfc4231_case2);
    tcase_add_test(tc, constant_time_equality);
    tcase_add_test(tc, b64url_round_trip);
    tcase_add_test(tc, b64url_alphabet_and_errors);
    tcase_add_test(tc, random_alnum_shape);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(crypto_suite)
