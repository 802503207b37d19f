/*
 * test_pgcopy.c: COPY's text format, decoded and encoded (fields, NULL,
 * every escape, the wrong number of fields, round trips of awkward
 * values), and the type names a loader may write into CREATE TABLE.
 * (Placeholders in a user's SQL are test_sqltext's.)
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "pgcopy.h"
#include "pool.h"
#include "unit.h"

static sl_pool *pool;

static void
setup(void)
{
    pool = sl_pool_create(0, 0);
    ck_assert_ptr_nonnull(pool);
}

static void
teardown(void)
{
    sl_pool_destroy(pool);
}

/* Decodes len bytes of line into row (ncols values); returns the code. */
static int
decode(const char *line, size_t len, char **row, int ncols)
{
    return run_copy_decode(pool, line, len, row, ncols);
}

/* Decodes the C string line, which must give ncols values. */
static void
decode_ok(const char *line, char **row, int ncols)
{
    ck_assert_int_eq(decode(line, strlen(line), row, ncols), 0);
}

START_TEST(fields_and_nulls)
{
    char *row[4];

    decode_ok("1\tAnn\t\\N\t", row, 4);
    ck_assert_str_eq(row[0], "1");
    ck_assert_str_eq(row[1], "Ann");
    ck_assert_ptr_null(row[2]);
    ck_assert_str_eq(row[3], ""); /* empty, not NULL */
    decode_ok("", row, 1);
    ck_assert_str_eq(row[0], "");
    decode_ok("\\N", row, 1);
    ck_assert_ptr_null(row[0]);
    decode_ok("\\N\t\\N", row, 2);
    ck_assert_ptr_null(row[0]);
    ck_assert_ptr_null(row[1]);
    /* \N is NULL only as the whole field. */
    decode_ok("\\\\N\t\\Nx\tx\\N", row, 3);
    ck_assert_str_eq(row[0], "\\N");
    ck_assert_str_eq(row[1], "Nx");
    ck_assert_str_eq(row[2], "xN");
}
END_TEST

START_TEST(every_escape)
{
    char *row[1];

    decode_ok("a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh", row, 1);
    ck_assert_str_eq(row[0], "a\tb\nc\rd\\e\bf\fg\vh");
    /* Octal: up to three digits. */
    decode_ok("\\101\\60\\1012\\7", row, 1);
    ck_assert_str_eq(row[0], "A0A2\a");
    /* Hex: \x and one or two digits; \x without one is an x. */
    decode_ok("\\x41\\x4a\\x4g\\xZ", row, 1);
    ck_assert_str_eq(row[0], "AJ\x04gxZ");
    /* Any other character stands for itself. */
    decode_ok("\\q\\'\\\"", row, 1);
    ck_assert_str_eq(row[0], "q'\"");
    /* A backslash ending the line is kept. */
    decode_ok("ab\\", row, 1);
    ck_assert_str_eq(row[0], "ab\\");
    /* An escaped tab is data, not a separator. */
    decode_ok("a\\\tb", row, 1);
    ck_assert_str_eq(row[0], "a\tb");
    /* UTF-8 passes as it is. */
    decode_ok("caf\xc3\xa9 \xe2\x82\xac", row, 1);
    ck_assert_str_eq(row[0], "caf\xc3\xa9 \xe2\x82\xac");
}
END_TEST

START_TEST(a_nul_after_a_backslash_is_a_nul)
{
    /* "a\<NUL>b": the escaped byte is itself, so the value ends there
     * as a C string (the server never sends a NUL; a fuzzer does). */
    static const char line[] = {'a', '\\', '\0', 'b', 'c'};
    char *row[1];

    ck_assert_int_eq(decode(line, sizeof(line), row, 1), 0);
    ck_assert_str_eq(row[0], "a");
    ck_assert_str_eq(row[0] + 2, "bc");
}
END_TEST

START_TEST(the_number_of_fields_is_checked)
{
    char *row[3];

    ck_assert_int_eq(decode("a\tb", 3, row, 3), SL_EPARSE);
    ck_assert_int_eq(decode("a\tb\tc\td", 7, row, 3), SL_EPARSE);
    ck_assert_int_eq(decode("a\tb\t", 4, row, 2), SL_EPARSE);
    ck_assert_int_eq(decode("", 0, row, 2), SL_EPARSE);
}
END_TEST

/* Encodes row as one line and returns it (in the pool). */
static const char *
encode(char *const *row, int ncols)
{
    sl_buf b;
    const char *out;

    sl_buf_init(&b, 1 << 20);
    ck_assert_int_eq(run_copy_encode(&b, row, ncols), 0);
    out = sl_pstrndup(pool, b.data, b.len);
    sl_buf_free(&b);
    return out;
}

START_TEST(encoding_escapes_what_must_be)
{
    char *row[] = {"1",   NULL, "tab\there", "new\nline",  "cr\r",
                   "b\\", "",   "\\N",       "caf\xc3\xa9"};
    char *one[] = {NULL};
    sl_buf b;

    ck_assert_str_eq(encode(row, 9), "1\t\\N\ttab\\there\tnew\\nline\tcr\\r\t"
                                     "b\\\\\t\t\\\\N\tcaf\xc3\xa9\n");
    ck_assert_str_eq(encode(one, 1), "\\N\n");
    /* A buffer at its bound refuses, and says so. */
    sl_buf_init(&b, 8);
    ck_assert_int_lt(run_copy_encode(&b, row, 9), 0);
    sl_buf_free(&b);
}
END_TEST

START_TEST(what_is_encoded_decodes_the_same)
{
    char *row[] = {"\\", "\\\\t",    "\t\n\r",       "\\N",     "",
                   NULL, "\x01\x7f", "ends with \\", " spaced "};
    char *back[9];
    const char *line = encode(row, 9);
    size_t len = strlen(line);

    ck_assert_int_eq(line[len - 1], '\n');
    ck_assert_int_eq(decode(line, len - 1, back, 9), 0);
    for (int i = 0; i < 9; i++) {
        if (row[i] == NULL)
            ck_assert_ptr_null(back[i]);
        else
            ck_assert_str_eq(back[i], row[i]);
    }
}
END_TEST

/* --- placeholders -------------------------------------------------------- */

/* --- type names ---------------------------------------------------------- */

START_TEST(type_names_a_loader_may_write)
{
    static const char *const good[] = {
        "text",
        "bigint",
        "_int4",
        "numeric(10,2)",
        "numeric(5,-2)",
        "numeric(7)",
        "character varying(20)",
        "character varying",
        "bit varying(5)",
        "double precision",
        "timestamp with time zone",
        "timestamp without time zone",
        "timestamp(3) with time zone",
        "time(6) without time zone",
        "integer[]",
        "character varying(20)[]",
        "timestamp(3) with time zone[]",
    };
    static const char *const bad[] = {
        "",
        "1int",
        "text; DROP TABLE x",
        "text)",
        "a b",
        "numeric(",
        "numeric(10,",
        "numeric(,2)",
        "numeric(10,-)",
        "numeric(10,2",
        "numeric(10)(2)",
        "integer[][]",
        "integer[",
        "varchar(10) extra",
        "timestamp with time zone with time zone",
        "\"quoted\"",
        "x123456789012345678901234567890123456789012345678901234567890123",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(run_type_ok(good[i]), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!run_type_ok(bad[i]), "accepted %s", bad[i]);
}
END_TEST

static Suite *
pgcopy_suite(void)
{
    Suite *s = suite_create("pgcopy");
    TCase *tc = tcase_create("pgcopy");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fields_and_nulls);
    tcase_add_test(tc, every_escape);
    tcase_add_test(tc, a_nul_after_a_backslash_is_a_nul);
    tcase_add_test(tc, the_number_of_fields_is_checked);
    tcase_add_test(tc, encoding_escapes_what_must_be);
    tcase_add_test(tc, what_is_encoded_decodes_the_same);
    tcase_add_test(tc, type_names_a_loader_may_write);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pgcopy_suite)
