/*
 * it_limits.c: one organisation cannot hurt the others through the
 * runner. A user's SQL reaches the warehouse as one statement, its
 * values bound as parameters ("$1" in a literal stays text).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

/* csv "in" (the organisation's file name) -> sql query -> gold.table. */
static json_t *
through_sql(const char *file, const char *query, json_t *params,
            const char *table)
{
    json_t *sql = json_pack("{s:s}", "query", query);

    if (params != NULL)
        json_object_set_new(sql, "params", params);
    return json_pack(
        "[o, o, o]",
        it_node("in", "extractor", "csv", json_pack("{s:s}", "path", file)),
        it_node("q", "transformer", "sql", sql),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "schema", "gold", "table", table)));
}

/* A warehouse query of the postgres extractor -> gold.table. */
static json_t *
from_query(const char *query, const char *table)
{
    return json_pack(
        "[o, o]",
        it_node("src", "extractor", "postgres",
                json_pack("{s:s}", "query", query)),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "schema", "gold", "table", table)));
}

/* The rows of t_<org>_gold.<table> as "a|b;...", ordered. */
static char *
gold_rows(const char *org, const char *table, const char *cols)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(string_agg(concat_ws('|', %s), ';' ORDER BY "
             "1), '') FROM t_%s_gold.%s",
             cols, org, table);
    return it_wh(sql, NULL);
}

START_TEST(one_statement_its_values_bound)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *v;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "ids.csv", "id\n1\n2\n");

    /* "$1" inside a literal is text, beside a bound :x. */
    ck_assert_msg(it_run_chain(&c, token,
                               through_sql("ids.csv",
                                           "SELECT id, '$1' AS lit, :x AS x, "
                                           "':x' AS name FROM input",
                                           json_pack("{s:s}", "x", "five"),
                                           "lits"),
                               &r),
                  "%s", r.body);
    it_resp_free(&r);
    v = gold_rows(org, "lits", "id, lit, x, name");
    ck_assert_str_eq(v, "1|$1|five|:x;2|$1|five|:x");
    free(v);

    /* A second statement is refused, in a transform and an extractor. */
    it_run_chain_fails(
        &c, token,
        through_sql("ids.csv", "SELECT id FROM input; SELECT 2", NULL, "two"),
        "one SQL statement");
    it_run_chain_fails(&c, token,
                       from_query("SELECT 1 AS a; DROP TABLE lits", "two"),
                       "one SQL statement");
    v = gold_rows(org, "lits", "id");
    ck_assert_str_eq(v, "1;2");
    free(v);
    free(token);
    free(user);
    free(org);
}
END_TEST

static Suite *
limits_suite(void)
{
    Suite *s = suite_create("it_limits");
    TCase *tc = tcase_create("limits");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, one_statement_its_values_bound);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(limits_suite)
