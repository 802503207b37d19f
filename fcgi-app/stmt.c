/*
 * stmt.c: the SQL of sluice-api, one named statement each.
 *
 * Tenant and user scoping is done by row-level security on the settings
 * the transaction carries (see sql/001_init.sql). Where a user may see
 * rows of several tenants (their own memberships), statements also say
 * `tenant_id = app_tenant()` explicitly. `retry` marks statements that
 * only read, and may run again after a lost connection.
 */
#include "stmt.h"

/* The columns of a user as an organisation sees them (api_user_json). */
#define USER_COLS                                                              \
    "u.id, u.username, u.email, u.full_name, m.role, "                         \
    "m.is_active AND u.is_active, rfc3339(u.created_at), "                     \
    "rfc3339(u.last_login_at)"

#define AUTH_SESSION_SQL(extra)                                                \
    "SELECT u.username, u.email, u.full_name, rfc3339(u.created_at), "         \
    "rfc3339(u.last_login_at), m.role, m.is_active, "                          \
    "(SELECT t.is_active FROM tenants t WHERE t.id = $2)" extra " "            \
    "FROM sessions s JOIN users u ON u.id = s.user_id "                        \
    "LEFT JOIN memberships m ON m.user_id = s.user_id AND m.tenant_id = $2 "   \
    "WHERE s.id = $1::uuid AND s.user_id = $3::uuid "                          \
    "AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active "       \
    "AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $4::uuid)"

/* A user's organisations and pending invitations, as
 * {"organizations": [{"id", "name", "role"}], "invitations": [...]}. */
#define USER_ORGS_JSON                                                         \
    "json_build_object('organizations', (SELECT coalesce(json_agg("            \
    "json_build_object('id', m2.tenant_id, 'name', t2.name, 'role', "          \
    "m2.role) ORDER BY m2.created_at, m2.tenant_id), '[]') "                   \
    "FROM memberships m2 JOIN tenants t2 ON t2.id = m2.tenant_id "             \
    "WHERE m2.user_id = s.user_id AND m2.is_active AND t2.is_active), "        \
    "'invitations', (SELECT coalesce(json_agg(json_build_object("              \
    "'id', m3.tenant_id, 'name', t3.name, 'role', m3.role) "                   \
    "ORDER BY m3.created_at, m3.tenant_id), '[]') "                            \
    "FROM memberships m3 JOIN tenants t3 ON t3.id = m3.tenant_id "             \
    "WHERE m3.user_id = s.user_id AND m3.accepted_at IS NULL "                 \
    "AND t3.is_active))"

const struct sl_db_stmt api_stmts[ST_COUNT_] = {
    /* $1 session, $2 tenant, $3 user, $4 jti: the session's user, their
     * membership of the tenant, and whether the tenant is active; no row
     * when the session or the token is revoked or the user inactive. */
    [ST_AUTH_SESSION] = {"auth_session", AUTH_SESSION_SQL(""), true},
    /* The same, and the user's organisations as a JSON array. */
    [ST_AUTH_SESSION_ORGS] = {"auth_session_orgs",
                              AUTH_SESSION_SQL(", " USER_ORGS_JSON), true},
    /* $1 key hash; scoped to the key's tenant. Touches last_used_at at
     * most every ten seconds, so that a busy key is not a write per
     * request. */
    [ST_AUTH_API_KEY] =
        {"auth_api_key",
         "WITH k AS (SELECT id, role, is_active AND revoked_at IS NULL AS "
         "active, expires_at IS NOT NULL AND expires_at <= now() AS expired "
         "FROM api_keys WHERE key_hash = $1), "
         "touch AS (UPDATE api_keys SET last_used_at = now() "
         "WHERE key_hash = $1 AND is_active AND revoked_at IS NULL "
         "AND (last_used_at IS NULL "
         "OR last_used_at < now() - interval '10 seconds') RETURNING 1) "
         "SELECT k.id, k.role, k.active, k.expired, "
         "(SELECT t.is_active FROM tenants t WHERE t.id = app_tenant()), "
         "(SELECT count(*) FROM touch) FROM k",
         false},
    [ST_LOGIN_LOOKUP] = {"login_lookup",
                         "SELECT user_id, password_hash, is_active "
                         "FROM auth_login_lookup($1)",
                         true},
    /* $1 user; scoped to the user: active memberships and pending
     * invitations (accepted false). */
    [ST_USER_ORGS] = {"user_orgs",
                      "SELECT m.tenant_id, t.name, m.role, "
                      "m.accepted_at IS NOT NULL "
                      "FROM memberships m JOIN tenants t ON t.id = m.tenant_id "
                      "WHERE m.user_id = $1::uuid AND t.is_active "
                      "AND (m.is_active OR m.accepted_at IS NULL) "
                      "ORDER BY m.created_at, m.tenant_id",
                      true},
    /* $1 tenant, $2 user: the user accepts the tenant's invitation. */
    [ST_MEMBERSHIP_ACCEPT] = {"membership_accept",
                              "UPDATE memberships SET accepted_at = now(), "
                              "is_active = true, updated_at = now() "
                              "WHERE tenant_id = $1 AND user_id = $2::uuid "
                              "AND accepted_at IS NULL",
                              false},
    /* $1 login, $2 role; scoped to the inviting admin's tenant. */
    [ST_INVITE] = {"invite", "SELECT auth_invite($1, $2)", false},
    [ST_USER_LAST_LOGIN] = {"user_last_login",
                            "UPDATE users SET last_login_at = now() "
                            "WHERE id = $1::uuid",
                            false},
    /* $1 id, $2 user, $3 tenant, $4 lifetime in seconds */
    [ST_SESSION_INSERT] =
        {"session_insert",
         "INSERT INTO sessions (id, user_id, tenant_id, expires_at) "
         "VALUES ($1::uuid, $2::uuid, $3, "
         "now() + make_interval(secs => $4::int))",
         false},
    /* $1 session; scoped to its user. */
    [ST_SESSION_GET] =
        {"session_get",
         "SELECT s.tenant_id, s.revoked_at IS NULL AND s.expires_at > now(), "
         "m.role, coalesce(m.is_active, false) AND u.is_active AND "
         "coalesce((SELECT t.is_active FROM tenants t "
         "WHERE t.id = s.tenant_id), false) "
         "FROM sessions s JOIN users u ON u.id = s.user_id "
         "LEFT JOIN memberships m ON m.user_id = s.user_id "
         "AND m.tenant_id = s.tenant_id WHERE s.id = $1::uuid",
         true},
    /* $1 session, $2 reason */
    [ST_SESSION_REVOKE] = {"session_revoke",
                           "UPDATE sessions SET revoked_at = now(), "
                           "revoked_reason = $2 "
                           "WHERE id = $1::uuid AND revoked_at IS NULL",
                           false},
    /* $1 hash, $2 session, $3 user, $4 lifetime in seconds */
    [ST_REFRESH_INSERT] =
        {"refresh_insert",
         "WITH pruned AS (DELETE FROM refresh_tokens "
         "WHERE session_id = $2::uuid AND expires_at < now()) "
         "INSERT INTO refresh_tokens (token_hash, session_id, user_id, "
         "expires_at) VALUES ($1, $2::uuid, $3::uuid, "
         "now() + make_interval(secs => $4::int))",
         false},
    [ST_REFRESH_OWNER] = {"refresh_owner", "SELECT auth_refresh_owner($1)",
                          true},
    /* Spends a refresh token; no row when it was spent or expired. */
    [ST_REFRESH_CONSUME] = {"refresh_consume",
                            "UPDATE refresh_tokens SET used_at = now() "
                            "WHERE token_hash = $1 AND used_at IS NULL "
                            "AND expires_at > now() RETURNING session_id",
                            false},
    [ST_REFRESH_STATE] = {"refresh_state",
                          "SELECT session_id, used_at IS NOT NULL, "
                          "expires_at <= now() FROM refresh_tokens "
                          "WHERE token_hash = $1",
                          true},
    /* $1 jti, $2 user, $3 the token's exp (epoch seconds); forgets the
     * user's revocations whose tokens have expired anyway. */
    [ST_JTI_REVOKE] = {"jti_revoke",
                       "WITH pruned AS (DELETE FROM revoked_tokens "
                       "WHERE user_id = $2::uuid AND expires_at < now()) "
                       "INSERT INTO revoked_tokens (jti, user_id, expires_at) "
                       "VALUES ($1::uuid, $2::uuid, to_timestamp($3::bigint)) "
                       "ON CONFLICT (jti) DO NOTHING",
                       false},
    /* $1 id, $2 name, $3 description, $4 admin e-mail */
    [ST_TENANT_INSERT] = {"tenant_insert",
                          "INSERT INTO tenants (id, name, description, "
                          "admin_email) VALUES ($1, $2, $3, $4) "
                          "RETURNING rfc3339(created_at)",
                          false},
    /* $1 id, $2 name: creates the tenant unless it exists. */
    [ST_TENANT_ENSURE] = {"tenant_ensure",
                          "INSERT INTO tenants (id, name) VALUES ($1, $2) "
                          "ON CONFLICT (id) DO NOTHING RETURNING id",
                          false},
    [ST_TENANT_GET] =
        {"tenant_get",
         "SELECT t.id, t.name, t.description, t.admin_email, t.is_active, "
         "rfc3339(t.created_at), rfc3339(t.updated_at), s.plan_code, "
         "s.status, s.daily_runs_limit, s.monthly_runs_limit, "
         "s.concurrent_runs_limit FROM tenants t "
         "LEFT JOIN tenant_subscriptions s ON s.tenant_id = t.id "
         "WHERE t.id = $1",
         true},
    [ST_TENANT_EXISTS] = {"tenant_exists",
                          "SELECT 1 FROM tenants WHERE id = $1", true},
    /* Serialises changes to the tenant's admins. */
    [ST_TENANT_LOCK] = {"tenant_lock",
                        "SELECT 1 FROM tenants WHERE id = app_tenant() "
                        "FOR UPDATE",
                        false},
    /* $1 tenant, $2 plan: quotas copied from the plan. */
    [ST_SUBSCRIPTION_INSERT] =
        {"subscription_insert",
         "INSERT INTO tenant_subscriptions (tenant_id, plan_code, "
         "daily_runs_limit, monthly_runs_limit, concurrent_runs_limit) "
         "SELECT $1, p.code, p.daily_runs, p.monthly_runs, p.concurrent_runs "
         "FROM plans p WHERE p.code = $2 ON CONFLICT (tenant_id) DO NOTHING "
         "RETURNING plan_code, daily_runs_limit, monthly_runs_limit, "
         "concurrent_runs_limit",
         false},
    [ST_PLAN_GET] = {"plan_get",
                     "SELECT code, daily_runs, monthly_runs, concurrent_runs "
                     "FROM plans WHERE code = $1",
                     true},
    /* $1 id, $2 username, $3 e-mail, $4 full name, $5 password hash;
     * scoped to the new user. */
    [ST_USER_INSERT] = {"user_insert",
                        "INSERT INTO users (id, username, email, full_name, "
                        "password_hash) VALUES ($1::uuid, $2, $3, $4, $5) "
                        "RETURNING rfc3339(created_at)",
                        false},
    /* $1 tenant, $2 user, $3 role */
    [ST_MEMBERSHIP_INSERT] = {"membership_insert",
                              "INSERT INTO memberships (tenant_id, user_id, "
                              "role) VALUES ($1, $2::uuid, $3)",
                              false},
    [ST_MEMBER_GET] = {"member_get",
                       "SELECT " USER_COLS " FROM memberships m "
                       "JOIN users u ON u.id = m.user_id "
                       "WHERE m.tenant_id = app_tenant() "
                       "AND m.user_id = $1::uuid AND m.accepted_at IS NOT NULL",
                       true},
    /* $1 limit, $2 offset */
    [ST_MEMBER_LIST] = {"member_list",
                        "SELECT " USER_COLS ", count(*) OVER () "
                        "FROM memberships m JOIN users u ON u.id = m.user_id "
                        "WHERE m.tenant_id = app_tenant() "
                        "AND m.accepted_at IS NOT NULL "
                        "ORDER BY m.created_at, u.id "
                        "LIMIT $1::bigint OFFSET $2::bigint",
                        true},
    [ST_MEMBER_COUNT] = {"member_count",
                         "SELECT count(*) FROM memberships "
                         "WHERE tenant_id = app_tenant() "
                         "AND accepted_at IS NOT NULL",
                         true},
    /* $1 user, $2 role or NULL, $3 is_active or NULL */
    [ST_MEMBER_UPDATE] = {"member_update",
                          "UPDATE memberships SET role = coalesce($2, role), "
                          "is_active = coalesce($3::boolean, is_active), "
                          "updated_at = now() "
                          "WHERE tenant_id = app_tenant() "
                          "AND user_id = $1::uuid AND accepted_at IS NOT NULL "
                          "RETURNING user_id",
                          false},
    /* Active admins of the organisation other than $1. */
    [ST_MEMBER_OTHER_ADMINS] = {"member_other_admins",
                                "SELECT count(*) FROM memberships m "
                                "JOIN users u ON u.id = m.user_id "
                                "WHERE m.tenant_id = app_tenant() "
                                "AND m.role = 'admin' AND m.is_active "
                                "AND u.is_active AND m.user_id <> $1::uuid",
                                true},
    /* $1 id, $2 tenant, $3 hash, $4 prefix, $5 description, $6 role,
     * $7 expiry (epoch seconds) or NULL */
    [ST_APIKEY_INSERT] =
        {"apikey_insert",
         "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix, "
         "description, role, expires_at) "
         "VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint)) "
         "RETURNING rfc3339(created_at), rfc3339(expires_at)",
         false},
    [ST_APIKEY_LIST] =
        {"apikey_list",
         "SELECT id, description, role, is_active AND revoked_at IS NULL, "
         "rfc3339(created_at), rfc3339(last_used_at), rfc3339(expires_at), "
         "key_prefix, rfc3339(revoked_at) FROM api_keys "
         "WHERE tenant_id = app_tenant() ORDER BY created_at, id",
         true},
    [ST_APIKEY_TENANT] = {"apikey_tenant", "SELECT auth_api_key_tenant($1)",
                          true},
    [ST_APIKEY_REVOKE] = {"apikey_revoke",
                          "UPDATE api_keys SET is_active = false, "
                          "revoked_at = coalesce(revoked_at, now()) "
                          "WHERE key_hash = $1 AND tenant_id = app_tenant() "
                          "RETURNING tenant_id, rfc3339(revoked_at), id",
                          false},
    [ST_MIGRATIONS] = {"migrations",
                       "SELECT count(*), coalesce(max(version), 0) "
                       "FROM schema_migrations",
                       true},
};
