/*
 * it_tenants.c: the operator (X-Admin-Key) makes tenants and keys; a tenant
 * onboards itself; an API key authenticates as its tenant until revoked or
 * expired, and never as another tenant.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

/* A fresh, valid tenant id. */
static const char *
tenant_id(void)
{
    static char id[64];

    snprintf(id, sizeof(id), "tn_%s", it_unique());
    return id;
}

static void
admin_call(struct it_client *c, const char *method, const char *path,
           json_t *body, struct it_resp *r)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    it_request(c, method, path, it_admin_header(),
               text ? "application/json" : NULL, text, text ? strlen(text) : 0,
               r);
    free(text);
    json_decref(body);
}

/* Issues a key for tenant; returns it (malloc'd), its hash in hash. */
static char *
issue_key(struct it_client *c, const char *tenant, char *hash, size_t hsz)
{
    struct it_resp r;
    char *key;

    admin_call(
        c, "POST", "/api/v1/admin/api-keys",
        json_pack("{s:s, s:s}", "tenant_id", tenant, "description", "test key"),
        &r);
    it_assert_status(&r, 200);
    key = strdup(it_str(&r, "api_key"));
    snprintf(hash, hsz, "%s", it_str(&r, "tenant_api_key_hash"));
    it_resp_free(&r);
    return key;
}

static void
key_get(struct it_client *c, const char *key, const char *path,
        const char *extra, struct it_resp *r)
{
    char h[512];

    snprintf(h, sizeof(h), "X-API-Key: %s\r\n%s", key, extra ? extra : "");
    it_request(c, "GET", path, h, NULL, NULL, 0, r);
}

START_TEST(admin_key_is_required_and_checked)
{
    struct it_client c;
    struct it_resp r;
    const char *body = "{\"tenant_id\":\"nobody_here\"}";

    it_client_init(&c);
    it_request(&c, "POST", "/api/v1/admin/tenants", NULL, "application/json",
               body, strlen(body), &r);
    it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
    it_resp_free(&r);
    it_request(&c, "POST", "/api/v1/admin/tenants",
               "X-Admin-Key: admin_wrong_wrong_wrong\r\n", "application/json",
               body, strlen(body), &r);
    it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
    it_resp_free(&r);
    /* A user's token is not an admin key either. */
    {
        char *u, *o, *t = it_new_org(&c, &u, &o);

        it_call(&c, "POST", "/api/v1/admin/tenants", t,
                json_pack("{s:s}", "tenant_id", "nobody_here"), &r);
        it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
        it_resp_free(&r);
        free(t);
        free(u);
        free(o);
    }
}
END_TEST

START_TEST(bootstrap_is_idempotent)
{
    struct it_client c;
    struct it_resp r;

    it_client_init(&c);
    admin_call(&c, "POST", "/api/v1/admin/bootstrap", json_object(), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "SUCCESS");
    ck_assert(json_array_size(it_at(&r, "tables")) >= 8);
    ck_assert_int_ge(it_int(&r, "migrations_applied"), 1);
    it_resp_free(&r);
    admin_call(&c, "POST", "/api/v1/admin/bootstrap", NULL, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_false(it_at(&r, "dataset_created")));
    it_resp_free(&r);
    admin_call(&c, "POST", "/api/v1/admin/bootstrap",
               json_pack("{s:b}", "force_recreate_tables", 1), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
}
END_TEST

START_TEST(tenants_are_created_once_and_read)
{
    struct it_client c;
    struct it_resp r;
    char path[128], id[64];

    it_client_init(&c);
    snprintf(id, sizeof(id), "%s", tenant_id());
    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s, s:s, s:s}", "tenant_id", id, "description",
                         "Acme Corporation", "subscription_plan", "scale"),
               &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "tenant_id"), id);
    ck_assert(json_is_true(it_at(&r, "is_active")));
    ck_assert_str_eq(it_str(&r, "message"), "Tenant created successfully");
    it_resp_free(&r);

    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s}", "tenant_id", id), &r);
    it_assert_error(&r, 409, "DUPLICATE_RESOURCE");
    it_resp_free(&r);

    snprintf(path, sizeof(path), "/api/v1/admin/tenants/%s", id);
    admin_call(&c, "GET", path, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "tenant_id"), id);
    ck_assert_str_eq(it_str(&r, "description"), "Acme Corporation");
    ck_assert_str_eq(it_str(&r, "datasets.0"), id);
    ck_assert_str_eq(it_str(&r, "subscription.plan"), "SCALE");
    ck_assert_int_eq(it_int(&r, "subscription.quotas.daily_pipelines"), 100);
    ck_assert_int_eq(it_int(&r, "subscription.quotas.monthly_pipelines"), 3000);
    ck_assert_int_eq(it_int(&r, "subscription.quotas.concurrent_runs"), 10);
    ck_assert_uint_eq(json_array_size(it_at(&r, "api_keys")), 0);
    it_resp_free(&r);

    admin_call(&c, "GET", "/api/v1/admin/tenants/no_such_tenant", NULL, &r);
    it_assert_error(&r, 404, "TENANT_NOT_FOUND");
    it_resp_free(&r);

    /* Seed 003's id rule, with the seed's message. */
    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s}", "tenant_id", "Bad-Id!"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "tenant_id");
    ck_assert_ptr_nonnull(
        strstr(it_str(&r, "error.details.reason"), "^[a-z0-9_]{3,50}$"));
    it_resp_free(&r);
    /* The default organisation and the platform's names are not for
     * taking, through any door. */
    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s}", "tenant_id", "default"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.reason"), "is reserved");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/tenants/onboard", NULL,
            json_pack("{s:s, s:s}", "tenant_id", "sluice", "admin_email",
                      "a@example.com"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    {
        char name[64];

        snprintf(name, sizeof(name), "squatter_%s", it_unique());
        it_register(&c, name, IT_PASSWORD, "Default", &r);
        it_assert_status(&r, 201);
        ck_assert_str_ne(it_str(&r, "organization_id"), "default");
        it_resp_free(&r);
    }
    /* An empty description does not make an empty name. */
    {
        char id2[64];

        snprintf(id2, sizeof(id2), "%s", tenant_id());
        admin_call(&c, "POST", "/api/v1/admin/tenants",
                   json_pack("{s:s, s:s}", "tenant_id", id2, "description", ""),
                   &r);
        it_assert_status(&r, 200);
        ck_assert_str_eq(it_str(&r, "name"), id2);
        it_resp_free(&r);
    }
    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s, s:s}", "tenant_id", "plan_bad",
                         "subscription_plan", "GOLD"),
               &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "subscription_plan");
    it_resp_free(&r);
}
END_TEST

START_TEST(api_key_lifecycle)
{
    struct it_client c;
    struct it_resp r;
    char id[64], hash[80], path[160], *key, *stored;

    it_client_init(&c);
    snprintf(id, sizeof(id), "%s", tenant_id());
    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s}", "tenant_id", id), &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    key = issue_key(&c, id, hash, sizeof(hash));
    /* sk_<tenant>_<32 alphanumerics> */
    ck_assert_int_eq(strncmp(key, "sk_", 3), 0);
    ck_assert_int_eq(strncmp(key + 3, id, strlen(id)), 0);
    ck_assert_uint_eq(strlen(key), 3 + strlen(id) + 1 + 32);
    ck_assert_uint_eq(strlen(hash), 64);

    /* Stored as its SHA-256, never in clear. */
    stored = it_sql("SLUICE_TEST_OWNER_DB_URL",
                    "SELECT count(*) FROM api_keys WHERE key_hash = $1 "
                    "AND key_hash = encode(sha256($2::bytea), 'hex')",
                    hash, key, NULL, NULL, 0);
    ck_assert_str_eq(stored, "1");
    free(stored);

    /* The key authenticates as its tenant (an admin role by default). */
    key_get(&c, key, "/api/v1/users", NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/admin/tenants/%s", id);
    admin_call(&c, "GET", path, NULL, &r);
    ck_assert_uint_eq(json_array_size(it_at(&r, "api_keys")), 1);
    ck_assert_ptr_nonnull(it_str(&r, "api_keys.0.last_used_at"));
    ck_assert(json_is_true(it_at(&r, "api_keys.0.is_active")));
    /* The key itself is never shown again. */
    ck_assert_ptr_null(strstr(r.body, key));
    it_resp_free(&r);

    /* Not as another tenant. */
    key_get(&c, key, "/api/v1/users", "X-Organization-ID: another_org\r\n", &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    /* A key bearing another tenant's name but not its secret. */
    {
        char forged[128];

        snprintf(forged, sizeof(forged), "sk_%s_%s", "default",
                 key + strlen(key) - 32);
        key_get(&c, forged, "/api/v1/users", NULL, &r);
        it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
        it_resp_free(&r);
    }
    /* /auth/me is a user's: a key is told so. */
    key_get(&c, key, "/api/v1/auth/me", NULL, &r);
    it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
    it_resp_free(&r);

    /* Expired keys are refused. */
    free(it_sql("SLUICE_TEST_OWNER_DB_URL",
                "UPDATE api_keys SET expires_at = now() - interval '1 minute' "
                "WHERE key_hash = $1",
                hash, NULL, NULL, NULL, 0));
    key_get(&c, key, "/api/v1/users", NULL, &r);
    it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "error.message"), "expired"));
    it_resp_free(&r);
    free(it_sql("SLUICE_TEST_OWNER_DB_URL",
                "UPDATE api_keys SET expires_at = NULL WHERE key_hash = $1",
                hash, NULL, NULL, NULL, 0));

    /* Revocation by hash; then the key is refused; revoking is idempotent. */
    snprintf(path, sizeof(path), "/api/v1/admin/api-keys/%s", hash);
    admin_call(&c, "DELETE", path, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_false(it_at(&r, "is_active")));
    ck_assert_str_eq(it_str(&r, "tenant_id"), id);
    ck_assert_ptr_nonnull(it_str(&r, "revoked_at"));
    it_resp_free(&r);
    key_get(&c, key, "/api/v1/users", NULL, &r);
    it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "error.message"), "revoked"));
    it_resp_free(&r);
    admin_call(&c, "DELETE", path, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    admin_call(
        &c, "DELETE",
        "/api/v1/admin/api-keys/"
        "0000000000000000000000000000000000000000000000000000000000000000",
        NULL, &r);
    it_assert_error(&r, 404, "API_KEY_NOT_FOUND");
    it_resp_free(&r);

    /* Keys for missing tenants, or expiring in the past, are refused. */
    admin_call(&c, "POST", "/api/v1/admin/api-keys",
               json_pack("{s:s}", "tenant_id", "no_such_tenant"), &r);
    it_assert_error(&r, 404, "TENANT_NOT_FOUND");
    it_resp_free(&r);
    admin_call(&c, "POST", "/api/v1/admin/api-keys",
               json_pack("{s:s, s:s}", "tenant_id", id, "expires_at",
                         "2001-01-01T00:00:00Z"),
               &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "expires_at");
    it_resp_free(&r);
    free(key);
}
END_TEST

START_TEST(onboarding_and_dry_run)
{
    struct it_client c;
    struct it_resp r;
    char id[64], path[128];
    json_t *req;

    it_client_init(&c);
    snprintf(id, sizeof(id), "%s", tenant_id());
    req = json_pack("{s:s, s:s, s:s, s:s}", "tenant_id", id, "company_name",
                    "Acme Corporation", "admin_email", "admin@acme.example",
                    "subscription_plan", "PROFESSIONAL");

    it_call(&c, "POST", "/api/v1/tenants/dryrun", NULL, json_incref(req), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "SUCCESS");
    ck_assert(json_is_true(it_at(&r, "ready_for_onboarding")));
    ck_assert_int_eq(it_int(&r, "validation_summary.failed"), 0);
    it_resp_free(&r);

    it_call(&c, "POST", "/api/v1/tenants/onboard", NULL, json_incref(req), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "tenant_id"), id);
    ck_assert_str_eq(it_str(&r, "subscription_plan"), "PROFESSIONAL");
    ck_assert_int_eq(strncmp(it_str(&r, "api_key"), "sk_", 3), 0);
    {
        char *key = strdup(it_str(&r, "api_key"));
        struct it_resp u;

        key_get(&c, key, "/api/v1/users", NULL, &u);
        it_assert_status(&u, 200);
        it_resp_free(&u);
        free(key);
    }
    it_resp_free(&r);

    /* Quotas of the plan are stored with the tenant. */
    snprintf(path, sizeof(path), "/api/v1/admin/tenants/%s", id);
    admin_call(&c, "GET", path, NULL, &r);
    ck_assert_int_eq(it_int(&r, "subscription.quotas.daily_pipelines"), 25);
    ck_assert_int_eq(it_int(&r, "subscription.quotas.monthly_pipelines"), 750);
    ck_assert_int_eq(it_int(&r, "subscription.quotas.concurrent_runs"), 3);
    ck_assert_str_eq(it_str(&r, "admin_email"), "admin@acme.example");
    it_resp_free(&r);

    /* Now the dry run sees the id taken; onboarding again conflicts. */
    it_call(&c, "POST", "/api/v1/tenants/dryrun", NULL, json_incref(req), &r);
    ck_assert_str_eq(it_str(&r, "status"), "FAILED");
    ck_assert_str_eq(it_str(&r, "validation_results.1.check_name"),
                     "tenant_id_uniqueness");
    ck_assert_str_eq(it_str(&r, "validation_results.1.status"), "FAILED");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/tenants/onboard", NULL, req, &r);
    it_assert_error(&r, 409, "DUPLICATE_RESOURCE");
    it_resp_free(&r);

    /* A bad request: the dry run lists each failure; onboarding refuses. */
    it_call(&c, "POST", "/api/v1/tenants/dryrun", NULL,
            json_pack("{s:s, s:s}", "tenant_id", "X", "admin_email", "nope"),
            &r);
    ck_assert_str_eq(it_str(&r, "status"), "FAILED");
    ck_assert_int_ge(it_int(&r, "validation_summary.failed"), 3);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/tenants/onboard", NULL,
            json_pack("{s:s, s:s}", "tenant_id", "ok_id_here", "admin_email",
                      "nope"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "admin_email");
    it_resp_free(&r);
}
END_TEST

START_TEST(keys_of_one_tenant_are_invisible_to_another)
{
    struct it_client c;
    struct it_resp r;
    char a[64], b[64], hash_a[80], hash_b[80], path[128], *key_a, *key_b;

    it_client_init(&c);
    snprintf(a, sizeof(a), "%s", tenant_id());
    snprintf(b, sizeof(b), "%s", tenant_id());
    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s}", "tenant_id", a), &r);
    it_resp_free(&r);
    admin_call(&c, "POST", "/api/v1/admin/tenants",
               json_pack("{s:s}", "tenant_id", b), &r);
    it_resp_free(&r);
    key_a = issue_key(&c, a, hash_a, sizeof(hash_a));
    key_b = issue_key(&c, b, hash_b, sizeof(hash_b));

    snprintf(path, sizeof(path), "/api/v1/admin/tenants/%s", a);
    admin_call(&c, "GET", path, NULL, &r);
    ck_assert_uint_eq(json_array_size(it_at(&r, "api_keys")), 1);
    ck_assert_ptr_null(strstr(r.body, hash_b));
    it_resp_free(&r);
    free(key_a);
    free(key_b);
}
END_TEST

/* An onboarding request (seed 003's) for a fresh tenant on plan. */
static json_t *
onboard_body(const char *plan)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "tenant_id", tenant_id(),
                     "company_name", "Acme Corporation", "admin_email",
                     "admin@acme.example", "subscription_plan", plan);
}

START_TEST(onboarding_grants_plans_up_to_the_ceiling)
{
    struct it_client c;
    struct it_resp r;
    json_t *body = onboard_body("scale");
    char path[128];

    it_client_init(&c);
    snprintf(path, sizeof(path), "/api/v1/admin/tenants/%s",
             json_string_value(json_object_get(body, "tenant_id")));
    /* PROFESSIONAL is the ceiling by default: SCALE needs the key. */
    it_call(&c, "POST", "/api/v1/tenants/onboard", NULL, json_incref(body), &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "subscription_plan");
    ck_assert_str_eq(it_str(&r, "error.details.max_plan"), "PROFESSIONAL");
    it_resp_free(&r);
    admin_call(&c, "GET", path, NULL, &r);
    it_assert_error(&r, 404, "TENANT_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/tenants/dryrun", NULL, json_incref(body), &r);
    ck_assert_str_eq(it_str(&r, "status"), "FAILED");
    ck_assert_str_eq(it_str(&r, "validation_results.4.check_name"),
                     "subscription_plan");
    ck_assert_str_eq(it_str(&r, "validation_results.4.status"), "FAILED");
    it_resp_free(&r);
    /* With the operator's key, any plan. */
    admin_call(&c, "POST", "/api/v1/tenants/onboard", json_incref(body), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "subscription_plan"), "SCALE");
    it_resp_free(&r);
    admin_call(&c, "GET", path, NULL, &r);
    ck_assert_int_eq(it_int(&r, "subscription.quotas.concurrent_runs"), 10);
    it_resp_free(&r);
    json_decref(body);
}
END_TEST

/* The stack's configuration file as the test found it. */
static char conf_text[8192];

/*
 * Gives the API the stack's configuration with extra lines after it
 * (NULL: as it was) by SIGHUP, and waits until onboarding answers an
 * empty body with want: 403 while self-service onboarding is off, 422
 * (the body is refused) while it is on.
 */
static void
reconfigure_api(const char *extra, int want)
{
    struct it_client c;
    struct it_resp r;
    char pidfile[512];
    double until = it_now() + 20;
    FILE *f;
    long pid;

    if (conf_text[0] == '\0') {
        f = fopen(it_env("SLUICE_TEST_CONF"), "r");
        ck_assert_ptr_nonnull(f);
        conf_text[fread(conf_text, 1, sizeof(conf_text) - 1, f)] = '\0';
        fclose(f);
    }
    f = fopen(it_env("SLUICE_TEST_CONF"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s%s", conf_text, extra ? extra : "");
    fclose(f);
    snprintf(pidfile, sizeof(pidfile), "%s/run/api.pid",
             it_env("SLUICE_TEST_VAR"));
    f = fopen(pidfile, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    ck_assert_int_eq(kill((pid_t)pid, SIGHUP), 0);
    it_client_init(&c);
    for (;;) {
        it_call(&c, "POST", "/api/v1/tenants/onboard", NULL, json_object(), &r);
        if (r.status == want)
            break;
        ck_assert_msg(it_now() < until, "the API still answers %d: %s",
                      r.status, r.body);
        it_resp_free(&r);
        usleep(250 * 1000);
    }
    it_resp_free(&r);
}

static void
restore_conf(void)
{
    if (conf_text[0] != '\0')
        reconfigure_api(NULL, 422);
}

START_TEST(without_self_onboarding_only_the_key_makes_organisations)
{
    struct it_client c;
    struct it_resp r;
    char name[64], email[96], *text, head[512];
    json_t *body;

    reconfigure_api("self_onboarding = false\n", 403);
    it_client_init(&c);
    it_call(&c, "POST", "/api/v1/tenants/onboard", NULL,
            onboard_body("STARTER"), &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    /* Registering with a new organisation is onboarding too. */
    snprintf(name, sizeof(name), "closed_%s", it_unique());
    it_register(&c, name, IT_PASSWORD, "Closed Org", &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    /* Joining the default organisation is not. */
    it_register(&c, name, IT_PASSWORD, NULL, &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    /* The operator's key still makes organisations, either way. */
    snprintf(name, sizeof(name), "keyed_%s", it_unique());
    snprintf(email, sizeof(email), "%s@example.com", name);
    body = json_pack("{s:s, s:s, s:s, s:s}", "username", name, "email", email,
                     "password", IT_PASSWORD, "organization_name", "Keyed Org");
    text = json_dumps(body, JSON_COMPACT);
    snprintf(head, sizeof(head), "%s", it_admin_header());
    it_request(&c, "POST", "/api/v1/auth/register", head, "application/json",
               text, strlen(text), &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "role"), "admin");
    it_resp_free(&r);
    free(text);
    json_decref(body);
    admin_call(&c, "POST", "/api/v1/tenants/onboard", onboard_body("STARTER"),
               &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
}
END_TEST

static Suite *
tenants_suite(void)
{
    Suite *s = suite_create("it_tenants");
    TCase *tc = tcase_create("tenants");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, admin_key_is_required_and_checked);
    tcase_add_test(tc, bootstrap_is_idempotent);
    tcase_add_test(tc, tenants_are_created_once_and_read);
    tcase_add_test(tc, api_key_lifecycle);
    tcase_add_test(tc, onboarding_and_dry_run);
    tcase_add_test(tc, keys_of_one_tenant_are_invisible_to_another);
    tcase_add_test(tc, onboarding_grants_plans_up_to_the_ceiling);
    suite_add_tcase(s, tc);
    /* Last, and on its own: it changes the API's configuration. */
    tc = tcase_create("closed onboarding");
    tcase_set_timeout(tc, 90);
    tcase_add_checked_fixture(tc, NULL, restore_conf);
    tcase_add_test(tc,
                   without_self_onboarding_only_the_key_makes_organisations);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(tenants_suite)
