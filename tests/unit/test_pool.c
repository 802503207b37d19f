/*
 * test_pool.c: the arena and its cleanup hooks.
 */
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "pool.h"
#include "unit.h"

static int order[8];
static int norder;

static void
record(void *data)
{
    order[norder++] = (int)(intptr_t)data;
}

START_TEST(alloc_is_aligned_and_usable)
{
    sl_pool *p = sl_pool_create(1024, 0);

    ck_assert_ptr_nonnull(p);
    for (int i = 1; i < 200; i++) {
        char *m = sl_palloc(p, (size_t)i);

        ck_assert_ptr_nonnull(m);
        ck_assert_uint_eq((uintptr_t)m % 16, 0);
        memset(m, 0xab, (size_t)i);
    }
    sl_pool_destroy(p);
}
END_TEST

START_TEST(large_alloc_gets_own_block)
{
    sl_pool *p = sl_pool_create(1024, 0);
    char *small = sl_palloc(p, 10);
    char *big = sl_palloc(p, 100000);
    char *small2 = sl_palloc(p, 10);

    ck_assert_ptr_nonnull(big);
    memset(big, 1, 100000);
    /* The small allocations still come from the first block. */
    ck_assert_int_eq(small2 - small, 16);
    sl_pool_destroy(p);
}
END_TEST

START_TEST(what_fits_comes_from_current_block)
{
    /* 600 bytes is over a quarter of the block but fits in what is left:
     * no block of its own (a small first block holding a large struct). */
    sl_pool *p = sl_pool_create(1024, 0);
    size_t base = sl_pool_size(p);
    char *a = sl_palloc(p, 600);
    char *b = sl_palloc(p, 16);

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(b - a, 608);
    ck_assert_uint_eq(sl_pool_size(p), base);
    sl_pool_destroy(p);
}
END_TEST

START_TEST(block_of_its_own_is_given_back)
{
    sl_pool *p = sl_pool_create(1024, 0);
    size_t base = sl_pool_size(p);
    char *small = sl_palloc(p, 32);
    char *a = sl_palloc_block(p, 4096);
    char *b = sl_palloc_block(p, 100);

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    memset(a, 1, 4096);
    ck_assert_uint_eq(sl_pool_size(p), base + 4096 + 112);
    ck_assert_int_eq(sl_pfree_block(p, a), SL_OK);
    ck_assert_uint_eq(sl_pool_size(p), base + 112);
    /* Not such a block (twice, pool memory): nothing done. */
    ck_assert_int_eq(sl_pfree_block(p, a), SL_EINVAL);
    ck_assert_int_eq(sl_pfree_block(p, small), SL_EINVAL);
    ck_assert_int_eq(sl_pfree_block(p, NULL), SL_OK);
    /* The current block still serves small requests after its own. */
    ck_assert_int_eq((char *)sl_palloc(p, 16) - small, 32);
    ck_assert_int_eq(sl_pfree_block(p, b), SL_OK);
    ck_assert_uint_eq(sl_pool_size(p), base);
    /* One left to the end: destroy frees it. */
    ck_assert_ptr_nonnull(sl_palloc_block(p, 2000));
    sl_pool_destroy(p);
}
END_TEST

START_TEST(cap_is_enforced)
{
    sl_pool *p = sl_pool_create(1024, 4096);

    ck_assert_ptr_null(sl_palloc(p, 8192));
    ck_assert_ptr_nonnull(sl_palloc(p, 100));
    sl_pool_destroy(p);
}
END_TEST

START_TEST(cleanups_run_newest_first_on_reset)
{
    sl_pool *p = sl_pool_create(0, 0);

    norder = 0;
    ck_assert_int_eq(sl_pool_cleanup_add(p, record, (void *)1), SL_OK);
    ck_assert_int_eq(sl_pool_cleanup_add(p, record, (void *)2), SL_OK);
    ck_assert_int_eq(sl_pool_cleanup_add(p, record, (void *)3), SL_OK);
    sl_pool_reset(p);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[0], 3);
    ck_assert_int_eq(order[1], 2);
    ck_assert_int_eq(order[2], 1);
    /* Reset forgot them: destroy runs nothing more. */
    sl_pool_destroy(p);
    ck_assert_int_eq(norder, 3);
}
END_TEST

START_TEST(reset_releases_extra_blocks)
{
    sl_pool *p = sl_pool_create(1024, 0);
    size_t base = sl_pool_size(p);

    for (int i = 0; i < 100; i++)
        sl_palloc(p, 200);
    ck_assert_uint_gt(sl_pool_size(p), base);
    sl_pool_reset(p);
    ck_assert_uint_eq(sl_pool_size(p), base);
    sl_pool_destroy(p);
}
END_TEST

START_TEST(strings)
{
    sl_pool *p = sl_pool_create(0, 0);

    ck_assert_str_eq(sl_pstrdup(p, "hello"), "hello");
    ck_assert_str_eq(sl_pstrndup(p, "hello", 3), "hel");
    ck_assert_str_eq(sl_psprintf(p, "%s-%d", "x", 42), "x-42");
    ck_assert_ptr_null(sl_pstrdup(p, NULL));
    sl_pool_destroy(p);
}
END_TEST

START_TEST(destroy_accepts_null)
{
    sl_pool_destroy(NULL);
    sl_pool_reset(NULL);
}
END_TEST

static Suite *
pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, alloc_is_aligned_and_usable);
    tcase_add_test(tc, large_alloc_gets_own_block);
    tcase_add_test(tc, what_fits_comes_from_current_block);
    tcase_add_test(tc, block_of_its_own_is_given_back);
    tcase_add_test(tc, cap_is_enforced);
    tcase_add_test(tc, cleanups_run_newest_first_on_reset);
    tcase_add_test(tc, reset_releases_extra_blocks);
    tcase_add_test(tc, strings);
    tcase_add_test(tc, destroy_accepts_null);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pool_suite)
