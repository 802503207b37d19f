/*
 * test_hashset.c: keyed-hash sets: the hash is SipHash-2-4 (the paper's
 * test vectors, through the cell framing), cells are framed so that
 * neither a split nor NULL against "" collides, each set has its own
 * key, and the set keeps every member across growth up to its bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "hashset.h"
#include "unit.h"

/* The key of the SipHash paper's vectors, bytes 00..0f, as two words. */
#define PAPER_K0 0x0706050403020100ULL
#define PAPER_K1 0x0f0e0d0c0b0a0908ULL

static struct run_hashset
paper_keyed(void)
{
    struct run_hashset s;

    memset(&s, 0, sizeof(s));
    s.k0 = PAPER_K0;
    s.k1 = PAPER_K1;
    return s;
}

START_TEST(the_hash_is_siphash_2_4)
{
    struct run_hashset s = paper_keyed();
    char *none[1] = {NULL}, *empty[1] = {""};
    char *split1[2] = {"ab", "c"}, *split2[2] = {"a", "bc"};
    char *three[3] = {"hello, world", NULL, "xxxxxxxxxxxxxxxxxxxx"};

    /* No cells is the empty message: the paper's first vector. */
    ck_assert_uint_eq(run_hashset_hash(&s, NULL, 0), 0x726fdb47dd0e0e31ULL);
    /* Each cell is a mark byte (0 NULL, 1 text), its length as four
     * little-endian bytes, then its bytes; the expected values are
     * SipHash-2-4 of those messages, computed apart. */
    ck_assert_uint_eq(run_hashset_hash(&s, none, 1), 0x229ca3d82fab0e4fULL);
    ck_assert_uint_eq(run_hashset_hash(&s, empty, 1), 0xfcd419ce37f94fd0ULL);
    ck_assert_uint_eq(run_hashset_hash(&s, split1, 2), 0x8e1ece309c915d5bULL);
    ck_assert_uint_eq(run_hashset_hash(&s, split2, 2), 0x3d1b7c51aee75879ULL);
    ck_assert_uint_eq(run_hashset_hash(&s, three, 3), 0xf853523ad0715440ULL);
}
END_TEST

START_TEST(cells_are_framed)
{
    struct run_hashset s;
    char *a[2] = {"ab", "c"}, *b[2] = {"a", "bc"}, *c[2] = {"abc", NULL};
    char *n1[1] = {NULL}, *e1[1] = {""}, *n2[2] = {NULL, NULL};
    char *e2[2] = {"", ""}, *same[2] = {"ab", "c"};

    ck_assert_int_eq(run_hashset_init(&s), 0);
    ck_assert_uint_ne(run_hashset_hash(&s, a, 2), run_hashset_hash(&s, b, 2));
    ck_assert_uint_ne(run_hashset_hash(&s, a, 2), run_hashset_hash(&s, c, 2));
    ck_assert_uint_ne(run_hashset_hash(&s, n1, 1), run_hashset_hash(&s, e1, 1));
    ck_assert_uint_ne(run_hashset_hash(&s, n2, 2), run_hashset_hash(&s, e2, 2));
    ck_assert_uint_ne(run_hashset_hash(&s, n1, 1), run_hashset_hash(&s, n2, 2));
    /* The same cells, anywhere, hash the same. */
    ck_assert_uint_eq(run_hashset_hash(&s, a, 2),
                      run_hashset_hash(&s, same, 2));
    /* 0 marks an empty slot: no hash is ever 0. */
    ck_assert_uint_ne(run_hashset_hash(&s, a, 2), 0);
    run_hashset_free(&s);
}
END_TEST

START_TEST(each_set_has_its_own_key)
{
    struct run_hashset s1, s2;
    char *row[2] = {"alice@example.com", "42"};

    ck_assert_int_eq(run_hashset_init(&s1), 0);
    ck_assert_int_eq(run_hashset_init(&s2), 0);
    ck_assert(s1.k0 != s2.k0 || s1.k1 != s2.k1);
    ck_assert_uint_ne(run_hashset_hash(&s1, row, 2),
                      run_hashset_hash(&s2, row, 2));
    ck_assert_ptr_null(s1.slots);
    ck_assert_uint_eq(s1.n, 0);
    run_hashset_free(&s1);
    run_hashset_free(&s2);
}
END_TEST

START_TEST(members_are_kept_across_growth)
{
    struct run_hashset s;
    enum { N = 50000 };
    char text[32], *cell[1] = {text};

    ck_assert_int_eq(run_hashset_init(&s), 0);
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "member-%d", i);
        ck_assert_int_eq(run_hashset_add(&s, run_hashset_hash(&s, cell, 1)), 1);
        /* The table stays at most half full. */
        ck_assert_uint_le(s.n * 2, s.cap);
    }
    ck_assert_uint_eq(s.n, N);
    /* The table doubles from 1024 slots: a power of two. */
    ck_assert_uint_eq(s.cap & (s.cap - 1), 0);
    ck_assert_uint_ge(s.cap, 1024);
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "member-%d", i);
        ck_assert_int_eq(run_hashset_add(&s, run_hashset_hash(&s, cell, 1)), 0);
    }
    ck_assert_uint_eq(s.n, N);
    run_hashset_free(&s);
    ck_assert_ptr_null(s.slots);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_uint_eq(s.cap, 0);
    /* A freed set takes members again. */
    ck_assert_int_eq(run_hashset_add(&s, 7), 1);
    run_hashset_free(&s);
}
END_TEST

START_TEST(hashes_that_share_slots)
{
    struct run_hashset s;

    memset(&s, 0, sizeof(s));
    /* Equal low bits: the same first slot, so probing must walk on,
     * including around the end of the table. */
    ck_assert_int_eq(run_hashset_add(&s, 1023), 1);
    ck_assert_int_eq(run_hashset_add(&s, 1023 + 1024), 1);
    ck_assert_int_eq(run_hashset_add(&s, 1023 + 2048), 1);
    ck_assert_int_eq(run_hashset_add(&s, 1023 + 1024), 0);
    ck_assert_int_eq(run_hashset_add(&s, 1023 + 2048), 0);
    ck_assert_int_eq(run_hashset_add(&s, 1023), 0);
    ck_assert_uint_eq(s.n, 3);
    run_hashset_free(&s);
}
END_TEST

START_TEST(the_bound_is_kept)
{
    struct run_hashset s;

    /* A set at its bound needing room: refused, not grown (a real one
     * would hold 1 GiB of table). */
    memset(&s, 0, sizeof(s));
    s.n = RUN_HASHSET_MAX;
    ck_assert_int_eq(run_hashset_add(&s, 42), SL_ETOOBIG);
    ck_assert_ptr_null(s.slots);
    ck_assert_uint_eq(s.n, RUN_HASHSET_MAX);
}
END_TEST

static Suite *
hashset_suite(void)
{
    Suite *s = suite_create("hashset");
    TCase *tc = tcase_create("hashset");

    tcase_add_test(tc, the_hash_is_siphash_2_4);
    tcase_add_test(tc, cells_are_framed);
    tcase_add_test(tc, each_set_has_its_own_key);
    tcase_add_test(tc, members_are_kept_across_growth);
    tcase_add_test(tc, hashes_that_share_slots);
    tcase_add_test(tc, the_bound_is_kept);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(hashset_suite)
