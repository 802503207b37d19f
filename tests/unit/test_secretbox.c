/*
 * test_secretbox.c: sealing secrets at rest: round trips, every way an
 * opening must fail, nonces that differ, and the key formats accepted.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "limits.h"
#include "secretbox.h"
#include "unit.h"

static const char key_hex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void
test_key(unsigned char key[SL_SECRETBOX_KEY_LEN])
{
    ck_assert_int_eq(sl_secretbox_key_parse(key_hex, key), SL_OK);
}

/* Opens sealed and returns the code, freeing any plaintext. */
static int
open_rc(const unsigned char *key, const char *aad, const char *sealed)
{
    char *plain = (char *)"sentinel";
    size_t len = 99;
    int rc = sl_secretbox_open(key, aad, sealed, &plain, &len);

    if (rc != SL_OK) {
        ck_assert_ptr_null(plain);
        ck_assert_uint_eq(len, 0);
    }
    sl_secretbox_free(plain, len);
    return rc;
}

/* Decodes the body of a sealed text into bin; returns its length. */
static size_t
decode_body(const char *sealed, unsigned char *bin, size_t binsz)
{
    size_t n = 0;

    ck_assert_int_eq(strncmp(sealed, "v1.", 3), 0);
    ck_assert_int_eq(
        sl_b64url_decode(sealed + 3, strlen(sealed + 3), bin, binsz, &n),
        SL_OK);
    return n;
}

/* Writes "v1." and the base64url of n bytes of bin into a new string. */
static char *
encode_body(const unsigned char *bin, size_t n)
{
    size_t sz = 3 + sl_b64url_len(n) + 1;
    char *s = malloc(sz);

    ck_assert_ptr_nonnull(s);
    memcpy(s, "v1.", 3);
    ck_assert_uint_ne(sl_b64url_encode(bin, n, s + 3, sz - 3), 0);
    return s;
}

START_TEST(round_trip)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    const char *secret = "correct horse battery staple";
    char *sealed = NULL, *plain = NULL;
    size_t len = 0;

    test_key(key);
    ck_assert_int_eq(sl_secretbox_seal(key, "tenant-a/conn-1", secret,
                                       strlen(secret), &sealed),
                     SL_OK);
    ck_assert_int_eq(strncmp(sealed, "v1.", 3), 0);
    /* Printable: the prefix, then the base64url alphabet only. */
    ck_assert_uint_eq(strspn(sealed + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijk"
                                         "lmnopqrstuvwxyz0123456789-_"),
                      strlen(sealed) - 3);
    /* nonce + ciphertext + tag */
    ck_assert_uint_eq(strlen(sealed),
                      3 + sl_b64url_len(12 + strlen(secret) + 16));
    ck_assert_ptr_null(strstr(sealed, "horse"));
    ck_assert_int_eq(
        sl_secretbox_open(key, "tenant-a/conn-1", sealed, &plain, &len), SL_OK);
    ck_assert_uint_eq(len, strlen(secret));
    ck_assert_str_eq(plain, secret);
    sl_secretbox_free(plain, len);
    free(sealed);
}
END_TEST

START_TEST(round_trip_empty_binary_and_largest)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN], bytes[4] = {0, 0xff, 0, 7};
    unsigned char *big = malloc(SL_MAX_SECRET);
    char *sealed = NULL, *plain = NULL;
    size_t len = 0;

    test_key(key);
    ck_assert_int_eq(sl_secretbox_seal(key, NULL, "", 0, &sealed), SL_OK);
    /* NULL and "" are the same associated data. */
    ck_assert_int_eq(sl_secretbox_open(key, "", sealed, &plain, &len), SL_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(plain, "");
    sl_secretbox_free(plain, len);
    free(sealed);

    ck_assert_int_eq(sl_secretbox_seal(key, "x", bytes, 4, &sealed), SL_OK);
    ck_assert_int_eq(sl_secretbox_open(key, "x", sealed, &plain, &len), SL_OK);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(plain, bytes, 4) == 0);
    ck_assert_int_eq(plain[4], '\0');
    sl_secretbox_free(plain, len);
    free(sealed);

    ck_assert_ptr_nonnull(big);
    memset(big, 'z', SL_MAX_SECRET);
    ck_assert_int_eq(sl_secretbox_seal(key, "x", big, SL_MAX_SECRET, &sealed),
                     SL_OK);
    ck_assert_int_eq(sl_secretbox_open(key, "x", sealed, &plain, &len), SL_OK);
    ck_assert_uint_eq(len, SL_MAX_SECRET);
    ck_assert(memcmp(plain, big, SL_MAX_SECRET) == 0);
    sl_secretbox_free(plain, len);
    free(sealed);
    free(big);
}
END_TEST

START_TEST(sizes_are_bounded)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char *big = malloc(SL_MAX_SECRET + 2 * SL_MAX_SECRET_AAD);
    char *sealed = (char *)"sentinel";

    test_key(key);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(
        sl_secretbox_seal(key, "x", big, SL_MAX_SECRET + 1, &sealed),
        SL_ETOOBIG);
    ck_assert_ptr_null(sealed);
    /* An aad one byte too long. */
    memset(big, 'a', SL_MAX_SECRET_AAD + 1);
    big[SL_MAX_SECRET_AAD + 1] = '\0';
    ck_assert_int_eq(sl_secretbox_seal(key, big, "s", 1, &sealed), SL_EINVAL);
    ck_assert_int_eq(open_rc(key, big, "v1.AAAA"), SL_EINVAL);
    big[SL_MAX_SECRET_AAD] = '\0';
    ck_assert_int_eq(sl_secretbox_seal(key, big, "s", 1, &sealed), SL_OK);
    ck_assert_int_eq(open_rc(key, big, sealed), SL_OK);
    free(sealed);
    free(big);
    /* A text longer than any seal is refused before it is decoded. */
    big = malloc(2 * SL_MAX_SECRET + 1);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "v1.", 3);
    memset(big + 3, 'A', 2 * SL_MAX_SECRET - 3);
    big[2 * SL_MAX_SECRET] = '\0';
    ck_assert_int_eq(open_rc(key, "x", big), SL_ETOOBIG);
    free(big);
}
END_TEST

START_TEST(wrong_key_and_wrong_aad_fail)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN], other[SL_SECRETBOX_KEY_LEN];
    char *sealed = NULL;

    test_key(key);
    memcpy(other, key, sizeof(key));
    other[31] ^= 1;
    ck_assert_int_eq(sl_secretbox_seal(key, "t1/c1", "pw", 2, &sealed), SL_OK);
    ck_assert_int_eq(open_rc(key, "t1/c1", sealed), SL_OK);
    ck_assert_int_eq(open_rc(other, "t1/c1", sealed), SL_ECRYPTO);
    /* Copied to another row, or another tenant's row: refused. */
    ck_assert_int_eq(open_rc(key, "t1/c2", sealed), SL_ECRYPTO);
    ck_assert_int_eq(open_rc(key, "t2/c1", sealed), SL_ECRYPTO);
    ck_assert_int_eq(open_rc(key, "t1/c1 ", sealed), SL_ECRYPTO);
    ck_assert_int_eq(open_rc(key, "", sealed), SL_ECRYPTO);
    ck_assert_int_eq(open_rc(key, NULL, sealed), SL_ECRYPTO);
    free(sealed);
}
END_TEST

START_TEST(flipped_bits_fail_in_every_part)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN], bin[128];
    /* One bit in the nonce, the first and last ciphertext bytes, the tag. */
    const size_t at[] = {0, 11, 12, 12 + 9, 12 + 10, 12 + 10 + 15};
    char *sealed = NULL, *bad;
    size_t n;

    test_key(key);
    ck_assert_int_eq(sl_secretbox_seal(key, "t/c", "0123456789", 10, &sealed),
                     SL_OK);
    n = decode_body(sealed, bin, sizeof(bin));
    ck_assert_uint_eq(n, 12 + 10 + 16);
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            bin[at[i]] ^= (unsigned char)(1u << bit);
            bad = encode_body(bin, n);
            ck_assert_int_eq(open_rc(key, "t/c", bad), SL_ECRYPTO);
            free(bad);
            bin[at[i]] ^= (unsigned char)(1u << bit);
        }
    }
    /* Unchanged, the re-encoded text still opens: the test can tell. */
    bad = encode_body(bin, n);
    ck_assert_str_eq(bad, sealed);
    ck_assert_int_eq(open_rc(key, "t/c", bad), SL_OK);
    free(bad);
    free(sealed);
}
END_TEST

START_TEST(truncated_and_malformed_fail)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN], bin[128];
    char *sealed = NULL, *bad;
    size_t n;

    test_key(key);
    ck_assert_int_eq(sl_secretbox_seal(key, "a", "secret", 6, &sealed), SL_OK);
    n = decode_body(sealed, bin, sizeof(bin));
    /* Shorter by whole bytes: still well formed, but the tag fails. */
    for (size_t cut = 1; cut <= 6; cut++) {
        bad = encode_body(bin, n - cut);
        ck_assert_int_eq(open_rc(key, "a", bad), SL_ECRYPTO);
        free(bad);
    }
    /* Shorter than a nonce and a tag: not a sealed text at all. */
    bad = encode_body(bin, 27);
    ck_assert_int_eq(open_rc(key, "a", bad), SL_EPARSE);
    free(bad);
    ck_assert_int_eq(open_rc(key, "a", "v1."), SL_EPARSE);
    /* Cut in the middle of a base64 quantum. */
    bad = strdup(sealed);
    bad[strlen(bad) - 1] = '\0';
    ck_assert_int_eq(open_rc(key, "a", bad), SL_EPARSE);
    bad[3 + 37] = '\0'; /* 37 characters: 1 mod 4, never valid */
    ck_assert_int_eq(open_rc(key, "a", bad), SL_EPARSE);
    free(bad);
    /* Prefixes and alphabets. */
    ck_assert_int_eq(open_rc(key, "a", sealed + 3), SL_EPARSE);
    bad = strdup(sealed);
    bad[1] = '2';
    ck_assert_int_eq(open_rc(key, "a", bad), SL_EPARSE);
    bad[1] = '1';
    bad[0] = 'V';
    ck_assert_int_eq(open_rc(key, "a", bad), SL_EPARSE);
    bad[0] = 'v';
    bad[5] = '+';
    ck_assert_int_eq(open_rc(key, "a", bad), SL_EPARSE);
    free(bad);
    ck_assert_int_eq(open_rc(key, "a", ""), SL_EPARSE);
    ck_assert_int_eq(open_rc(key, "a", NULL), SL_EPARSE);
    /* Padding is not part of the format. */
    bad = malloc(strlen(sealed) + 3);
    strcpy(bad, sealed);
    strcat(bad, "==");
    ck_assert_int_eq(open_rc(key, "a", bad), SL_EPARSE);
    free(bad);
    free(sealed);
}
END_TEST

START_TEST(two_seals_differ)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN], b1[64], b2[64];
    char *s1 = NULL, *s2 = NULL;

    test_key(key);
    ck_assert_int_eq(sl_secretbox_seal(key, "a", "same", 4, &s1), SL_OK);
    ck_assert_int_eq(sl_secretbox_seal(key, "a", "same", 4, &s2), SL_OK);
    ck_assert_str_ne(s1, s2);
    ck_assert_uint_eq(decode_body(s1, b1, sizeof(b1)), 32);
    ck_assert_uint_eq(decode_body(s2, b2, sizeof(b2)), 32);
    /* The nonces differ, and so does everything after them. */
    ck_assert(memcmp(b1, b2, 12) != 0);
    ck_assert(memcmp(b1 + 12, b2 + 12, 20) != 0);
    ck_assert_int_eq(open_rc(key, "a", s1), SL_OK);
    ck_assert_int_eq(open_rc(key, "a", s2), SL_OK);
    free(s1);
    free(s2);
}
END_TEST

START_TEST(key_formats)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN], want[SL_SECRETBOX_KEY_LEN];
    unsigned char zero[SL_SECRETBOX_KEY_LEN] = {0};

    for (int i = 0; i < SL_SECRETBOX_KEY_LEN; i++)
        want[i] = (unsigned char)i;
    ck_assert_int_eq(sl_secretbox_key_parse(key_hex, key), SL_OK);
    ck_assert(memcmp(key, want, sizeof(key)) == 0);
    ck_assert_int_eq(
        sl_secretbox_key_parse(
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            key),
        SL_OK);
    ck_assert(memcmp(key, want, sizeof(key)) == 0);
    /* Standard base64, padded and not; base64url; spaces around. */
    ck_assert_int_eq(sl_secretbox_key_parse(
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key),
                     SL_OK);
    ck_assert(memcmp(key, want, sizeof(key)) == 0);
    ck_assert_int_eq(sl_secretbox_key_parse(
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", key),
                     SL_OK);
    ck_assert(memcmp(key, want, sizeof(key)) == 0);
    ck_assert_int_eq(
        sl_secretbox_key_parse("  +/v8/f-_"
                               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                               key),
        SL_OK);
    ck_assert_int_eq(key[0], 0xfb);
    ck_assert_int_eq(key[1], 0xfb);
    ck_assert_int_eq(key[2], 0xfc);
    ck_assert_int_eq(key[3], 0xfd);
    ck_assert_int_eq(key[4], 0xff);
    ck_assert_int_eq(key[5], 0xbf);

    /* Wrong lengths, wrong characters: refused, and key[] is zeroed. */
    ck_assert_int_eq(sl_secretbox_key_parse(key_hex + 2, key), SL_EINVAL);
    ck_assert(memcmp(key, zero, sizeof(key)) == 0);
    ck_assert_int_eq(sl_secretbox_key_parse("000102030405060708090a0b0c0d0e0f10"
                                            "1112131415161718191a1b1c1d1e1f00",
                                            key),
                     SL_EINVAL);
    ck_assert_int_eq(
        sl_secretbox_key_parse(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
            key),
        SL_EINVAL);
    /* Base64 of 31 and of 33 bytes. */
    ck_assert_int_eq(sl_secretbox_key_parse(
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", key),
                     SL_EINVAL);
    ck_assert_int_eq(sl_secretbox_key_parse(
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", key),
                     SL_EINVAL);
    ck_assert_int_eq(sl_secretbox_key_parse(
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8*", key),
                     SL_EINVAL);
    ck_assert_int_eq(sl_secretbox_key_parse("", key), SL_EINVAL);
    ck_assert_int_eq(sl_secretbox_key_parse("   ", key), SL_EINVAL);
    ck_assert_int_eq(sl_secretbox_key_parse(NULL, key), SL_EINVAL);
    ck_assert(memcmp(key, zero, sizeof(key)) == 0);
}
END_TEST

START_TEST(keys_parsed_two_ways_interoperate)
{
    unsigned char k1[SL_SECRETBOX_KEY_LEN], k2[SL_SECRETBOX_KEY_LEN];
    char *sealed = NULL;

    ck_assert_int_eq(sl_secretbox_key_parse(key_hex, k1), SL_OK);
    ck_assert_int_eq(sl_secretbox_key_parse(
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", k2),
                     SL_OK);
    ck_assert_int_eq(sl_secretbox_seal(k1, "a", "pw", 2, &sealed), SL_OK);
    ck_assert_int_eq(open_rc(k2, "a", sealed), SL_OK);
    free(sealed);
}
END_TEST

static Suite *
secretbox_suite(void)
{
    Suite *s = suite_create("secretbox");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, round_trip_empty_binary_and_largest);
    tcase_add_test(tc, sizes_are_bounded);
    tcase_add_test(tc, wrong_key_and_wrong_aad_fail);
    tcase_add_test(tc, flipped_bits_fail_in_every_part);
    tcase_add_test(tc, truncated_and_malformed_fail);
    tcase_add_test(tc, two_seals_differ);
    tcase_add_test(tc, key_formats);
    tcase_add_test(tc, keys_parsed_two_ways_interoperate);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(secretbox_suite)
