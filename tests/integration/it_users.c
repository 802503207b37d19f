/*
 * it_users.c: an organisation's admin manages its members; other roles
 * may not; other organisations see none of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "unit.h"

/* Creates a member with a password and role; returns the user's id. */
static char *
create_member(struct it_client *c, const char *admin_token, const char *name,
              const char *role)
{
    struct it_resp r;
    char email[128], *id;

    snprintf(email, sizeof(email), "%s@example.com", name);
    it_call(c, "POST", "/api/v1/users", admin_token,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "username", name, "email",
                      email, "password", IT_PASSWORD, "role", role, "full_name",
                      "Member"),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "username"), name);
    ck_assert_str_eq(it_str(&r, "role"), role);
    ck_assert(json_is_true(it_at(&r, "is_active")));
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

START_TEST(admin_creates_lists_reads_updates_deactivates)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, name[64], path[128], *member_token;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    snprintf(name, sizeof(name), "analyst_%s", it_unique());
    id = create_member(&c, token, name, "analyst");

    it_get(&c, "/api/v1/users", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 2);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 2);
    ck_assert_str_eq(it_header(&r, "X-Total-Count"), "2");
    it_resp_free(&r);

    snprintf(path, sizeof(path), "/api/v1/users/%s", id);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "username"), name);
    ck_assert_str_eq(it_str(&r, "role"), "analyst");
    ck_assert_ptr_nonnull(it_at(&r, "permissions"));
    it_resp_free(&r);

    /* The new member can log in; as an analyst they cannot manage users. */
    member_token = it_login(&c, name, IT_PASSWORD, NULL);
    it_get(&c, "/api/v1/users", member_token, &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    ck_assert_str_eq(it_str(&r, "error.details.required_role"), "admin");
    it_resp_free(&r);

    /* Promotion takes effect at once, on the same token. */
    it_call(&c, "PATCH", path, token, json_pack("{s:s}", "role", "developer"),
            &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "role"), "engineer");
    it_resp_free(&r);
    it_get(&c, "/api/v1/auth/me", member_token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "role"), "engineer");
    it_resp_free(&r);

    /* Deactivation: the member's token stops working. */
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_false(it_at(&r, "is_active")));
    it_resp_free(&r);
    it_get(&c, "/api/v1/auth/me", member_token, &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    /* And back. */
    it_call(&c, "PATCH", path, token, json_pack("{s:b}", "is_active", 1), &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_get(&c, "/api/v1/auth/me", member_token, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(member_token);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(bad_input_is_named)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, path[128];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_call(&c, "POST", "/api/v1/users", token,
            json_pack("{s:s, s:s, s:s, s:s}", "username", "x_y_z", "email",
                      "x@example.com", "password", "Abcdefg1", "role",
                      "overlord"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "role");
    it_resp_free(&r);

    it_call(&c, "PATCH", "/api/v1/users/not-a-uuid", token,
            json_pack("{s:s}", "role", "viewer"), &r);
    it_assert_error(&r, 404, "USER_NOT_FOUND");
    it_resp_free(&r);

    snprintf(path, sizeof(path), "/api/v1/users/%s",
             "01900000-0000-7000-8000-000000000000");
    it_call(&c, "PATCH", path, token, json_pack("{s:s}", "is_active", "no"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "is_active");
    it_resp_free(&r);
    it_call(&c, "PATCH", path, token, json_pack("{s:s}", "role", "viewer"), &r);
    it_assert_error(&r, 404, "USER_NOT_FOUND");
    it_resp_free(&r);

    /* A username the database would refuse is refused first, by name. */
    it_call(&c, "POST", "/api/v1/users", token,
            json_pack("{s:s, s:s, s:s}", "username", "bad!name", "email",
                      "bad@example.com", "password", IT_PASSWORD),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "username");
    it_resp_free(&r);

    /* A username that exists elsewhere, with a password: conflict. */
    it_call(&c, "POST", "/api/v1/users", token,
            json_pack("{s:s, s:s, s:s}", "username", admin, "email",
                      "fresh@example.com", "password", IT_PASSWORD),
            &r);
    it_assert_error(&r, 409, "DUPLICATE_RESOURCE");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "username");
    it_resp_free(&r);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(last_admin_is_kept)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, path[128], *id, name[64];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_get(&c, "/api/v1/auth/me", token, &r);
    snprintf(path, sizeof(path), "/api/v1/users/%s", it_str(&r, "id"));
    it_resp_free(&r);

    it_call(&c, "PATCH", path, token, json_pack("{s:s}", "role", "viewer"), &r);
    it_assert_error(&r, 409, "CONFLICT");
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_error(&r, 409, "CONFLICT");
    it_resp_free(&r);

    /* With a second admin, the first may step down. */
    snprintf(name, sizeof(name), "second_%s", it_unique());
    id = create_member(&c, token, name, "admin");
    it_call(&c, "PATCH", path, token, json_pack("{s:s}", "role", "viewer"), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "role"), "viewer");
    it_resp_free(&r);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(pagination_styles)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, name[64];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "page_%s", it_unique());
        free(create_member(&c, token, name, "viewer"));
    }
    /* skip/limit (seed 000) */
    it_get(&c, "/api/v1/users?skip=1&limit=2", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 5);
    ck_assert_int_eq(it_int(&r, "skip"), 1);
    ck_assert_int_eq(it_int(&r, "limit"), 2);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 2);
    it_resp_free(&r);
    /* offset/limit (seeds 001, 002) */
    it_get(&c, "/api/v1/users?offset=4&limit=2", token, &r);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 1);
    ck_assert_int_eq(it_int(&r, "offset"), 4);
    it_resp_free(&r);
    /* page/page_size (seed 004), with its headers */
    it_get(&c, "/api/v1/users?page=2&page_size=2", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "page"), 2);
    ck_assert_int_eq(it_int(&r, "page_size"), 2);
    ck_assert_int_eq(it_int(&r, "total_pages"), 3);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 2);
    ck_assert_str_eq(it_header(&r, "X-Total-Count"), "5");
    ck_assert_str_eq(it_header(&r, "X-Page"), "2");
    ck_assert_str_eq(it_header(&r, "X-Page-Size"), "2");
    ck_assert_str_eq(it_header(&r, "X-Total-Pages"), "3");
    it_resp_free(&r);
    /* Past the end: an empty page that still knows the total. */
    it_get(&c, "/api/v1/users?skip=50", token, &r);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 0);
    ck_assert_int_eq(it_int(&r, "total"), 5);
    it_resp_free(&r);
    /* Out of bounds. */
    it_get(&c, "/api/v1/users?limit=1001", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "limit");
    it_resp_free(&r);
    it_get(&c, "/api/v1/users?page=0", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    it_get(&c, "/api/v1/users?skip=-1", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(organizations_do_not_see_each_other)
{
    struct it_client c;
    struct it_resp r;
    char *admin_a, *org_a, *token_a, *admin_b, *org_b, *token_b, *id_b;
    char name[64], path[128];

    it_client_init(&c);
    token_a = it_new_org(&c, &admin_a, &org_a);
    token_b = it_new_org(&c, &admin_b, &org_b);
    snprintf(name, sizeof(name), "secret_%s", it_unique());
    id_b = create_member(&c, token_b, name, "engineer");

    /* A's list holds only A's admin. */
    it_get(&c, "/api/v1/users", token_a, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.username"), admin_a);
    it_resp_free(&r);
    /* B's member, by id, does not exist for A: read, change or delete. */
    snprintf(path, sizeof(path), "/api/v1/users/%s", id_b);
    it_get(&c, path, token_a, &r);
    it_assert_error(&r, 404, "USER_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "PATCH", path, token_a, json_pack("{s:s}", "role", "admin"),
            &r);
    it_assert_error(&r, 404, "USER_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token_a, NULL, &r);
    it_assert_error(&r, 404, "USER_NOT_FOUND");
    it_resp_free(&r);
    /* Still intact in B. */
    it_get(&c, path, token_b, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "role"), "engineer");
    ck_assert(json_is_true(it_at(&r, "is_active")));
    it_resp_free(&r);
    free(id_b);
    free(token_a);
    free(token_b);
    free(admin_a);
    free(admin_b);
    free(org_a);
    free(org_b);
}
END_TEST

START_TEST(invitations_reveal_nothing_and_cannot_be_forced)
{
    struct it_client c;
    struct it_resp r, ghost;
    char *admin_a, *org_a, *ta, *admin_b, *org_b, *tb, path[128];
    const char *id_b;

    it_client_init(&c);
    ta = it_new_org(&c, &admin_a, &org_a);
    tb = it_new_org(&c, &admin_b, &org_b);
    it_get(&c, "/api/v1/auth/me", tb, &r);
    snprintf(path, sizeof(path), "/api/v1/users/%s", it_str(&r, "id"));
    it_resp_free(&r);

    /* A real account and a made-up one get the same answer. */
    it_call(&c, "POST", "/api/v1/users", ta,
            json_pack("{s:s, s:s}", "email",
                      "no-such-person-anywhere@example.com", "role", "admin"),
            &ghost);
    it_call(&c, "POST", "/api/v1/users", ta,
            json_pack("{s:s, s:s}", "username", admin_b, "role", "admin"), &r);
    it_assert_status(&r, 202);
    it_assert_status(&ghost, 202);
    ck_assert_str_eq(it_str(&r, "message"), it_str(&ghost, "message"));
    ck_assert_ptr_null(it_at(&r, "id"));
    it_resp_free(&r);
    it_resp_free(&ghost);

    /* A still sees only itself, cannot read B's admin, and cannot turn the
     * invitation into a membership by itself. */
    it_get(&c, "/api/v1/users", ta, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    it_resp_free(&r);
    (void)id_b;
    it_get(&c, path, ta, &r);
    it_assert_error(&r, 404, "USER_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "PATCH", path, ta, json_pack("{s:b}", "is_active", 1), &r);
    it_assert_error(&r, 404, "USER_NOT_FOUND");
    it_resp_free(&r);
    it_call(
        &c, "POST", "/api/v1/auth/login", NULL,
        json_pack("{s:s, s:s}", "username", admin_b, "password", IT_PASSWORD),
        &r);
    /* B's admin still logs in to B by default. */
    ck_assert_str_eq(it_str(&r, "organization_id"), org_b);
    ck_assert_str_eq(it_str(&r, "invitations.0.id"), org_a);
    it_resp_free(&r);
    free(ta);
    free(tb);
    free(admin_a);
    free(admin_b);
    free(org_a);
    free(org_b);
}
END_TEST

/* The id of the user whose access token this is (malloc'd). */
static char *
my_id(struct it_client *c, const char *token)
{
    struct it_resp r;
    char *id;

    it_get(c, "/api/v1/auth/me", token, &r);
    it_assert_status(&r, 200);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* Runs sql (two parameters) as the owner; asserts it gave a row. */
static void
owner_rows(const char *sql, const char *p1, const char *p2)
{
    char err[256] = "";
    char *v =
        it_sql("SLUICE_TEST_OWNER_DB_URL", sql, p1, p2, NULL, err, sizeof(err));

    ck_assert_msg(v != NULL && *v != '\0', "%s: %s", sql, err);
    free(v);
}

START_TEST(others_invitations_neither_fill_nor_hide_one)
{
    struct it_client c;
    struct it_resp r;
    char *admin_a, *org_a, *ta, *admin_b, *org_b, *tb, *id_b;
    bool seen = false;
    size_t i;
    json_t *inv;

    it_client_init(&c);
    ta = it_new_org(&c, &admin_a, &org_a);
    tb = it_new_org(&c, &admin_b, &org_b);
    id_b = my_id(&c, tb);
    /* Fifty organisations (anyone may make some) have invited B. */
    owner_rows("WITH t AS (INSERT INTO tenants (id, name) "
               "SELECT 'spam_' || $2 || '_' || g, 'Spam' "
               "FROM generate_series(1, 50) g RETURNING id) "
               "INSERT INTO memberships (tenant_id, user_id, role, "
               "is_active, accepted_at) SELECT t.id, $1::uuid, 'admin', "
               "false, NULL FROM t RETURNING 1",
               id_b, org_b);

    /* A's invitation is made all the same, and B sees it and can take it. */
    it_call(&c, "POST", "/api/v1/users", ta,
            json_pack("{s:s, s:s}", "username", admin_b, "role", "engineer"),
            &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    it_call(
        &c, "POST", "/api/v1/auth/login", NULL,
        json_pack("{s:s, s:s}", "username", admin_b, "password", IT_PASSWORD),
        &r);
    it_assert_status(&r, 200);
    json_array_foreach(it_at(&r, "invitations"), i, inv)
    {
        seen |=
            strcmp(json_string_value(json_object_get(inv, "id")), org_a) == 0;
    }
    ck_assert_msg(seen, "%s's invitation is not among %zu: %.300s", org_a,
                  json_array_size(it_at(&r, "invitations")), r.body);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/auth/login", NULL,
            json_pack("{s:s, s:s, s:s}", "username", admin_b, "password",
                      IT_PASSWORD, "organization_id", org_a),
            &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "role"), "engineer");
    it_resp_free(&r);
    free(ta);
    free(tb);
    free(id_b);
    free(admin_a);
    free(admin_b);
    free(org_a);
    free(org_b);
}
END_TEST

/*
 * An organisation asks for at most 100 invitations a day, every request
 * counting whether or not it names an account: the limit tells nothing
 * of who exists. It is that organisation's limit alone.
 */
START_TEST(an_organisation_has_a_limit_of_invitations)
{
    struct it_client c;
    struct it_resp r;
    char *admin_a, *org_a, *ta, *admin_b, *org_b, *tb, *admin_c, *org_c, *tok_c;

    it_client_init(&c);
    ta = it_new_org(&c, &admin_a, &org_a);
    tb = it_new_org(&c, &admin_b, &org_b);
    tok_c = it_new_org(&c, &admin_c, &org_c);
    /* A has asked for 99 invitations today. */
    owner_rows("INSERT INTO invitation_requests (tenant_id) "
               "SELECT $1 FROM generate_series(1, 99) RETURNING tenant_id",
               org_a, NULL);
    /* The hundredth names nobody: it still counts. */
    it_call(&c, "POST", "/api/v1/users", ta,
            json_pack("{s:s, s:s}", "username", "no_such_account_zz", "role",
                      "viewer"),
            &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    /* So inviting a real account now is refused, as any name would be. */
    it_call(&c, "POST", "/api/v1/users", ta,
            json_pack("{s:s, s:s}", "username", admin_b, "role", "viewer"), &r);
    it_assert_error(&r, 429, "QUOTA_EXCEEDED");
    ck_assert_str_eq(it_str(&r, "error.details.quota_type"),
                     "daily_invitations");
    ck_assert_int_eq(it_int(&r, "error.details.limit"), 100);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/users", ta,
            json_pack("{s:s, s:s}", "username", "no_such_account_zz2", "role",
                      "viewer"),
            &r);
    it_assert_error(&r, 429, "QUOTA_EXCEEDED");
    it_resp_free(&r);
    /* That is A's limit alone: C still invites B. */
    it_call(&c, "POST", "/api/v1/users", tok_c,
            json_pack("{s:s, s:s}", "username", admin_b, "role", "viewer"), &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    free(ta);
    free(tb);
    free(tok_c);
    free(admin_a);
    free(admin_b);
    free(admin_c);
    free(org_a);
    free(org_b);
    free(org_c);
}
END_TEST

START_TEST(a_change_by_upper_case_id_still_takes_effect_at_once)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, *member_token, name[64], path[128];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    snprintf(name, sizeof(name), "upper_%s", it_unique());
    id = create_member(&c, token, name, "engineer");
    member_token = it_login(&c, name, IT_PASSWORD, NULL);
    for (int i = 0; i < 3; i++) {
        it_get(&c, "/api/v1/auth/me", member_token, &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
    }
    for (char *p = id; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    snprintf(path, sizeof(path), "/api/v1/users/%s", id);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_get(&c, "/api/v1/auth/me", member_token, &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    free(member_token);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

static Suite *
users_suite(void)
{
    Suite *s = suite_create("it_users");
    TCase *tc = tcase_create("users");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, admin_creates_lists_reads_updates_deactivates);
    tcase_add_test(tc, bad_input_is_named);
    tcase_add_test(tc, last_admin_is_kept);
    tcase_add_test(tc, pagination_styles);
    tcase_add_test(tc, organizations_do_not_see_each_other);
    tcase_add_test(tc, invitations_reveal_nothing_and_cannot_be_forced);
    tcase_add_test(tc, others_invitations_neither_fill_nor_hide_one);
    tcase_add_test(tc, an_organisation_has_a_limit_of_invitations);
    tcase_add_test(tc, a_change_by_upper_case_id_still_takes_effect_at_once);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(users_suite)
