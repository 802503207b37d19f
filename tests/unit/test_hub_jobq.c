/*
 * test_hub_jobq.c: the hub's catch-up jobs are taken organisation by
 * organisation in turn, each organisation's in the order they came: one
 * organisation's many replays delay another's snapshot by one job, not
 * by all of them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "unit.h"

static struct hub_ctx ctx; /* large: the index's buckets */

static struct hub_catchup *
job(const char *tenant, int n)
{
    struct hub_catchup *j = calloc(1, sizeof(*j));

    ck_assert_ptr_nonnull(j);
    snprintf(j->t.tenant, sizeof(j->t.tenant), "%s", tenant);
    j->since = (uint64_t)n;
    return j;
}

/* Takes the next job, checks its organisation and number, frees it. */
static void
expect(const char *tenant, int n)
{
    struct hub_catchup *j = hub_jobq_take(&ctx);

    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(j->t.tenant, tenant);
    ck_assert_int_eq((int)j->since, n);
    free(j);
}

START_TEST(organisations_take_turns)
{
    memset(&ctx, 0, sizeof(ctx));
    ck_assert_ptr_null(hub_jobq_take(&ctx));
    /* a queues 100 replays, then b a snapshot, then c two. */
    for (int i = 1; i <= 100; i++)
        ck_assert_int_eq(hub_jobq_put(&ctx, job("org-a", i)), 0);
    ck_assert_int_eq(hub_jobq_put(&ctx, job("org-b", 1)), 0);
    ck_assert_int_eq(hub_jobq_put(&ctx, job("org-c", 1)), 0);
    ck_assert_int_eq(hub_jobq_put(&ctx, job("org-c", 2)), 0);
    /* b's comes second, c's third, not after a's hundred. */
    expect("org-a", 1);
    expect("org-b", 1);
    expect("org-c", 1);
    expect("org-a", 2);
    expect("org-c", 2);
    /* b comes back to the end of the turns when it has a job again. */
    ck_assert_int_eq(hub_jobq_put(&ctx, job("org-b", 2)), 0);
    expect("org-a", 3);
    expect("org-b", 2);
    for (int i = 4; i <= 100; i++)
        expect("org-a", i);
    ck_assert_ptr_null(hub_jobq_take(&ctx));
    ck_assert_ptr_null(ctx.turns_head);
    for (size_t b = 0; b < HUB_JOBQ_BUCKETS; b++)
        ck_assert_ptr_null(ctx.jobqs[b]);
}
END_TEST

static Suite *
hub_jobq_suite(void)
{
    Suite *s = suite_create("hub_jobq");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, organisations_take_turns);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(hub_jobq_suite)
