/*
 * test_expr.c: the filter expression language: comparisons as numbers,
 * booleans and text, SQL's three-valued logic, IN and LIKE, precedence,
 * quoting, and the messages and bounds of refused expressions.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "expr.h"
#include "pool.h"
#include "unit.h"

/* The columns every expression here is parsed against. */
static const char *const cols[] = {"id",   "name",       "amount", "active",
                                   "note", "Order Date", "and",    "a\"b"};
#define NCOLS ((int)(sizeof(cols) / sizeof(*cols)))
enum { ID, NAME, AMOUNT, ACTIVE, NOTE, ORDER_DATE, AND, AB };

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

static struct run_expr *
parse(const char *text)
{
    struct run_expr *e = NULL;
    char err[256];
    int rc = run_expr_parse(pool, text, cols, NCOLS, &e, err, sizeof(err));

    ck_assert_msg(rc == SL_OK, "%s: %d %s", text, rc, err);
    ck_assert_str_eq(err, "");
    return e;
}

/*
 * Asserts that text evaluates to want against a row whose column col is v,
 * the others NULL.
 */
static void
check_row(const char *text, int col, const char *v, int want)
{
    char *row[NCOLS] = {NULL};

    row[col] = (char *)v;
    ck_assert_msg(run_expr_eval(parse(text), row) == want, "%s with %s: %s",
                  text, v != NULL ? v : "NULL", want ? "dropped" : "kept");
}

#define KEEPS(text, col, v) check_row(text, col, v, 1)
#define DROPS(text, col, v) check_row(text, col, v, 0)

/* Asserts that text is refused with code rc and exactly message msg. */
static void
check_refused(const char *text, int rc, const char *msg)
{
    struct run_expr *e = (struct run_expr *)&e;
    char err[256];
    int got = run_expr_parse(pool, text, cols, NCOLS, &e, err, sizeof(err));

    ck_assert_msg(got == rc, "%s: code %d, expected %d (%s)", text, got, rc,
                  err);
    ck_assert_msg(strcmp(err, msg) == 0, "%s: \"%s\", expected \"%s\"", text,
                  err, msg);
    ck_assert_ptr_eq(e, (struct run_expr *)&e);
}

/* --- Comparisons --------------------------------------------------------- */

START_TEST(numbers_compare_as_numbers)
{
    KEEPS("amount > 9", AMOUNT, "10");
    DROPS("amount < 9", AMOUNT, "10");
    KEEPS("amount = 1.5", AMOUNT, "1.50");
    KEEPS("amount == '1.5'", AMOUNT, "001.500");
    KEEPS("amount = 0", AMOUNT, "-0.000");
    KEEPS("amount < 0", AMOUNT, "-0.5");
    KEEPS("amount < -1", AMOUNT, "-2");
    KEEPS("amount > -2", AMOUNT, "-1.99999");
    KEEPS("amount >= 100", AMOUNT, "1e2");
    KEEPS("amount = 1e2", AMOUNT, "100");
    KEEPS("amount > 1.5E-3", AMOUNT, "0.002");
    KEEPS("amount = 5", AMOUNT, "+5");
    KEEPS("amount = 5", AMOUNT, "5.");
    KEEPS("amount = 0.5", AMOUNT, ".5");
    KEEPS("amount <> 2", AMOUNT, "3");
    KEEPS("amount != 2", AMOUNT, "3");
    KEEPS("amount <= 3", AMOUNT, "3");
    DROPS("amount > 3", AMOUNT, "3");
    /* Beyond a double's 53 bits, and beyond int64, exactly. */
    DROPS("id = 9007199254740993", ID, "9007199254740992");
    KEEPS("id > 9007199254740992", ID, "9007199254740993");
    KEEPS("id < 123456789012345678901234567890.000000000000000000001", ID,
          "123456789012345678901234567890");
    KEEPS("id > -123456789012345678901234567890.000000000000000000001", ID,
          "-123456789012345678901234567890");
    /* Not numbers: compared as text. */
    DROPS("amount = 16", AMOUNT, "0x10");
    DROPS("amount = 5", AMOUNT, " 5");
    DROPS("amount = 5", AMOUNT, "5 ");
    DROPS("amount = 0", AMOUNT, ".");
    DROPS("amount = 0", AMOUNT, "-");
    DROPS("amount = 0", AMOUNT, "");
    DROPS("amount = 0", AMOUNT, "0e");
    KEEPS("amount > 0", AMOUNT, "e1");
    KEEPS("amount > 5", AMOUNT, "NaN");
    /* "Infinity" is no number: 'I' sorts after '1'. */
    KEEPS("amount > 1e308", AMOUNT, "Infinity");
}
END_TEST

START_TEST(text_compares_as_bytes)
{
    KEEPS("name = 'Ann'", NAME, "Ann");
    DROPS("name = 'ann'", NAME, "Ann");
    KEEPS("name < 'b'", NAME, "abc");
    KEEPS("name > 'B'", NAME, "a");
    KEEPS("name = 'O''Brien'", NAME, "O'Brien");
    KEEPS("name = ''", NAME, "");
    KEEPS("'x' = name", NAME, "x");
    KEEPS("name = 'élan'", NAME, "élan");
    /* A number against text that is none: text. */
    KEEPS("name > 10", NAME, "9a");
    KEEPS("'1' = 1", ID, NULL);
    KEEPS("1 < 2", ID, NULL);
}
END_TEST

START_TEST(booleans)
{
    static const char *const trues[] = {"t", "true", "TRUE", "True", "1"};
    static const char *const falses[] = {"f", "false", "FALSE", "0"};

    for (size_t i = 0; i < sizeof(trues) / sizeof(*trues); i++) {
        KEEPS("active = true", ACTIVE, trues[i]);
        KEEPS("active != FALSE", ACTIVE, trues[i]);
        KEEPS("true = active", ACTIVE, trues[i]);
        DROPS("active = false", ACTIVE, trues[i]);
    }
    for (size_t i = 0; i < sizeof(falses) / sizeof(*falses); i++) {
        KEEPS("active = false", ACTIVE, falses[i]);
        KEEPS("active < true", ACTIVE, falses[i]);
        DROPS("active = true", ACTIVE, falses[i]);
    }
    /* A text that is no boolean is unknown either way. */
    DROPS("active = true", ACTIVE, "yes");
    DROPS("active != true", ACTIVE, "yes");
    DROPS("not active = true", ACTIVE, "yes");
    KEEPS("true = true", ID, NULL);
    KEEPS("true > false", ID, NULL);
}
END_TEST

START_TEST(columns_against_columns)
{
    char *row[NCOLS] = {NULL};

    row[ID] = "10";
    row[AMOUNT] = "9.5";
    row[NAME] = "10";
    ck_assert_int_eq(run_expr_eval(parse("id > amount"), row), 1);
    ck_assert_int_eq(run_expr_eval(parse("id = name"), row), 1);
    ck_assert_int_eq(run_expr_eval(parse("id = note"), row), 0);
    ck_assert_int_eq(run_expr_eval(parse("not id = note"), row), 0);
    row[NOTE] = "10.0";
    ck_assert_int_eq(run_expr_eval(parse("id = note"), row), 1);
}
END_TEST

/* --- Logic ---------------------------------------------------------------- */

START_TEST(three_valued_logic)
{
    char *row[NCOLS] = {NULL};
    struct {
        const char *text;
        int keep;
    } cases[] = {
        /* note is NULL, id is 1. */
        {"note = 'x'", 0},
        {"note != 'x'", 0},
        {"not note = 'x'", 0},
        {"not not note = 'x'", 0},
        {"note = 'x' or id = 1", 1},
        {"id = 1 or note = 'x'", 1},
        {"note = 'x' or id = 2", 0},
        {"not (note = 'x' or id = 2)", 0},
        {"note = 'x' and id = 1", 0},
        {"not (note = 'x' and id = 1)", 0},
        {"not (note = 'x' and id = 2)", 1},
        {"not (id = 2 and note = 'x')", 1},
        {"note is null", 1},
        {"note is not null", 0},
        {"id is not null", 1},
        {"not note is null", 0},
        {"note like '%'", 0},
        {"note not like '%'", 0},
        {"note in ('x', 'y')", 0},
        {"note not in ('x', 'y')", 0},
        {"null is null", 1},
        {"'x' is not null", 1},
    };

    row[ID] = "1";
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        ck_assert_msg(run_expr_eval(parse(cases[i].text), row) == cases[i].keep,
                      "%s", cases[i].text);
}
END_TEST

START_TEST(precedence)
{
    char *row[NCOLS] = {NULL};

    row[ID] = "1";
    row[NAME] = "a";
    /* or < and < not. */
    ck_assert_int_eq(
        run_expr_eval(parse("id = 1 or id = 2 and name = 'b'"), row), 1);
    ck_assert_int_eq(
        run_expr_eval(parse("(id = 1 or id = 2) and name = 'b'"), row), 0);
    ck_assert_int_eq(run_expr_eval(parse("not id = 2 and name = 'a'"), row), 1);
    ck_assert_int_eq(run_expr_eval(parse("not (id = 1 and name = 'b')"), row),
                     1);
    ck_assert_int_eq(run_expr_eval(parse("NOT id = 1 OR name = 'a'"), row), 1);
    ck_assert_int_eq(run_expr_eval(parse("(id=1)and(name='a')"), row), 1);
    ck_assert_int_eq(
        run_expr_eval(parse("((((id = 1))) and (((name = 'a'))))"), row), 1);
    ck_assert_int_eq(
        run_expr_eval(parse("\tid = 2 or\n id = 3 or\r\n id = 1 "), row), 1);
}
END_TEST

/* --- IN, LIKE, IS NULL ---------------------------------------------------- */

START_TEST(in_lists)
{
    KEEPS("id in (1, 2, 3)", ID, "2");
    KEEPS("id in (1, 2, 3)", ID, "2.0");
    DROPS("id in (1, 2, 3)", ID, "4");
    KEEPS("id not in (1, 2, 3)", ID, "4");
    DROPS("id not in (1, 2, 3)", ID, "1");
    KEEPS("name IN ('a', 'b')", NAME, "b");
    KEEPS("id in (7)", ID, "7");
    KEEPS("active in (true)", ACTIVE, "t");
    /* A NULL item: no match is unknown, never false. */
    KEEPS("id in (1, null)", ID, "1");
    DROPS("id in (1, null)", ID, "5");
    DROPS("id not in (1, null)", ID, "5");
    DROPS("not id in (1, null)", ID, "5");
    DROPS("id not in (1, null)", ID, "1");
    /* An unknown boolean comparison is unknown too. */
    DROPS("active not in (true)", ACTIVE, "maybe");
}
END_TEST

START_TEST(like_patterns)
{
    KEEPS("name like 'abc'", NAME, "abc");
    DROPS("name like 'abc'", NAME, "abcd");
    DROPS("name like 'ABC'", NAME, "abc");
    KEEPS("name like 'a%'", NAME, "a");
    KEEPS("name like 'a%'", NAME, "abc");
    DROPS("name like 'a%'", NAME, "ba");
    KEEPS("name like '%c'", NAME, "abc");
    KEEPS("name like '%b%'", NAME, "abc");
    KEEPS("name like '%%'", NAME, "");
    DROPS("name like '_'", NAME, "");
    KEEPS("name like 'a_c'", NAME, "abc");
    DROPS("name like 'a_c'", NAME, "ac");
    KEEPS("name like '_l%n'", NAME, "élan");
    KEEPS("name like '__'", NAME, "日本");
    DROPS("name like '___'", NAME, "日本");
    KEEPS("name like '%a%a%b'", NAME, "xaxaaab");
    DROPS("name like '%a%a%b'", NAME, "xaxaaac");
    KEEPS("name like '%aab'", NAME, "aaab");
    KEEPS("name like 'it''s%'", NAME, "it's here");
    KEEPS("name not like 'a%'", NAME, "ba");
    DROPS("name not like 'a%'", NAME, "ab");
    KEEPS("amount like '1%'", AMOUNT, "1.5");
}
END_TEST

START_TEST(quoted_names)
{
    KEEPS("\"Order Date\" >= '2024-01-01'", ORDER_DATE, "2024-03-01");
    KEEPS("\"and\" = 1 and \"and\" is not null", AND, "1");
    KEEPS("\"a\"\"b\" = 'x'", AB, "x");
    KEEPS("\"id\" = 1", ID, "1");
}
END_TEST

/* --- Refusals ------------------------------------------------------------- */

START_TEST(refusals)
{
    check_refused("amout > 5", SL_EINVAL,
                  "unknown column \"amout\" at offset 0");
    check_refused("id = 1 or \"Order date\" = 1", SL_EINVAL,
                  "unknown column \"Order date\" at offset 10");
    check_refused("ID = 1", SL_EINVAL, "unknown column \"ID\" at offset 0");
    check_refused("", SL_EPARSE, "empty expression at offset 0");
    check_refused("   ", SL_EPARSE, "empty expression at offset 3");
    check_refused("id =", SL_EPARSE,
                  "expected a column, a value, not or '(' but found the end "
                  "at offset 4");
    check_refused("(id = 1", SL_EPARSE,
                  "expected ')' but found the end at offset 7");
    check_refused("id = 1)", SL_EPARSE,
                  "expected and, or or the end but found ) at offset 6");
    check_refused("id = 1 name = 2", SL_EPARSE,
                  "expected and, or or the end but found name at offset 7");
    check_refused("id", SL_EPARSE,
                  "expected a comparison, is, in or like but found the end at "
                  "offset 2");
    check_refused("name = 'abc", SL_EPARSE,
                  "string literal does not end at offset 7");
    check_refused("\"name = 1", SL_EPARSE,
                  "quoted name does not end at offset 0");
    check_refused("\"\" = 1", SL_EPARSE, "empty quoted name at offset 0");
    check_refused("id @ 1", SL_EPARSE, "unexpected character '@' at offset 3");
    check_refused("id = 1\x01", SL_EPARSE, "unexpected byte 0x01 at offset 6");
    check_refused("id = 1abc", SL_EPARSE, "malformed number at offset 5");
    check_refused("id = 1.2.3", SL_EPARSE, "malformed number at offset 5");
    check_refused("id = 1e", SL_EPARSE, "malformed number at offset 5");
    check_refused("id = -", SL_EPARSE, "malformed number at offset 5");
    check_refused("id = 1e999", SL_EPARSE,
                  "number 1e999 is out of range at offset 5");
    check_refused("id = null", SL_EPARSE,
                  "comparison with null is never true; use \"is null\" at "
                  "offset 5");
    check_refused("null <> id", SL_EPARSE,
                  "comparison with null is never true; use \"is null\" at "
                  "offset 0");
    check_refused("id is 1", SL_EPARSE,
                  "expected null or not after is but found 1 at offset 6");
    check_refused("id is not true", SL_EPARSE,
                  "expected null after is not but found true at offset 10");
    check_refused("id not between 1", SL_EPARSE,
                  "expected in or like after not but found between at offset "
                  "7");
    check_refused("id in 1", SL_EPARSE,
                  "expected '(' after in but found 1 at offset 6");
    check_refused("id in ()", SL_EPARSE,
                  "expected a value in the list but found ) at offset 7");
    check_refused("id in (1, name)", SL_EPARSE,
                  "expected a value in the list but found name at offset 10");
    check_refused("id in (1 2)", SL_EPARSE,
                  "expected ',' or ')' but found 2 at offset 9");
    check_refused("name like name", SL_EPARSE,
                  "expected a 'pattern' after like but found name at offset "
                  "10");
    check_refused("id = 1 and", SL_EPARSE,
                  "expected a column, a value, not or '(' but found the end "
                  "at offset 10");
    check_refused("and = 1", SL_EPARSE,
                  "expected a column, a value, not or '(' but found and at "
                  "offset 0");
    check_refused("id = 1 or name = 'a_rather_long_token_that_goes_on' "
                  "'and_on_and_on_and_on_and_on_and_on'",
                  SL_EPARSE,
                  "expected and, or or the end but found "
                  "'and_on_and_on_and_on_and_on_and "
                  "at offset 52");
}
END_TEST

START_TEST(refusals_without_room_for_a_message)
{
    struct run_expr *e = NULL;
    char err[8] = "xxxxxxx";

    ck_assert_int_eq(run_expr_parse(pool, "id = ", cols, NCOLS, &e, NULL, 0),
                     SL_EPARSE);
    ck_assert_int_eq(run_expr_parse(pool, "id = ", cols, NCOLS, &e, err, 0),
                     SL_EPARSE);
    ck_assert_str_eq(err, "xxxxxxx");
    ck_assert_int_eq(
        run_expr_parse(pool, "id = ", cols, NCOLS, &e, err, sizeof(err)),
        SL_EPARSE);
    ck_assert_str_eq(err, "expecte");
    ck_assert_int_eq(run_expr_parse(pool, NULL, cols, NCOLS, &e, NULL, 0),
                     SL_EINVAL);
    ck_assert_int_eq(run_expr_parse(NULL, "id = 1", cols, NCOLS, &e, NULL, 0),
                     SL_EINVAL);
    ck_assert_int_eq(run_expr_parse(pool, "id = 1", NULL, 1, &e, NULL, 0),
                     SL_EINVAL);
    ck_assert_int_eq(run_expr_parse(pool, "1 = 1", NULL, 0, &e, NULL, 0),
                     SL_OK);
    ck_assert_int_eq(run_expr_eval(e, NULL), 1);
}
END_TEST

/* --- Bounds --------------------------------------------------------------- */

/* Text of n copies of open, then "id = 1", then n copies of close. */
static char *
nested(int n, const char *open, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = sl_palloc(pool, (size_t)n * (lo + lc) + 8), *p = s;

    for (int i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, "id = 1", 6);
    p += 6;
    for (int i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

START_TEST(depth_is_bounded)
{
    char *row[NCOLS] = {"1"};
    char msg[128];

    ck_assert_int_eq(
        run_expr_eval(parse(nested(RUN_EXPR_MAX_DEPTH, "(", ")")), row), 1);
    ck_assert_int_eq(
        run_expr_eval(parse(nested(RUN_EXPR_MAX_DEPTH, "not ", "")), row), 1);
    ck_assert_int_eq(
        run_expr_eval(parse(nested(RUN_EXPR_MAX_DEPTH / 2, "not (", ")")), row),
        1);
    snprintf(msg, sizeof(msg), "expression nests deeper than %d at offset %d",
             RUN_EXPR_MAX_DEPTH, RUN_EXPR_MAX_DEPTH);
    check_refused(nested(RUN_EXPR_MAX_DEPTH + 1, "(", ")"), SL_ETOOBIG, msg);
    snprintf(msg, sizeof(msg), "expression nests deeper than %d at offset %d",
             RUN_EXPR_MAX_DEPTH, 4 * RUN_EXPR_MAX_DEPTH);
    check_refused(nested(RUN_EXPR_MAX_DEPTH + 1, "not ", ""), SL_ETOOBIG, msg);
    /* A runaway that would overflow the stack of a naive parser. */
    check_refused(nested(100000, "(", ")"), SL_ETOOBIG,
                  "expression is longer than 4096 bytes at offset 4096");
}
END_TEST

START_TEST(nodes_are_bounded)
{
    char text[RUN_EXPR_MAX_TEXT + 1], msg[128];
    char *row[NCOLS] = {"600"};
    size_t len;
    int i;

    /* id in (1, 2, ..., 511): 511 items and the IN itself. */
    len = (size_t)snprintf(text, sizeof(text), "id in (1");
    for (i = 2; i < RUN_EXPR_MAX_NODES; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, ",%d", i);
    snprintf(text + len, sizeof(text) - len, ")");
    ck_assert_int_eq(run_expr_eval(parse(text), row), 0);
    row[ID] = "511";
    ck_assert_int_eq(run_expr_eval(parse(text), row), 1);
    snprintf(text + len, sizeof(text) - len, ",%d)", i);
    snprintf(msg, sizeof(msg),
             "expression has more than %d nodes at offset %zu",
             RUN_EXPR_MAX_NODES, len + 1);
    check_refused(text, SL_ETOOBIG, msg);

    /*
     * A chain of ORs is one node with many operands, not a deep tree: 511
     * comparisons and the OR are the most.
     */
    len = 0;
    for (i = 0; i < RUN_EXPR_MAX_NODES - 1; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s1=%d",
                                i ? " or " : "", i % 10);
    row[ID] = NULL;
    ck_assert_int_eq(run_expr_eval(parse(text), row), 1);
    ck_assert_uint_lt(len + 8, sizeof(text));
    snprintf(text + len, sizeof(text) - len, " or 1=1");
    snprintf(msg, sizeof(msg),
             "expression has more than %d nodes at offset %zu",
             RUN_EXPR_MAX_NODES, len + 4);
    check_refused(text, SL_ETOOBIG, msg);
}
END_TEST

START_TEST(text_is_bounded)
{
    char text[RUN_EXPR_MAX_TEXT + 2];
    char *row[NCOLS] = {"1"};

    /* Exactly the maximum is accepted. */
    memset(text, ' ', sizeof(text));
    memcpy(text, "id = 1", 6);
    text[RUN_EXPR_MAX_TEXT] = '\0';
    ck_assert_int_eq(run_expr_eval(parse(text), row), 1);
    text[RUN_EXPR_MAX_TEXT] = ' ';
    text[RUN_EXPR_MAX_TEXT + 1] = '\0';
    check_refused(text, SL_ETOOBIG,
                  "expression is longer than 4096 bytes at offset 4096");
}
END_TEST

START_TEST(pool_exhaustion)
{
    sl_pool *small = sl_pool_create(1024, 1024);
    struct run_expr *e = NULL;
    char text[RUN_EXPR_MAX_TEXT + 1], err[128];
    size_t len = 0;
    int rc;

    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%sid=%d",
                                i ? " or " : "", i);
    rc = run_expr_parse(small, text, cols, NCOLS, &e, err, sizeof(err));
    ck_assert_int_eq(rc, SL_ENOMEM);
    ck_assert_msg(strncmp(err, "out of memory at offset ", 24) == 0, "%s", err);
    ck_assert_ptr_null(e);
    sl_pool_destroy(small);
}
END_TEST

static Suite *
expr_suite(void)
{
    Suite *s = suite_create("expr");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, numbers_compare_as_numbers);
    tcase_add_test(tc, text_compares_as_bytes);
    tcase_add_test(tc, booleans);
    tcase_add_test(tc, columns_against_columns);
    tcase_add_test(tc, three_valued_logic);
    tcase_add_test(tc, precedence);
    tcase_add_test(tc, in_lists);
    tcase_add_test(tc, like_patterns);
    tcase_add_test(tc, quoted_names);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, refusals_without_room_for_a_message);
    tcase_add_test(tc, depth_is_bounded);
    tcase_add_test(tc, nodes_are_bounded);
    tcase_add_test(tc, text_is_bounded);
    tcase_add_test(tc, pool_exhaustion);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(expr_suite)
