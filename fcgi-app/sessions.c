/*
 * sessions.c: registration, login, token refresh, logout and "who am I".
 *
 * A login opens a session: the family of refresh tokens rotated from that
 * login. Refresh tokens are opaque ("rt_" and 43 base64url characters),
 * stored as SHA-256, and single use: refreshing spends the token and
 * returns a new one. Presenting a spent token is taken as theft and
 * revokes the whole session, so the thief's and the owner's tokens both
 * stop working. Access tokens are short-lived JWTs naming their session;
 * logout revokes the session and the token's jti.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authenticate.h"
#include "check.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "limits.h"
#include "password.h"
#include "permissions.h"
#include "request.h"
#include "tenants.h"
#include "token.h"
#include "users.h"
#include "uuid.h"

#define REFRESH_TOKEN_BYTES 32

/* --- POST /auth/register ---------------------------------------------------
 */

int
api_h_register(struct api_req *r)
{
    const struct sl_conf *conf = r->ctx->conf;
    const char *username, *email, *password, *full_name, *org_name;
    const char *org, *role, *created_at = NULL;
    char uid[SL_UUID_LEN], hash[SL_PASSWORD_HASH_MAX], slug[64];
    struct api_check c;
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    username = api_check_str(&c, body, "username", API_REQUIRED, 3, 50);
    if (username != NULL && !api_username_valid(username))
        api_check_fail(&c, "username",
                       "may contain only letters, digits, "
                       "'_', '.' and '-'");
    email = api_check_str(&c, body, "email", API_REQUIRED, 3, 254);
    if (email != NULL && !api_email_valid(email))
        api_check_fail(&c, "email", "is not a valid e-mail address");
    password = api_check_str(&c, body, "password", API_REQUIRED, 1, 1024);
    if (password != NULL)
        api_password_check(&c, "password", password, username);
    full_name = api_check_str(&c, body, "full_name", 0, 0, 200);
    org_name = api_check_str(&c, body, "organization_name", 0, 1, 200);
    if ((rc = api_check_done(&c)) != 0 ||
        (org_name != NULL && (rc = api_onboarding_allowed(r)) != 0))
        return rc;

    if (sl_password_hash(password, conf->password_cost, hash) != SL_OK ||
        sl_uuid_v7(uid) != SL_OK)
        return SL_ECRYPTO;

    if (org_name != NULL) {
        /* A new organisation, named after org_name, with this user as its
         * admin. Its id is a slug of the name, made unique. */
        role = "admin";
        api_tenant_slug(org_name, slug, sizeof(slug));
        if (api_tenant_id_reserved(conf, slug))
            api_tenant_slug_retry(org_name, slug, sizeof(slug));
        for (int attempt = 0;; attempt++) {
            const char *tp[2] = {slug, org_name};

            if (attempt == 8)
                return api_error(r, 409, "DUPLICATE_RESOURCE",
                                 "Could not find a free organization id", NULL);
            rc = sl_db_begin(&r->ctx->db, slug, uid);
            if (rc != SL_OK)
                return api_db_error(r, rc);
            rc = api_exec(r, ST_TENANT_ENSURE, 2, tp, &res);
            if (rc != SL_OK)
                goto failed;
            if (PQntuples(res) == 1)
                break;
            sl_db_rollback(&r->ctx->db);
            api_tenant_slug_retry(org_name, slug, sizeof(slug));
        }
        org = slug;
    } else {
        role = "viewer";
        org = conf->default_organization;
        rc = api_default_org_ensure(&r->ctx->db, conf, NULL);
        if (rc == SL_OK)
            rc = sl_db_begin(&r->ctx->db, org, uid);
        if (rc != SL_OK)
            return api_db_error(r, rc);
    }
    {
        const char *sp[1] = {"STARTER"};

        rc = api_exec(r, ST_SUBSCRIPTION_INSERT, 1, sp, &res);
        if (rc != SL_OK)
            goto failed;
    }
    rc = api_user_insert(r, uid, username, email, full_name, hash, org, role,
                         &created_at);
    if (rc != SL_OK)
        goto failed;
    rc = sl_db_commit(&r->ctx->db);
    if (rc != SL_OK)
        goto failed;
    sl_log_info(&r->ctx->log, "registered user %s in %s as %s", uid, org, role);
    return api_reply(r, 201,
                     json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:s, s:o}",
                               "id", uid, "username", username, "email", email,
                               "full_name", sl_json_str_or_null(full_name),
                               "role", role, "organization_id", org,
                               "is_active", 1, "created_at", created_at,
                               "permissions",
                               api_permissions(sl_role_parse(role))));
failed:
    sl_db_rollback(&r->ctx->db);
    if (rc == SL_ECONFLICT)
        return api_duplicate_user(r);
    return api_db_error(r, rc);
}

/* --- POST /auth/login ------------------------------------------------------
 */

/* A new opaque refresh token in out (64 bytes) and its hash in hex. */
static int
new_refresh_token(char *out, size_t outsz, char *hash)
{
    unsigned char raw[REFRESH_TOKEN_BYTES];

    if (sl_random_bytes(raw, sizeof(raw)) != SL_OK)
        return SL_ECRYPTO;
    memcpy(out, "rt_", 3);
    sl_b64url_encode(raw, sizeof(raw), out + 3, outsz - 3);
    return sl_sha256_hex(out, strlen(out), hash);
}

/* Signs an access token for the session. *token is freed by the caller. */
static int
issue_access(struct api_req *r, const char *uid, const char *sid,
             const char *org, const char *role, char **token)
{
    const struct sl_conf *conf = r->ctx->conf;
    struct sl_claims c;
    int64_t now = sl_clock_now();

    memset(&c, 0, sizeof(c));
    snprintf(c.sub, sizeof(c.sub), "%s", uid);
    snprintf(c.sid, sizeof(c.sid), "%s", sid);
    snprintf(c.org, sizeof(c.org), "%s", org);
    snprintf(c.role, sizeof(c.role), "%s", role);
    if (sl_uuid_v4(c.jti) != SL_OK)
        return SL_ECRYPTO;
    c.iat = now;
    c.exp = now + conf->access_token_ttl;
    return sl_token_issue(conf->jwt_secret, strlen(conf->jwt_secret), &c,
                          token);
}

/* The tokens answer shared by login and refresh. */
static json_t *
token_body(struct api_req *r, const char *access, const char *refresh,
           const char *org, const char *role)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o}", "access_token",
                     access, "refresh_token", refresh, "token_type", "bearer",
                     "expires_in", r->ctx->conf->access_token_ttl,
                     "organization_id", org, "role", role, "permissions",
                     api_permissions(sl_role_parse(role)));
}

/*
 * Runs login statement id (ST_LOGIN_LOOKUP, ST_PASSWORD_REHASH) on the
 * login connection, as sluice_login, the only role that may (sql/018);
 * the result lives in the request's pool. Returns 0 or a database code.
 */
static int
login_exec(struct api_req *r, enum api_stmt id, int n,
           const char *const *params, PGresult **res)
{
    int rc = sl_db_exec(&r->ctx->auth_db, (int)id, n, params, res);

    if (rc == SL_OK)
        sl_db_pool_own(r->pool, *res);
    return rc;
}

/*
 * Stores password hashed at the configured cost in place of stored, the
 * hash (made at another cost) that login has just verified it against.
 * A failure is logged and the login goes on: the next one tries again.
 */
static void
rehash(struct api_req *r, const char *uid, const char *stored,
       const char *password)
{
    char hash[SL_PASSWORD_HASH_MAX];
    const char *params[3] = {uid, stored, hash};
    PGresult *res;
    int rc = sl_password_hash(password, r->ctx->conf->password_cost, hash);

    if (rc == SL_OK)
        rc = login_exec(r, ST_PASSWORD_REHASH, 3, params, &res);
    if (rc != SL_OK)
        sl_log_warn(&r->ctx->log,
                    "login: user %s: password not hashed again at the "
                    "configured cost: %s",
                    uid, sl_strerror(rc));
}

static int API_ANSWERS
login_failed(struct api_req *r)
{
    return api_error(r, 401, "AUTHENTICATION_FAILED",
                     "Invalid username or password", NULL);
}

int
api_h_login(struct api_req *r)
{
    const struct sl_conf *conf = r->ctx->conf;
    const char *login, *password, *want_org, *uid, *org = NULL, *role = NULL;
    const char *params[4];
    char sid[SL_UUID_LEN], refresh[64], rhash[SL_SHA256_HEX_LEN], ttl[16];
    char *access = NULL;
    struct api_check c;
    json_t *body, *orgs, *invites, *out;
    PGresult *res, *ores;
    int rc;
    bool accept = false;
    bool form = r->content_type != NULL &&
                strncasecmp(r->content_type,
                            "application/x-www-form-urlencoded", 33) == 0;

    rc = form ? api_body_form(r, &body) : api_body_object(r, false, &body);
    if (rc != 0)
        return rc;
    api_check_init(&c, r);
    login = api_check_str(&c, body, "username", API_REQUIRED, 1, 254);
    password =
        api_check_str(&c, body, "password", API_REQUIRED, 1, SL_MAX_PASSWORD);
    want_org = api_check_str(&c, body, "organization_id", 0, 1, 64);
    if ((rc = api_check_done(&c)) != 0)
        return rc;

    params[0] = login;
    rc = login_exec(r, ST_LOGIN_LOOKUP, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0) {
        /* Spend the time a real check takes: no hint that it is unknown. */
        sl_password_burn(password, conf->password_cost);
        return login_failed(r);
    }
    uid = PQgetvalue(res, 0, 0);
    rc = sl_password_verify(password, PQgetvalue(res, 0, 1));
    if (rc == SL_EAUTH)
        return login_failed(r);
    if (rc != SL_OK)
        return rc;
    if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
        return api_error(r, 403, "ACCOUNT_DISABLED",
                         "This account has been deactivated", NULL);
    if (sl_password_needs_rehash(PQgetvalue(res, 0, 1), conf->password_cost))
        rehash(r, uid, PQgetvalue(res, 0, 1), password);

    params[0] = uid;
    rc = api_exec_scoped(r, NULL, uid, ST_USER_ORGS, 1, params, &ores);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    /* Organisations the user is in, and invitations: logging in to an
     * organisation that invited the user is how the user accepts. */
    orgs = sl_json_pool_own(r->pool, json_array());
    invites = sl_json_pool_own(r->pool, json_array());
    for (int i = 0; i < PQntuples(ores); i++) {
        const char *id = PQgetvalue(ores, i, 0);
        bool accepted = strcmp(PQgetvalue(ores, i, 3), "t") == 0;
        bool chosen = want_org != NULL ? strcmp(want_org, id) == 0
                                       : org == NULL && accepted;

        if (chosen) {
            org = id;
            role = PQgetvalue(ores, i, 2);
            accept = !accepted;
        }
        json_array_append_new(accepted || chosen ? orgs : invites,
                              json_pack("{s:s, s:s, s:s}", "id", id, "name",
                                        PQgetvalue(ores, i, 1), "role",
                                        PQgetvalue(ores, i, 2)));
    }
    if (org == NULL)
        return api_error(
            r, 403, "INSUFFICIENT_PERMISSIONS",
            want_org ? "You are not a member of this organization"
                     : "This account belongs to no active organization",
            want_org ? json_pack("{s:s}", "organization_id", want_org) : NULL);

    if (sl_uuid_v7(sid) != SL_OK ||
        new_refresh_token(refresh, sizeof(refresh), rhash) != SL_OK)
        return SL_ECRYPTO;
    snprintf(ttl, sizeof(ttl), "%d", conf->refresh_token_ttl);
    rc = sl_db_begin(&r->ctx->db, org, uid);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    {
        const char *sp[4] = {sid, uid, org, ttl};
        const char *rp[4] = {rhash, sid, uid, ttl};
        const char *lp[1] = {uid};
        const char *ap[2] = {org, uid};

        if ((accept &&
             (rc = api_exec(r, ST_MEMBERSHIP_ACCEPT, 2, ap, &res)) != SL_OK) ||
            (rc = api_exec(r, ST_SESSION_INSERT, 4, sp, &res)) != SL_OK ||
            (rc = api_exec(r, ST_REFRESH_INSERT, 4, rp, &res)) != SL_OK ||
            (rc = api_exec(r, ST_USER_LAST_LOGIN, 1, lp, &res)) != SL_OK ||
            (rc = sl_db_commit(&r->ctx->db)) != SL_OK) {
            sl_db_rollback(&r->ctx->db);
            return api_db_error(r, rc);
        }
    }
    /* last_login moved: cached profiles of this user are out of date. */
    api_auth_changed(r, uid, NULL);
    if (issue_access(r, uid, sid, org, role, &access) != SL_OK)
        return SL_ECRYPTO;
    out = token_body(r, access, refresh, org, role);
    free(access);
    json_object_set(out, "organizations", orgs);
    json_object_set(out, "invitations", invites);
    json_object_set_new(out, "user_id", json_string(uid));
    sl_log_info(&r->ctx->log, "login: user %s into %s%s", uid, org,
                accept ? " (invitation accepted)" : "");
    return api_reply(r, 200, out);
}

/* --- POST /auth/refresh ----------------------------------------------------
 */

int
api_h_refresh(struct api_req *r)
{
    const struct sl_conf *conf = r->ctx->conf;
    const char *token, *uid, *sid, *org, *role;
    const char *params[4];
    char hash[SL_SHA256_HEX_LEN], refresh[64], rhash[SL_SHA256_HEX_LEN];
    char ttl[16], *access = NULL;
    struct api_check c;
    json_t *body, *out;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    token = api_check_str(&c, body, "refresh_token", API_REQUIRED, 1, 256);
    if ((rc = api_check_done(&c)) != 0)
        return rc;

    sl_sha256_hex(token, strlen(token), hash);
    params[0] = hash;
    rc = api_exec(r, ST_REFRESH_OWNER, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    uid = sl_db_value(res, 0, 0);
    if (uid == NULL)
        return api_error(r, 401, "INVALID_TOKEN",
                         "The refresh token is invalid", NULL);

    rc = sl_db_begin(&r->ctx->db, NULL, uid);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if ((rc = api_exec(r, ST_REFRESH_CONSUME, 1, params, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        /* Spent or expired. A spent token presented again means someone
         * holds a copy: end the whole session. */
        if ((rc = api_exec(r, ST_REFRESH_STATE, 1, params, &res)) != SL_OK)
            goto failed;
        if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
            const char *rp[2] = {PQgetvalue(res, 0, 0), "refresh token reused"};

            if ((rc = api_exec(r, ST_SESSION_REVOKE, 2, rp, &res)) != SL_OK ||
                (rc = sl_db_commit(&r->ctx->db)) != SL_OK)
                goto failed;
            api_auth_changed(r, uid, NULL);
            sl_log_warn(&r->ctx->log,
                        "refresh token reuse for user %s: session %s revoked",
                        uid, rp[0]);
            return api_error(r, 401, "INVALID_TOKEN",
                             "This refresh token was already used; the "
                             "session has been revoked for safety",
                             NULL);
        }
        sl_db_rollback(&r->ctx->db);
        return api_error(r, 401, "TOKEN_EXPIRED",
                         "The refresh token has expired; log in again", NULL);
    }
    sid = PQgetvalue(res, 0, 0);
    params[0] = sid;
    if ((rc = api_exec(r, ST_SESSION_GET, 1, params, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        sl_db_rollback(&r->ctx->db);
        return api_error(r, 401, "INVALID_TOKEN",
                         "The session has ended; log in again", NULL);
    }
    if (PQgetisnull(res, 0, 2) || strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
        sl_db_rollback(&r->ctx->db);
        return api_error(r, 403, "INSUFFICIENT_PERMISSIONS",
                         "The account or its membership is no longer active",
                         NULL);
    }
    org = PQgetvalue(res, 0, 0);
    role = PQgetvalue(res, 0, 2);
    if (new_refresh_token(refresh, sizeof(refresh), rhash) != SL_OK) {
        sl_db_rollback(&r->ctx->db);
        return SL_ECRYPTO;
    }
    snprintf(ttl, sizeof(ttl), "%d", conf->refresh_token_ttl);
    params[0] = rhash;
    params[1] = sid;
    params[2] = uid;
    params[3] = ttl;
    /* Sign before committing: the old token must not be spent for
     * nothing. */
    if (issue_access(r, uid, sid, org, role, &access) != SL_OK) {
        sl_db_rollback(&r->ctx->db);
        return SL_ECRYPTO;
    }
    if ((rc = api_exec(r, ST_REFRESH_INSERT, 4, params, &res)) != SL_OK ||
        (rc = sl_db_commit(&r->ctx->db)) != SL_OK) {
        free(access);
        goto failed;
    }
    out = token_body(r, access, refresh, org, role);
    free(access);
    return api_reply(r, 200, out);
failed:
    sl_db_rollback(&r->ctx->db);
    return api_db_error(r, rc);
}

/* --- POST /auth/logout -----------------------------------------------------
 */

int
api_h_logout(struct api_req *r)
{
    const struct api_principal *who = &r->who;
    char exp[24];
    const char *sp[2] = {who->session_id, "logout"};
    const char *jp[3] = {who->jti, who->user_id, exp};
    PGresult *res;
    int rc;

    snprintf(exp, sizeof(exp), "%lld", (long long)who->token_exp);
    rc = sl_db_begin(&r->ctx->db, who->tenant_id, who->user_id);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if ((rc = api_exec(r, ST_SESSION_REVOKE, 2, sp, &res)) != SL_OK ||
        (rc = api_exec(r, ST_JTI_REVOKE, 3, jp, &res)) != SL_OK ||
        (rc = sl_db_commit(&r->ctx->db)) != SL_OK) {
        sl_db_rollback(&r->ctx->db);
        return api_db_error(r, rc);
    }
    api_auth_changed(r, who->user_id, NULL);
    return api_reply(r, 200,
                     json_pack("{s:s}", "message", "Successfully logged out"));
}

/* --- GET /auth/me, GET /users/me -------------------------------------------
 */

int
api_h_me(struct api_req *r)
{
    const struct api_principal *who = &r->who;
    json_t *orgs =
        who->organizations ? json_loads(who->organizations, 0, NULL) : NULL;
    json_t *out = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:b, s:s, s:o, s:s, s:o}", "id",
        who->user_id, "username", who->username, "email", who->email,
        "full_name", sl_json_str_or_null(who->full_name), "role",
        sl_role_name(who->role), "is_active", 1, "created_at", who->created_at,
        "last_login", sl_json_str_or_null(who->last_login), "organization_id",
        who->tenant_id, "permissions", api_permissions(who->role));

    /* {"organizations": [...], "invitations": [...]} from the token check. */
    for (int i = 0; i < 2; i++) {
        const char *key = i == 0 ? "organizations" : "invitations";
        json_t *v = json_object_get(orgs, key);

        json_object_set_new(out, key, v ? json_incref(v) : json_array());
    }
    json_decref(orgs);
    return api_reply(r, 200, out);
}
