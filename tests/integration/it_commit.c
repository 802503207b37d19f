/*
 * it_commit.c: a run's loads commit together, once, and only by the
 * runner that still holds the run. Here: the runner's identity, a random
 * id.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "unit.h"

/* Asserts the first value of sql (one parameter, as the owner). */
static void
owner_is(const char *sql, const char *p1, const char *want)
{
    char *v = it_owner(sql, p1);

    ck_assert_msg(strcmp(v, want) == 0, "%s: want %s, got %s", sql, want, v);
    free(v);
}

/* An organisation on the SCALE plan; its token, id in *org. */
static char *
scaled_org(struct it_client *c, char **org)
{
    char *user, *token = it_new_org(c, &user, org);

    it_scale_up(*org);
    free(user);
    return token;
}

/* A csv extractor "in" of file name, and a postgres loader "out"
 * appending to the warehouse table table. */
static json_t *
csv_to_table(const char *name, const char *table)
{
    return json_pack(
        "[o, o]",
        it_node("in", "extractor", "csv", json_pack("{s:s}", "path", name)),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s, s:s}", "schema", "bronze", "table", table,
                          "mode", "append")));
}

/* Starts a run of a new pipeline of the chain nodes (taken). */
static char *
start_chain(struct it_client *c, const char *token, json_t *nodes)
{
    char *pid = it_pipeline(c, token, nodes, it_chain(nodes));
    char *run = it_execute(c, token, pid);

    free(pid);
    return run;
}

/* Runs a chain to completed|failed and says which. */
static void
await_end(struct it_client *c, const char *token, const char *run,
          const char *want, double limit)
{
    struct it_resp r;

    it_await_run(c, token, run, "completed|failed|cancelled", limit, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), want) == 0, "want %s: %s", want,
                  r.body);
    it_resp_free(&r);
}

/* The runner's identity is a random id, not hostname:pid. */
START_TEST(runner_id_is_random)
{
    struct it_client c;
    char *org, *token, *run;

    it_client_init(&c);
    token = scaled_org(&c, &org);
    it_data_file(org, "one.csv", "id,v\n1,a\n");
    run = start_chain(&c, token, csv_to_table("one.csv", "one"));
    await_end(&c, token, run, "completed", 30);
    owner_is("SELECT claimed_by ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
             "[89ab][0-9a-f]{3}-[0-9a-f]{12}$' FROM runs WHERE id = $1",
             run, "t");
    free(run);
    free(token);
    free(org);
}
END_TEST

static Suite *
commit_suite(void)
{
    Suite *s = suite_create("it_commit");
    TCase *tc = tcase_create("commit");

    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, runner_id_is_random);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(commit_suite)
