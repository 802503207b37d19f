/*
 * test_utf8.c: well-formed UTF-8 told from what PostgreSQL would refuse,
 * and cuts that never split a character.
 */
#include <string.h>

#include "unit.h"
#include "utf8.h"

static bool
valid(const char *s)
{
    return sl_utf8_valid(s, strlen(s));
}

START_TEST(well_formed_text)
{
    ck_assert(valid(""));
    ck_assert(valid("plain ascii"));
    ck_assert(valid("caf\xc3\xa9"));              /* é */
    ck_assert(valid("\xe2\x82\xac 5"));           /* € */
    ck_assert(valid("\xed\x9f\xbf"));             /* U+D7FF */
    ck_assert(valid("\xef\xbf\xbd"));             /* U+FFFD */
    ck_assert(valid("\xf0\x9f\x98\x80"));         /* U+1F600 */
    ck_assert(valid("\xf4\x8f\xbf\xbf"));         /* U+10FFFF */
    ck_assert(valid("\xe6\x97\xa5\xe6\x9c\xac")); /* 日本 */
}
END_TEST

START_TEST(what_is_not)
{
    static const char *const bad[] = {
        "\x80",             /* a continuation byte alone */
        "caf\xc3",          /* cut short */
        "\xc3\x28",         /* a lead byte, then no continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong, three bytes */
        "\xed\xa0\x80",     /* a surrogate, U+D800 */
        "\xf0\x80\x80\xaf", /* overlong, four bytes */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80", /* no such lead byte */
        "\xff",
        "a\xfe"
        "b",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!valid(bad[i]), "bad[%zu] taken for UTF-8", i);
    /* A NUL byte inside is not text either. */
    ck_assert(!sl_utf8_valid("a\0b", 3));
}
END_TEST

START_TEST(cuts_fall_between_characters)
{
    const char *s = "ab\xc3\xa9"
                    "cd\xe2\x82\xac";

    ck_assert_uint_eq(sl_utf8_prefix(s, 100), strlen(s));
    ck_assert_uint_eq(sl_utf8_prefix(s, strlen(s)), strlen(s));
    ck_assert_uint_eq(sl_utf8_prefix(s, 2), 2);
    ck_assert_uint_eq(sl_utf8_prefix(s, 3), 2); /* not half of é */
    ck_assert_uint_eq(sl_utf8_prefix(s, 4), 4);
    ck_assert_uint_eq(sl_utf8_prefix(s, 7), 6); /* not two thirds of € */
    ck_assert_uint_eq(sl_utf8_prefix(s, 8), 6);
    ck_assert_uint_eq(sl_utf8_prefix(s, 0), 0);
    /* Every cut of every prefix is valid UTF-8. */
    for (size_t m = 0; m <= strlen(s); m++)
        ck_assert(sl_utf8_valid(s, sl_utf8_prefix(s, m)));
}
END_TEST

static Suite *
utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, well_formed_text);
    tcase_add_test(tc, what_is_not);
    tcase_add_test(tc, cuts_fall_between_characters);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(utf8_suite)
