/*
 * test_sqltext.c: placeholders in a user's SQL: bound where PostgreSQL
 * would see them as names, left alone inside every kind of literal,
 * quoted identifier and comment; one statement only; values as text.
 * And seed 001's quoted placeholders ('${name}'), which the API makes
 * bare where they are a whole plain literal, and nowhere else.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "pool.h"
#include "sqltext.h"
#include "unit.h"

static sl_pool *pool;
static json_t *params;

static void
setup(void)
{
    pool = sl_pool_create(0, 0);
    ck_assert_ptr_nonnull(pool);
    params = json_pack("{s:i, s:s, s:n, s:b, s:f, s:{s:i}, s:s}", "x", 5, "s",
                       "it's", "nothing", "yes", 1, "r", 1.5, "obj", "a", 1,
                       "lo", "L");
}

static void
teardown(void)
{
    json_decref(params);
    sl_pool_destroy(pool);
}

/* Binds sql and asserts the text it becomes. */
static struct sl_sql_query
bound(const char *sql, const char *want)
{
    struct sl_sql_query q;
    const char *missing;
    int rc = sl_sql_bind(pool, sql, params, NULL, &q, &missing);

    ck_assert_msg(rc == 0, "%s: %d (%s)", sql, rc, q.refused);
    ck_assert_str_eq(q.text, want);
    return q;
}

/* Asserts that sql is refused as one statement should not be. */
static void
refused(const char *sql, const char *why)
{
    struct sl_sql_query q;
    const char *missing;
    int rc = sl_sql_bind(pool, sql, params, NULL, &q, &missing);

    ck_assert_msg(rc == SL_EINVAL, "%s: %d", sql, rc);
    ck_assert_msg(strstr(q.refused, why) != NULL, "%s: %s", sql, q.refused);
}

START_TEST(names_become_numbers)
{
    struct sl_sql_query q =
        bound("SELECT :x, ${s}, :x + 1 FROM t WHERE a = :s AND b=:yes",
              "SELECT $1, $2, $1 + 1 FROM t WHERE a = $2 AND b=$3");

    ck_assert_int_eq(q.nparams, 3);
    ck_assert_str_eq(q.names[0], "x");
    ck_assert_str_eq(q.values[0], "5");
    ck_assert_str_eq(q.values[1], "it's");
    ck_assert_str_eq(q.values[2], "true");
    q = bound("SELECT f(:nothing), (:r), :obj", "SELECT f($1), ($2), $3");
    ck_assert_ptr_null(q.values[0]);
    ck_assert_str_eq(q.values[1], "1.5");
    ck_assert_str_eq(q.values[2], "{\"a\":1}");
}
END_TEST

/* The run's parameters come before the node's. */
START_TEST(the_runs_parameters_come_first)
{
    json_t *node = json_pack("{s:s, s:s}", "x", "node", "only", "mine");
    struct sl_sql_query q;
    const char *missing;

    ck_assert_int_eq(sl_sql_bind(pool, ":x, :only", params, node, &q, &missing),
                     0);
    ck_assert_str_eq(q.text, "$1, $2");
    ck_assert_str_eq(q.values[0], "5");
    ck_assert_str_eq(q.values[1], "mine");
    json_decref(node);
}
END_TEST

START_TEST(literals_keep_their_text)
{
    static const char *const same[] = {
        "SELECT '$1', ':x', '${x}'",
        "SELECT 'it''s :x'",
        "SELECT E'\\' :x', e'\\\\'",
        "SELECT U&'d\\0061t :x', U&\"c :x\"",
        "SELECT B'101', X'1f', N':x'",
        "SELECT \"col:x\", \"a\"\":x\"",
        "SELECT $$ :x $1 $$, $tag$ :x $$ $tag$",
        "SELECT 1 -- :x\n",
        "SELECT 1 /* /* :x */ :x */",
        "SELECT a::text, b :: int, c::x",
        "SELECT arr[lo:hi], arr[1:2], f(a):text, (a)[1:2]",
        "SELECT a$1, a$b FROM t$1",
        "SELECT 1.5e3, 'unterminated :x",
    };

    for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++)
        ck_assert_int_eq(bound(same[i], same[i]).nparams, 0);
    /* A standard string ends at its quote: a backslash escapes nothing. */
    bound("SELECT 'a\\', :x", "SELECT 'a\\', $1");
    bound("SELECT $$a$$||:x, ':x'||:x", "SELECT $$a$$||$1, ':x'||$1");
    bound("SELECT :x::text, (:x)", "SELECT $1::text, ($1)");
}
END_TEST

START_TEST(one_statement)
{
    bound("SELECT 1;", "SELECT 1;");
    bound("SELECT 1; -- done\n /* really */ ;", "SELECT 1; -- done\n /* "
                                                "really */ ;");
    bound("SELECT ';' AS a, $$;$$, \";\"", "SELECT ';' AS a, $$;$$, \";\"");
    refused("SELECT 1; SELECT 2", "one SQL statement");
    refused("SELECT :x; SET statement_timeout = 0", "one SQL statement");
    refused("SELECT 1;SET work_mem = '1GB'", "one SQL statement");
    refused("SELECT $1", "positional");
    refused("SELECT a FROM t WHERE b = $2", "positional");
}
END_TEST

START_TEST(missing_and_bounds)
{
    struct sl_sql_query q;
    const char *missing = NULL;
    char *big;
    size_t n;

    ck_assert_int_eq(
        sl_sql_bind(pool, "SELECT :nope", params, NULL, &q, &missing),
        SL_ENOTFOUND);
    ck_assert_str_eq(missing, "nope");
    /* The run's parameters first, then the node's params. */
    {
        json_t *run = json_pack("{s:i}", "x", 7);

        ck_assert_int_eq(
            sl_sql_bind(pool, "SELECT :x, :s", run, params, &q, &missing), 0);
        ck_assert_str_eq(q.values[0], "7");
        ck_assert_str_eq(q.values[1], "it's");
        json_decref(run);
    }
    /* SL_MAX_SQL_PARAMS names, then one more. */
    {
        json_t *many = json_object();
        char sql[SL_MAX_SQL_PARAMS * 8 + 64], *w = sql;

        w += sprintf(w, "SELECT 0");
        for (int i = 0; i <= SL_MAX_SQL_PARAMS; i++) {
            char k[16];

            snprintf(k, sizeof(k), "p%d", i);
            json_object_set_new(many, k, json_integer(i));
            if (i < SL_MAX_SQL_PARAMS)
                w += sprintf(w, "+:%s", k);
        }
        ck_assert_int_eq(sl_sql_bind(pool, sql, many, NULL, &q, &missing), 0);
        ck_assert_int_eq(q.nparams, SL_MAX_SQL_PARAMS);
        sprintf(w, "+:p%d", SL_MAX_SQL_PARAMS);
        ck_assert_int_eq(sl_sql_bind(pool, sql, many, NULL, &q, &missing),
                         SL_ETOOBIG);
        json_decref(many);
    }
    n = SL_MAX_SQL_BYTES + 1;
    big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    ck_assert_int_eq(sl_sql_bind(pool, big, params, NULL, &q, &missing),
                     SL_ETOOBIG);
    free(big);
}
END_TEST

/* Asserts that seed 001's sql is unquoted into want. */
static void
unquoted(const char *sql, const char *want)
{
    char *out = sl_sql_unquote_placeholders(pool, sql);

    ck_assert_ptr_nonnull(out);
    ck_assert_msg(strcmp(out, want) == 0, "%s: gave %s, want %s", sql, out,
                  want);
}

/* Seed 001's '${name}' literals: bare placeholders, bound as parameters. */
START_TEST(seed_001_quoted_placeholders)
{
    static const char *const same[] = {
        "SELECT 'a ${x}', '${x} b', '${x}${y}'",
        "SELECT E'${x}', e'${x}', X'${x}', B'${x}', N'${x}', U&'${x}'",
        "SELECT \"${x}\", \"'${x}'\"",
        "SELECT 1 -- '${x}'\n",
        "SELECT 1 /* '${x}' /* '${y}' */ */",
        /* Block comments nest, as PostgreSQL's do. */
        "SELECT 1 /* /* '${x}' */ '${y}' */",
        "SELECT $$'${x}'$$, $t$ '${x}' $t$",
        "SELECT ':x', '$1', '${1x}', '${}', '${x', '$x'",
        "SELECT '${x}'''",
        "SELECT E'a\\' '${x}'",
        "SELECT '${x}",
    };

    unquoted("SELECT * FROM t WHERE d >= '${start_date}'",
             "SELECT * FROM t WHERE d >= ${start_date}");
    unquoted("f('${a}','${b_2}')", "f(${a},${b_2})");
    unquoted("SELECT 'it''s' || '${x}'", "SELECT 'it''s' || ${x}");
    /* A standard string ends at its quote: the next literal is one. */
    unquoted("SELECT 'a\\' '${x}'", "SELECT 'a\\' ${x}");
    unquoted("SELECT x::text = '${x}'", "SELECT x::text = ${x}");
    for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++)
        unquoted(same[i], same[i]);
    /* What is unquoted is bound; what is not stays text. */
    {
        struct sl_sql_query q = bound(
            sl_sql_unquote_placeholders(
                pool, "SELECT * FROM t WHERE s = '${s}' AND n = 'x ${s}'"),
            "SELECT * FROM t WHERE s = $1 AND n = 'x ${s}'");

        ck_assert_int_eq(q.nparams, 1);
        ck_assert_str_eq(q.values[0], "it's");
    }
}
END_TEST

static Suite *
sqltext_suite(void)
{
    Suite *s = suite_create("sqltext");
    TCase *tc = tcase_create("bind");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, names_become_numbers);
    tcase_add_test(tc, the_runs_parameters_come_first);
    tcase_add_test(tc, literals_keep_their_text);
    tcase_add_test(tc, one_statement);
    tcase_add_test(tc, missing_and_bounds);
    tcase_add_test(tc, seed_001_quoted_placeholders);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(sqltext_suite)
