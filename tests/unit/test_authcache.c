/*
 * test_authcache.c: the shared cache of token checks: hits, misses, epoch
 * invalidation, expiry, and sharing across fork().
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authcache.h"
#include "unit.h"

static void
entry(struct api_auth_entry *e, const char *jti, const char *org)
{
    memset(e, 0, sizeof(*e));
    strcpy(e->jti, jti);
    strcpy(e->org, org);
    strcpy(e->sid, "0190a6c5-3b1e-7c3a-9f00-00000000000a");
    strcpy(e->sub, "0190a6c5-3b1e-7c3a-9f00-00000000000b");
    strcpy(e->username, "alice");
    e->role = SL_ROLE_ENGINEER;
}

static const char jti[] = "0190a6c5-3b1e-7c3a-9f00-000000000001";

START_TEST(hit_after_put)
{
    struct api_authcache *c = api_authcache_create(60000);
    struct api_auth_entry e, out;
    struct api_auth_epochs ep;

    ck_assert_ptr_nonnull(c);
    entry(&e, jti, "acme");
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_epochs(c, e.sub, "acme", &ep);
    api_authcache_put(c, &e, &ep);
    ck_assert(api_authcache_get(c, jti, "acme", false, &out));
    ck_assert_str_eq(out.username, "alice");
    ck_assert_int_eq(out.role, SL_ROLE_ENGINEER);
    /* Another organisation, another token, or organisations wanted and not
     * stored: misses. */
    ck_assert(!api_authcache_get(c, jti, "other", false, &out));
    ck_assert(!api_authcache_get(c, "0190a6c5-3b1e-7c3a-9f00-000000000002",
                                 "acme", false, &out));
    ck_assert(!api_authcache_get(c, jti, "acme", true, &out));
    api_authcache_destroy(c);
}
END_TEST

START_TEST(bump_invalidates_user_and_tenant)
{
    struct api_authcache *c = api_authcache_create(60000);
    struct api_auth_entry e, out;
    struct api_auth_epochs ep;

    entry(&e, jti, "acme");
    api_authcache_epochs(c, e.sub, "acme", &ep);
    api_authcache_put(c, &e, &ep);
    api_authcache_bump(c, "0190a6c5-3b1e-7c3a-9f00-0000000000ff", NULL);
    ck_assert(api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_bump(c, e.sub, NULL);
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));

    api_authcache_epochs(c, e.sub, "acme", &ep);
    api_authcache_put(c, &e, &ep);
    ck_assert(api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_bump(c, NULL, "acme");
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_destroy(c);
}
END_TEST

START_TEST(stale_epochs_are_never_served)
{
    struct api_authcache *c = api_authcache_create(60000);
    struct api_auth_entry e, out;
    struct api_auth_epochs ep;

    /* Epochs read, then a change lands, then the (stale) answer is
     * stored: it must not be served. */
    entry(&e, jti, "acme");
    api_authcache_epochs(c, e.sub, "acme", &ep);
    api_authcache_bump(c, e.sub, NULL);
    api_authcache_put(c, &e, &ep);
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_destroy(c);
}
END_TEST

START_TEST(entries_expire)
{
    struct api_authcache *c = api_authcache_create(1);
    struct api_auth_entry e, out;
    struct api_auth_epochs ep;

    entry(&e, jti, "acme");
    api_authcache_epochs(c, e.sub, "acme", &ep);
    api_authcache_put(c, &e, &ep);
    usleep(5000); /* the TTL is 1 ms: time itself is what is tested */
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_destroy(c);
}
END_TEST

START_TEST(disabled_with_zero_ttl)
{
    struct api_authcache *c = api_authcache_create(0);
    struct api_auth_entry e, out;
    struct api_auth_epochs ep;

    entry(&e, jti, "acme");
    api_authcache_epochs(c, e.sub, "acme", &ep);
    api_authcache_put(c, &e, &ep);
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_destroy(c);
    /* And a NULL cache is a cache that never hits. */
    ck_assert(!api_authcache_get(NULL, jti, "acme", false, &out));
    api_authcache_bump(NULL, "x", "y");
    api_authcache_epochs(NULL, e.sub, "acme", &ep);
    ck_assert_uint_eq(ep.user, 0);
    api_authcache_put(NULL, &e, &ep);
    api_authcache_set_ttl(NULL, 5);
}
END_TEST

START_TEST(shared_across_fork)
{
    struct api_authcache *c = api_authcache_create(60000);
    struct api_auth_entry e, out;
    struct api_auth_epochs ep;
    int status;
    pid_t pid;

    entry(&e, jti, "acme");
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        api_authcache_epochs(c, e.sub, "acme", &ep);
        api_authcache_put(c, &e, &ep);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    /* What the child stored, the parent reads. */
    ck_assert(api_authcache_get(c, jti, "acme", false, &out));
    pid = fork();
    if (pid == 0) {
        api_authcache_bump(c, e.sub, NULL);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    /* And a bump in the child reaches the parent at once. */
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_destroy(c);
}
END_TEST

START_TEST(ttl_can_change)
{
    struct api_authcache *c = api_authcache_create(0);
    struct api_auth_entry e, out;
    struct api_auth_epochs ep;

    entry(&e, jti, "acme");
    api_authcache_set_ttl(c, 60000);
    api_authcache_epochs(c, e.sub, "acme", &ep);
    api_authcache_put(c, &e, &ep);
    ck_assert(api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_set_ttl(c, 0);
    ck_assert(!api_authcache_get(c, jti, "acme", false, &out));
    api_authcache_destroy(c);
}
END_TEST

static Suite *
authcache_suite(void)
{
    Suite *s = suite_create("authcache");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, hit_after_put);
    tcase_add_test(tc, bump_invalidates_user_and_tenant);
    tcase_add_test(tc, stale_epochs_are_never_served);
    tcase_add_test(tc, entries_expire);
    tcase_add_test(tc, disabled_with_zero_ttl);
    tcase_add_test(tc, shared_across_fork);
    tcase_add_test(tc, ttl_can_change);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(authcache_suite)
