/*
 * test_permissions.c: the permissions a login shows against the routes
 * that are enforced: every route a role decides belongs to exactly one
 * permission, a permission's routes ask for one role, and a role holds a
 * permission exactly when it may call every route of it.
 */
#include "config.h"

#include <string.h>

#include "permissions.h"
#include "unit.h"

static bool
role_decides(const struct api_route *rt)
{
    return rt->auth == API_AUTH_USER || rt->auth == API_AUTH_TENANT;
}

static bool
listed(json_t *a, const char *perm)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v)
    {
        if (strcmp(json_string_value(v), perm) == 0)
            return true;
    }
    return false;
}

START_TEST(every_route_has_exactly_one_permission)
{
    for (size_t r = 0; r < api_nroutes; r++) {
        const struct api_route *rt = &api_routes[r];
        const char *first = NULL;
        int n = 0;

        for (size_t p = 0; p < api_npermissions(); p++)
            if (api_permission_covers(api_permission_name(p), rt)) {
                if (first == NULL)
                    first = api_permission_name(p);
                n++;
            }
        if (role_decides(rt))
            ck_assert_msg(n == 1, "%s %s: %d permissions (first %s)",
                          rt->method, rt->pattern, n, first ? first : "none");
        else
            ck_assert_msg(n == 0, "%s %s needs no role, but %s covers it",
                          rt->method, rt->pattern, first);
    }
}
END_TEST

START_TEST(a_permission_asks_one_role)
{
    for (size_t p = 0; p < api_npermissions(); p++) {
        const char *perm = api_permission_name(p);
        enum sl_role want = api_permission_role(perm);

        ck_assert_msg(want != SL_ROLE_NONE, "%s covers no route", perm);
        for (size_t r = 0; r < api_nroutes; r++)
            if (api_permission_covers(perm, &api_routes[r]))
                ck_assert_msg(api_routes[r].min_role == want,
                              "%s: %s %s asks for %s, others for %s", perm,
                              api_routes[r].method, api_routes[r].pattern,
                              sl_role_name(api_routes[r].min_role),
                              sl_role_name(want));
    }
    ck_assert_ptr_null(api_permission_name(api_npermissions()));
    ck_assert_int_eq(api_permission_role("no:such"), SL_ROLE_NONE);
}
END_TEST

START_TEST(a_role_holds_what_it_may_call)
{
    for (int role = SL_ROLE_NONE; role <= SL_ROLE_ADMIN; role++) {
        json_t *held = api_permissions((enum sl_role)role);

        ck_assert_ptr_nonnull(held);
        for (size_t p = 0; p < api_npermissions(); p++) {
            const char *perm = api_permission_name(p);
            bool may = role != SL_ROLE_NONE;

            for (size_t r = 0; r < api_nroutes; r++)
                if (api_permission_covers(perm, &api_routes[r]) &&
                    role < (int)api_routes[r].min_role)
                    may = false;
            ck_assert_msg(listed(held, perm) == may, "%s %s %s",
                          sl_role_name((enum sl_role)role),
                          may ? "may call, but lacks" : "holds, but may not",
                          perm);
        }
        json_decref(held);
    }
}
END_TEST

/* Seed 001's example, and the ladder being cumulative. */
START_TEST(seed_001_words)
{
    json_t *viewer = api_permissions(SL_ROLE_VIEWER);
    json_t *analyst = api_permissions(SL_ROLE_ANALYST);
    json_t *engineer = api_permissions(SL_ROLE_ENGINEER);
    json_t *admin = api_permissions(SL_ROLE_ADMIN);

    ck_assert(listed(viewer, "pipeline:read"));
    ck_assert(!listed(viewer, "pipeline:write"));
    ck_assert(!listed(viewer, "pipeline:execute"));
    ck_assert(listed(analyst, "pipeline:execute"));
    ck_assert(listed(engineer, "pipeline:read"));
    ck_assert(listed(engineer, "pipeline:write"));
    ck_assert(!listed(engineer, "user:write"));
    ck_assert(listed(admin, "user:write"));
    ck_assert_uint_lt(json_array_size(viewer), json_array_size(analyst));
    ck_assert_uint_lt(json_array_size(engineer), json_array_size(admin));
    ck_assert_uint_eq(json_array_size(admin), api_npermissions());
    json_decref(viewer);
    json_decref(analyst);
    json_decref(engineer);
    json_decref(admin);
}
END_TEST

static Suite *
permissions_suite(void)
{
    Suite *s = suite_create("permissions");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, every_route_has_exactly_one_permission);
    tcase_add_test(tc, a_permission_asks_one_role);
    tcase_add_test(tc, a_role_holds_what_it_may_call);
    tcase_add_test(tc, seed_001_words);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(permissions_suite)
