/*
 * tenants.c: seed 003's tenant administration.
 *
 * With X-Admin-Key: bootstrap, create and read tenants, issue and revoke
 * API keys. Without it: self-service onboarding (when the operator allows
 * it) and its dry run. A tenant is an organisation; its plan's quotas are
 * copied into its subscription when it is made.
 *
 * API keys read sk_<tenant>_<32 random alphanumerics>. The key is returned
 * once, at creation; the database keeps its SHA-256 and a short prefix for
 * people to recognise it by.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authenticate.h"
#include "check.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "plan.h"
#include "request.h"
#include "tenants.h"

/* The tables of a tenant's state, as bootstrap reports them. */
static const char *const tenant_tables[] = {
    "tenants",  "tenant_subscriptions", "users",          "memberships",
    "sessions", "refresh_tokens",       "revoked_tokens", "api_keys",
};

void
api_tenant_slug(const char *name, char *out, size_t outsz)
{
    size_t n = 0, max = outsz - 1 < 40 ? outsz - 1 : 40;
    bool sep = false;

    for (const unsigned char *p = (const unsigned char *)name;
         *p != '\0' && n < max; p++) {
        if (isalnum(*p) && *p < 0x80) {
            if (sep && n > 0 && n < max)
                out[n++] = '_';
            sep = false;
            if (n < max)
                out[n++] = (char)tolower(*p);
        } else {
            sep = true;
        }
    }
    out[n] = '\0';
    if (n < 3) {
        /* Too short (or no ASCII at all): prefix it. */
        char tmp[48];

        snprintf(tmp, sizeof(tmp), "org_%s", out);
        snprintf(out, outsz, "%s", tmp);
        if (strlen(out) < 4)
            snprintf(out, outsz, "org_x");
    }
}

void
api_tenant_slug_retry(const char *name, char *out, size_t outsz)
{
    char base[48], suffix[8];

    api_tenant_slug(name, base, sizeof(base));
    base[32] = '\0';
    sl_random_alnum(suffix, 5);
    for (char *p = suffix; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    snprintf(out, outsz, "%s_%s", base, suffix);
}

/* The tenant tables as a new JSON array. */
static json_t *
tables_json(void)
{
    json_t *a = json_array();

    for (size_t i = 0; i < sizeof(tenant_tables) / sizeof(tenant_tables[0]);
         i++)
        json_array_append_new(a, json_string(tenant_tables[i]));
    return a;
}

bool
api_tenant_id_reserved(const struct sl_conf *conf, const char *s)
{
    static const char *const reserved[] = {"admin", "api",    "public",
                                           "root",  "sluice", "system"};

    if (strcmp(s, conf->default_organization) == 0)
        return true;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(s, reserved[i]) == 0)
            return true;
    return false;
}

int
api_default_org_ensure(struct sl_db *db, const struct sl_conf *conf,
                       bool *created)
{
    const char *tp[2] = {conf->default_organization, "Default organization"};
    const char *sp[1] = {"STARTER"};
    PGresult *res = NULL;
    int rc;

    rc = sl_db_begin(db, conf->default_organization, NULL);
    if (rc != SL_OK)
        return rc;
    rc = sl_db_exec(db, ST_TENANT_ENSURE, 2, tp, &res);
    if (rc == SL_OK && created != NULL)
        *created = PQntuples(res) == 1;
    PQclear(res);
    res = NULL;
    if (rc == SL_OK)
        rc = sl_db_exec(db, ST_SUBSCRIPTION_INSERT, 1, sp, &res);
    PQclear(res);
    if (rc == SL_OK)
        rc = sl_db_commit(db);
    else
        sl_db_rollback(db);
    return rc;
}

static int API_ANSWERS
tenant_not_found(struct api_req *r, const char *id)
{
    return api_error(r, 404, "TENANT_NOT_FOUND",
                     sl_psprintf(r->pool, "Tenant '%.60s' not found", id),
                     json_pack("{s:s}", "tenant_id", id));
}

/* Reads a plan name (STARTER when absent); NULL, and a recorded error,
 * when it names no plan. */
static const char *
check_plan(struct api_check *c, json_t *body, const char *field)
{
    const char *plan = api_check_str(c, body, field, 0, 1, 20);

    if (plan == NULL)
        return sl_plan_name(SL_PLAN_STARTER);
    if (sl_plan_parse(plan) == SL_PLAN_NONE) {
        api_check_fail(c, field, "must be " SL_PLAN_NAMES);
        return NULL;
    }
    return sl_plan_name(sl_plan_parse(plan));
}

/*
 * NULL when onboarding may grant plan (a plan's name) to this caller: up
 * to self_onboarding_max_plan, or any with the admin key. Otherwise why
 * not, as a sentence in the request's pool.
 */
static const char *
plan_above_ceiling(struct api_req *r, const char *plan)
{
    const char *max = r->ctx->conf->self_onboarding_max_plan;

    if (sl_plan_parse(plan) <= sl_plan_parse(max) || api_admin_key_valid(r))
        return NULL;
    return sl_psprintf(r->pool,
                       "Self-service onboarding grants plans up to %s; %s "
                       "needs the operator's X-Admin-Key",
                       max, sl_plan_name(sl_plan_parse(plan)));
}

int
api_onboarding_allowed(struct api_req *r)
{
    if (r->ctx->conf->self_onboarding || api_admin_key_valid(r))
        return 0;
    return api_error(r, 403, "INSUFFICIENT_PERMISSIONS",
                     "Self-service onboarding is disabled on this server; "
                     "ask its operator",
                     NULL);
}

/* --- keys ------------------------------------------------------------------
 */

struct new_key {
    char key[128];
    char hash[SL_SHA256_HEX_LEN];
    char id[32];
    char prefix[48];
};

static int
make_key(const char *tenant, struct new_key *k)
{
    char secret[33], idhex[13];
    unsigned char idraw[6];

    if (sl_random_alnum(secret, 32) != SL_OK ||
        sl_random_bytes(idraw, sizeof(idraw)) != SL_OK)
        return SL_ECRYPTO;
    snprintf(k->key, sizeof(k->key), "sk_%s_%s", tenant, secret);
    sl_sha256_hex(k->key, strlen(k->key), k->hash);
    sl_hex(idraw, sizeof(idraw), idhex);
    snprintf(k->id, sizeof(k->id), "api_key_%s", idhex);
    /* Enough to recognise a key by; far too little to guess it. */
    snprintf(k->prefix, sizeof(k->prefix), "sk_%s_%.4s", tenant, secret);
    return SL_OK;
}

/* Inserts a key in the open transaction; its times go to created/expires. */
static int
insert_key(struct api_req *r, const char *tenant, const struct new_key *k,
           const char *description, const char *role, int64_t expires_at,
           PGresult **res)
{
    char when[24];
    const char *params[7] = {k->id,       tenant, k->hash, k->prefix,
                             description, role,   NULL};

    if (expires_at > 0) {
        snprintf(when, sizeof(when), "%lld", (long long)expires_at);
        params[6] = when;
    }

    return api_exec(r, ST_APIKEY_INSERT, 7, params, res);
}

/* --- creating a tenant -----------------------------------------------------
 */

struct tenant_input {
    const char *id;
    const char *name;
    const char *description;
    const char *admin_email;
    const char *plan;
};

/*
 * Reads a new tenant from body into in (strings borrowed from body).
 * Returns 0, or API_ANSWERED with the 422 set.
 */
static int API_ANSWERS
tenant_input(struct api_req *r, json_t *body, struct tenant_input *in,
             bool email_required)
{
    struct api_check c;
    int rc;

    api_check_init(&c, r);
    in->id = api_check_str(&c, body, "tenant_id", API_REQUIRED, 1, 64);
    if (in->id != NULL && !api_tenant_id_valid(in->id))
        api_check_fail(&c, "tenant_id", "must match ^[a-z0-9_]{3,50}$");
    else if (in->id != NULL && api_tenant_id_reserved(r->ctx->conf, in->id))
        api_check_fail(&c, "tenant_id", "is reserved");
    in->name = api_check_str(&c, body, "company_name", 0, 1, 200);
    if (in->name == NULL)
        in->name = api_check_str(&c, body, "name", 0, 1, 200);
    in->description = api_check_str(&c, body, "description", 0, 0, 2000);
    in->admin_email = api_check_str(&c, body, "admin_email",
                                    email_required ? API_REQUIRED : 0, 3, 254);
    if (in->admin_email != NULL && !api_email_valid(in->admin_email))
        api_check_fail(&c, "admin_email", "is not a valid e-mail address");
    in->plan = check_plan(&c, body, "subscription_plan");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (in->name == NULL)
        in->name = in->id;
    return 0;
}

/*
 * Creates the tenant and its subscription in a transaction of its own,
 * and, when key is not NULL, its first API key. Returns 0 with the
 * transaction committed and *created (pool) set, or API_ANSWERED with the
 * error set (409 for a taken id).
 */
static int API_ANSWERS
create_tenant(struct api_req *r, const struct tenant_input *in,
              struct new_key *key, const char **created)
{
    const char *tp[4] = {in->id, in->name, in->description, in->admin_email};
    const char *sp[1] = {in->plan};
    PGresult *res;
    int rc;

    rc = sl_db_begin(&r->ctx->db, in->id, NULL);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if ((rc = api_exec(r, ST_TENANT_INSERT, 4, tp, &res)) != SL_OK)
        goto failed;
    *created = PQgetvalue(res, 0, 0);
    if ((rc = api_exec(r, ST_SUBSCRIPTION_INSERT, 1, sp, &res)) != SL_OK)
        goto failed;
    if (key != NULL) {
        if (make_key(in->id, key) != SL_OK) {
            rc = SL_ECRYPTO;
            goto failed;
        }
        if ((rc = insert_key(r, in->id, key, "Created at onboarding", "admin",
                             0, &res)) != SL_OK)
            goto failed;
    }
    if ((rc = sl_db_commit(&r->ctx->db)) != SL_OK)
        goto failed;
    return 0;
failed:
    sl_db_rollback(&r->ctx->db);
    if (rc == SL_ECONFLICT)
        return api_error(
            r, 409, "DUPLICATE_RESOURCE",
            sl_psprintf(r->pool, "Tenant '%s' already exists", in->id),
            json_pack("{s:s, s:s}", "field", "tenant_id", "reason",
                      "already taken"));
    if (rc == SL_ECRYPTO)
        return api_error(r, 500, "INTERNAL_ERROR", "Could not generate a key",
                         NULL);
    return api_db_error(r, rc);
}

/* --- POST /admin/bootstrap -------------------------------------------------
 */

int
api_h_admin_bootstrap(struct api_req *r)
{
    const struct sl_conf *conf = r->ctx->conf;
    json_t *body, *tables;
    PGresult *mig;
    bool created = false;
    int rc;

    if ((rc = api_body_object(r, true, &body)) != 0)
        return rc;
    if (sl_json_get_bool(body, "force_recreate_dataset", false) ||
        sl_json_get_bool(body, "force_recreate_tables", false))
        return api_error(r, 422, "VALIDATION_ERROR",
                         "Sluice's schema is managed by sluice-migrate and is "
                         "never recreated through the API",
                         json_pack("{s:s, s:s}", "field",
                                   "force_recreate_tables", "reason",
                                   "not supported"));
    rc = api_exec(r, ST_MIGRATIONS, 0, NULL, &mig);
    if (rc == SL_OK)
        rc = api_default_org_ensure(&r->ctx->db, conf, &created);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    tables = tables_json();
    return api_reply(
        r, 200,
        json_pack("{s:s, s:b, s:i, s:o, s:o, s:s, s:s}", "status", "SUCCESS",
                  "dataset_created", created, "tables_created", 0, "tables",
                  tables, "migrations_applied", api_col_int(mig, 0, 0),
                  "default_organization", conf->default_organization, "message",
                  created ? "Bootstrap completed successfully"
                          : "Already bootstrapped; nothing to do"));
}

/* --- POST /admin/tenants, GET /admin/tenants/{tenant_id} -------------------
 */

int
api_h_admin_tenants_create(struct api_req *r)
{
    struct tenant_input in;
    const char *created;
    json_t *body;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0 ||
        (rc = tenant_input(r, body, &in, false)) != 0 ||
        (rc = create_tenant(r, &in, NULL, &created)) != 0)
        return rc;
    sl_log_info(&r->ctx->log, "tenant %s created", in.id);
    return api_reply(
        r, 200,
        json_pack("{s:s, s:s, s:o, s:s, s:b, s:s, s:s}", "tenant_id", in.id,
                  "name", in.name, "description",
                  sl_json_str_or_null(in.description), "subscription_plan",
                  in.plan, "is_active", 1, "created_at", created, "message",
                  "Tenant created successfully"));
}

int
api_h_admin_tenants_get(struct api_req *r)
{
    const char *id = api_param(r, "tenant_id");
    const char *params[1] = {id};
    json_t *keys, *out;
    PGresult *t, *k;
    int rc;

    if (!api_tenant_id_valid(id))
        return tenant_not_found(r, id);
    rc = sl_db_begin(&r->ctx->db, id, NULL);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if ((rc = api_exec(r, ST_TENANT_GET, 1, params, &t)) != SL_OK ||
        (rc = api_exec(r, ST_APIKEY_LIST, 0, NULL, &k)) != SL_OK ||
        (rc = sl_db_commit(&r->ctx->db)) != SL_OK) {
        sl_db_rollback(&r->ctx->db);
        return api_db_error(r, rc);
    }
    if (PQntuples(t) == 0)
        return tenant_not_found(r, id);
    keys = json_array();
    for (int i = 0; i < PQntuples(k); i++)
        json_array_append_new(
            keys,
            json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                      "tenant_api_key_id", api_col_str(k, i, 0), "description",
                      api_col_str(k, i, 1), "role", api_col_str(k, i, 2),
                      "is_active", api_col_bool(k, i, 3), "created_at",
                      api_col_str(k, i, 4), "last_used_at",
                      api_col_str(k, i, 5), "expires_at", api_col_str(k, i, 6),
                      "key_prefix", api_col_str(k, i, 7), "revoked_at",
                      api_col_str(k, i, 8)));
    out = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:[o], s:o}",
                    "tenant_id", api_col_str(t, 0, 0), "name",
                    api_col_str(t, 0, 1), "description", api_col_str(t, 0, 2),
                    "admin_email", api_col_str(t, 0, 3), "is_active",
                    api_col_bool(t, 0, 4), "created_at", api_col_str(t, 0, 5),
                    "updated_at", api_col_str(t, 0, 6), "datasets",
                    api_col_str(t, 0, 0), "api_keys", keys);
    if (!PQgetisnull(t, 0, 7)) {
        json_object_set_new(out, "subscription_plan", api_col_str(t, 0, 7));
        json_object_set_new(
            out, "subscription",
            json_pack("{s:o, s:o, s:{s:o, s:o, s:o}}", "plan",
                      api_col_str(t, 0, 7), "status", api_col_str(t, 0, 8),
                      "quotas", "daily_pipelines", api_col_int(t, 0, 9),
                      "monthly_pipelines", api_col_int(t, 0, 10),
                      "concurrent_runs", api_col_int(t, 0, 11)));
    }
    return api_reply(r, 200, out);
}

/* --- POST /admin/api-keys, DELETE /admin/api-keys/{api_key_hash} ---------- */

int
api_h_admin_api_keys_create(struct api_req *r)
{
    const char *tenant, *description, *expires, *role_name;
    const char *params[1];
    struct api_check c;
    struct new_key k;
    json_t *body;
    PGresult *res;
    int64_t when = 0;
    enum sl_role role = SL_ROLE_ADMIN;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    tenant = api_check_str(&c, body, "tenant_id", API_REQUIRED, 1, 64);
    if (tenant != NULL && !api_tenant_id_valid(tenant))
        api_check_fail(&c, "tenant_id", "must match ^[a-z0-9_]{3,50}$");
    description = api_check_str(&c, body, "description", 0, 0, 500);
    expires = api_check_str(&c, body, "expires_at", 0, 1, 40);
    if (expires != NULL && sl_clock_parse(expires, &when) != SL_OK)
        api_check_fail(&c, "expires_at", "must be an RFC 3339 date-time");
    else if (expires != NULL && when <= sl_clock_now())
        api_check_fail(&c, "expires_at", "must be in the future");
    role_name = api_check_str(&c, body, "role", 0, 1, 20);
    if (role_name != NULL && (role = sl_role_parse(role_name)) == SL_ROLE_NONE)
        api_check_fail(&c, "role",
                       "must be one of viewer, analyst, engineer, "
                       "architect, admin");
    if ((rc = api_check_done(&c)) != 0)
        return rc;

    if (make_key(tenant, &k) != SL_OK)
        return SL_ECRYPTO;
    rc = sl_db_begin(&r->ctx->db, tenant, NULL);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    params[0] = tenant;
    if ((rc = api_exec(r, ST_TENANT_EXISTS, 1, params, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(&r->ctx->db);
        return tenant_not_found(r, tenant);
    }
    if ((rc = insert_key(r, tenant, &k, description, sl_role_name(role),
                         expires ? when : 0, &res)) != SL_OK ||
        (rc = sl_db_commit(&r->ctx->db)) != SL_OK)
        goto failed;
    sl_log_info(&r->ctx->log, "api key %s issued for %s", k.id, tenant);
    return api_reply(
        r, 200,
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:s}",
                  "api_key", k.key, "tenant_api_key_hash", k.hash,
                  "tenant_api_key_id", k.id, "tenant_id", tenant, "description",
                  sl_json_str_or_null(description), "role", sl_role_name(role),
                  "key_prefix", k.prefix, "created_at", api_col_str(res, 0, 0),
                  "expires_at", api_col_str(res, 0, 1), "message",
                  "Save the api_key now: it is shown only once"));
failed:
    sl_db_rollback(&r->ctx->db);
    return api_db_error(r, rc);
}

int
api_h_admin_api_keys_revoke(struct api_req *r)
{
    const char *hash = api_param(r, "api_key_hash");
    const char *params[1] = {hash};
    const char *tenant;
    PGresult *res;
    size_t n = strlen(hash);
    int rc;

    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)hash[i]))
            n = 0;
    if (n != 64)
        return api_error(r, 404, "API_KEY_NOT_FOUND", "No such API key", NULL);
    /* Lower-case, as stored. */
    {
        char *lower = sl_pstrdup(r->pool, hash);

        for (char *p = lower; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        params[0] = hash = lower;
    }
    rc = api_exec(r, ST_APIKEY_TENANT, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    tenant = sl_db_value(res, 0, 0);
    if (tenant == NULL)
        return api_error(r, 404, "API_KEY_NOT_FOUND", "No such API key", NULL);
    rc = api_exec_scoped(r, tenant, NULL, ST_APIKEY_REVOKE, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return api_error(r, 404, "API_KEY_NOT_FOUND", "No such API key", NULL);
    sl_log_info(&r->ctx->log, "api key %s of %s revoked", PQgetvalue(res, 0, 2),
                tenant);
    return api_reply(r, 200,
                     json_pack("{s:s, s:o, s:o, s:b, s:o, s:s}",
                               "tenant_api_key_hash", hash, "tenant_api_key_id",
                               api_col_str(res, 0, 2), "tenant_id",
                               api_col_str(res, 0, 0), "is_active", 0,
                               "revoked_at", api_col_str(res, 0, 1), "message",
                               "API key revoked successfully"));
}

/* --- POST /tenants/onboard, POST /tenants/dryrun ---------------------------
 */

int
api_h_tenants_onboard(struct api_req *r)
{
    struct tenant_input in;
    struct new_key k;
    const char *created, *why;
    json_t *body, *tables;
    int rc;

    if ((rc = api_onboarding_allowed(r)) != 0 ||
        (rc = api_body_object(r, false, &body)) != 0 ||
        (rc = tenant_input(r, body, &in, true)) != 0)
        return rc;
    if ((why = plan_above_ceiling(r, in.plan)) != NULL)
        return api_error(r, 403, "INSUFFICIENT_PERMISSIONS", why,
                         json_pack("{s:s, s:s, s:s}", "field",
                                   "subscription_plan", "reason",
                                   "above self_onboarding_max_plan", "max_plan",
                                   r->ctx->conf->self_onboarding_max_plan));
    if ((rc = create_tenant(r, &in, &k, &created)) != 0)
        return rc;
    tables = tables_json();
    sl_log_info(&r->ctx->log, "tenant %s onboarded on %s", in.id, in.plan);
    return api_reply(
        r, 200,
        json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:s, s:s}", "tenant_id", in.id,
            "api_key", k.key, "tenant_api_key_hash", k.hash,
            "tenant_api_key_id", k.id, "subscription_plan", in.plan,
            "dataset_created", 1, "tables_created", tables, "created_at",
            created, "message",
            sl_psprintf(r->pool, "Tenant %s onboarded successfully", in.name)));
}

static void
add_check(json_t *results, const char *name, bool passed, const char *message)
{
    json_t *c = json_pack("{s:s, s:s}", "check_name", name, "status",
                          passed ? "PASSED" : "FAILED");

    if (message != NULL)
        json_object_set_new(c, "message", json_string(message));
    json_array_append_new(results, c);
}

int
api_h_tenants_dryrun(struct api_req *r)
{
    const char *id, *name, *email, *plan, *why;
    const char *params[1];
    json_t *body, *results;
    PGresult *res;
    double ms;
    int passed = 0, failed = 0, rc;
    bool ok;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    results = sl_json_pool_own(r->pool, json_array());
    id = sl_json_get_str(body, "tenant_id");
    name = sl_json_get_str(body, "company_name");
    email = sl_json_get_str(body, "admin_email");
    plan = sl_json_get_str(body, "subscription_plan");

    ok = api_tenant_id_valid(id);
    add_check(results, "tenant_id_format", ok,
              ok ? NULL : "tenant_id must match ^[a-z0-9_]{3,50}$");
    if (ok) {
        params[0] = id;
        rc = api_exec_scoped(r, id, NULL, ST_TENANT_EXISTS, 1, params, &res);
        if (rc != SL_OK)
            return api_db_error(r, rc);
        ok = PQntuples(res) == 0;
        add_check(results, "tenant_id_uniqueness", ok,
                  ok ? NULL : "a tenant with this id already exists");
    } else {
        add_check(results, "tenant_id_uniqueness", false,
                  "not checked: the id is malformed");
    }
    ok = name != NULL && strlen(name) >= 1 && strlen(name) <= 200;
    add_check(results, "company_name", ok,
              ok ? NULL : "company_name is required (1 to 200 characters)");
    ok = api_email_valid(email);
    add_check(results, "email_validation", ok,
              ok ? NULL : "admin_email is not a valid e-mail address");
    ok = plan == NULL || sl_plan_parse(plan) != SL_PLAN_NONE;
    if (!ok)
        add_check(results, "subscription_plan", false,
                  "subscription_plan must be " SL_PLAN_NAMES);
    else if (plan != NULL && (why = plan_above_ceiling(r, plan)) != NULL)
        add_check(results, "subscription_plan", false, why);
    else
        add_check(results, "subscription_plan", true, NULL);
    ok = sl_db_ping(&r->ctx->db, &ms) == SL_OK;
    add_check(results, "database_connectivity", ok,
              ok ? NULL : "the database is unreachable");

    for (size_t i = 0; i < json_array_size(results); i++) {
        if (strcmp(sl_json_get_str(json_array_get(results, i), "status"),
                   "PASSED") == 0)
            passed++;
        else
            failed++;
    }
    return api_reply(
        r, 200,
        json_pack("{s:s, s:b, s:{s:i, s:i, s:i}, s:O, s:s}", "status",
                  failed == 0 ? "SUCCESS" : "FAILED", "ready_for_onboarding",
                  failed == 0, "validation_summary", "total_checks",
                  passed + failed, "passed", passed, "failed", failed,
                  "validation_results", results, "message",
                  failed == 0 ? "All validations passed. Safe to proceed."
                              : "Some validations failed; see "
                                "validation_results."));
}
