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

#include "sched.h"

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

/* The filters of a pipeline list: $1 status, $2 project, $3 a name
 * pattern (already escaped for ILIKE), $4 tags (a JSON array; every one
 * must be present). */
#define PIPELINE_FILTER                                                        \
    "p.deleted_at IS NULL AND ($1::text IS NULL OR p.status = $1) "            \
    "AND ($2::uuid IS NULL OR p.project_id = $2::uuid) "                       \
    "AND ($3::text IS NULL OR p.name ILIKE '%' || $3 || '%') "                 \
    "AND ($4::jsonb IS NULL OR p.tags @> "                                     \
    "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)))"

/* $5 the sort key (name, created_at, updated_at, status), $6 asc or desc:
 * one plan for every order. */
#define PIPELINE_ORDER_BY(key, expr)                                           \
    "CASE WHEN $5 = '" key "' AND $6 = 'asc' THEN " expr " END ASC, "          \
    "CASE WHEN $5 = '" key "' AND $6 = 'desc' THEN " expr " END DESC, "
#define PIPELINE_ORDER                                                         \
    PIPELINE_ORDER_BY("name", "lower(p.name)")                                 \
    PIPELINE_ORDER_BY("created_at", "p.created_at")                            \
    PIPELINE_ORDER_BY("updated_at", "p.updated_at")                            \
    PIPELINE_ORDER_BY("status", "p.status") "p.id"

/* A project as the API shows it, with the number of its pipelines. */
#define PROJECT_DOC                                                            \
    "json_build_object('id', j.id, 'project_id', j.id, 'name', j.name, "       \
    "'description', j.description, 'settings', j.settings, "                   \
    "'tags', to_json(j.tags), 'pipeline_count', (SELECT count(*) "             \
    "FROM pipelines q WHERE q.project_id = j.id AND q.deleted_at IS NULL), "   \
    "'created_by', j.created_by, 'created_at', rfc3339(j.created_at), "        \
    "'updated_at', rfc3339(j.updated_at))"

/* A trigger as the API shows it (seed 002). */
#define TRIGGER_DOC                                                            \
    "json_build_object('id', g.id, 'trigger_id', g.id, 'name', g.name, "       \
    "'pipeline_id', g.pipeline_id, 'trigger_type', g.trigger_type, "           \
    "'status', CASE WHEN g.enabled THEN 'active' ELSE 'disabled' END, "        \
    "'enabled', g.enabled, 'disabled_reason', g.disabled_reason, "             \
    "'config', CASE WHEN g.cron IS NULL THEN "                                 \
    "'{}'::json "                                                              \
    "ELSE json_build_object('cron_expression', g.cron, 'timezone', "           \
    "g.timezone) END, 'parameters', g.parameters, "                            \
    "'next_run', rfc3339(g.next_run_at), 'last_run', rfc3339(g.last_run_at), " \
    "'created_by', g.created_by, 'created_at', rfc3339(g.created_at))"

/* A connector as the API shows it: its settings with secrets masked. */
#define CONNECTOR_DOC                                                          \
    "json_build_object('id', k.id, 'connector_id', k.id, 'name', k.name, "     \
    "'type', k.type, 'description', k.description, 'status', k.status, "       \
    "'configuration', k.config, 'config', k.config, "                          \
    "'tags', to_json(k.tags), 'last_tested', rfc3339(k.last_tested_at), "      \
    "'last_tested_at', rfc3339(k.last_tested_at), "                            \
    "'test_status', k.test_status, 'test_message', k.test_message, "           \
    "'created_by', k.created_by, 'created_at', rfc3339(k.created_at), "        \
    "'updated_at', rfc3339(k.updated_at))"

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
    /* $1 login, $2 role; scoped to the inviting admin's tenant. NULL, or
     * the organisation's limit of pending invitations when it is spent. */
    [ST_INVITE] = {"invite", "SELECT auth_invite($1, $2)", false},
    /* $1 user, $2 the hash login verified, $3 the same password hashed at
     * the configured cost (sql/014). */
    [ST_PASSWORD_REHASH] = {"password_rehash",
                            "SELECT auth_password_rehash($1::uuid, $2, $3)",
                            false},
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
    /* $1 plan; scoped to a tenant just made: its subscription, with the
     * plan's quotas copied (sql/014; nothing when it has one). */
    [ST_SUBSCRIPTION_INSERT] = {"subscription_insert",
                                "SELECT plan_code, daily_runs_limit, "
                                "monthly_runs_limit, concurrent_runs_limit "
                                "FROM tenant_subscription_open($1)",
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

    /* --- pipelines (pipelines.c); see pipeline_doc() in 002 ------------- */

    /* A pipeline is addressed by $1 its id (NULL unless a UUID was given)
     * or $2 its slug. */
    [ST_PIPELINE_GET] = {"pipeline_get",
                         "SELECT pipeline_doc(p) FROM pipelines p "
                         "WHERE p.deleted_at IS NULL "
                         "AND (p.id = $1::uuid OR p.slug = $2)",
                         true},
    [ST_PIPELINE_LOCK] = {"pipeline_lock",
                          "SELECT pipeline_doc(p) FROM pipelines p "
                          "WHERE p.deleted_at IS NULL "
                          "AND (p.id = $1::uuid OR p.slug = $2) FOR UPDATE",
                          false},
    [ST_PIPELINE_INSERT] =
        {"pipeline_insert",
         "INSERT INTO pipelines AS p (id, tenant_id, project_id, slug, name, "
         "description, status, nodes, edges, schedule_cron, "
         "schedule_timezone, schedule_enabled, next_run_at, tags, "
         "default_params, data_quality_rules, configuration, created_by) "
         "VALUES ($1::uuid, app_tenant(), $2::uuid, $3, $4, $5, $6, "
         "$7::jsonb, $8::jsonb, $9, $10, $11::boolean, $12::timestamptz, "
         "ARRAY(SELECT jsonb_array_elements_text($13::jsonb)), $14::jsonb, "
         "$15::jsonb, $16::jsonb, app_user()) RETURNING pipeline_doc(p)",
         false},
    [ST_PIPELINE_UPDATE] =
        {"pipeline_update",
         "UPDATE pipelines p SET project_id = $2::uuid, slug = $3, name = $4, "
         "description = $5, status = $6, nodes = $7::jsonb, "
         "edges = $8::jsonb, schedule_cron = $9, schedule_timezone = $10, "
         "schedule_enabled = $11::boolean, next_run_at = $12::timestamptz, "
         "tags = ARRAY(SELECT jsonb_array_elements_text($13::jsonb)), "
         "default_params = $14::jsonb, data_quality_rules = $15::jsonb, "
         "configuration = $16::jsonb, version = p.version + 1, "
         "updated_at = now() WHERE p.id = $1::uuid AND p.deleted_at IS NULL "
         "RETURNING pipeline_doc(p)",
         false},
    /* $2 the new status; $3 true when deploying. */
    [ST_PIPELINE_STATUS] =
        {"pipeline_status",
         "UPDATE pipelines p SET status = $2, updated_at = now(), "
         "deployed_at = CASE WHEN $3::boolean THEN now() "
         "ELSE p.deployed_at END, "
         "deployed_version = CASE WHEN $3::boolean THEN p.version "
         "ELSE p.deployed_version END "
         "WHERE p.id = $1::uuid AND p.deleted_at IS NULL "
         "RETURNING pipeline_doc(p)",
         false},
    /* Soft delete and its audit record, in one statement; $3 the API key
     * acting, if any. */
    [ST_PIPELINE_DELETE] =
        {"pipeline_delete",
         "WITH d AS (UPDATE pipelines SET deleted_at = now(), "
         "deleted_by = app_user() WHERE deleted_at IS NULL "
         "AND (id = $1::uuid OR slug = $2) RETURNING id, name, deleted_at), "
         "a AS (INSERT INTO audit_log (tenant_id, actor_user_id, "
         "actor_key_id, action, entity_type, entity_id, entity_name) "
         "SELECT app_tenant(), app_user(), $3::uuid, 'delete', 'pipeline', "
         "d.id::text, d.name FROM d) "
         "SELECT d.id, rfc3339(d.deleted_at), d.name FROM d",
         false},
    [ST_PIPELINE_LIST] = {"pipeline_list",
                          "SELECT pipeline_doc(p), count(*) OVER () "
                          "FROM pipelines p WHERE " PIPELINE_FILTER
                          " ORDER BY " PIPELINE_ORDER
                          " LIMIT $7::bigint OFFSET $8::bigint",
                          true},
    [ST_PIPELINE_VERSIONS] =
        {"pipeline_versions",
         "SELECT json_build_object('version', v.version, "
         "'name', v.definition->>'name', 'status', v.definition->>'status', "
         "'created_by', v.created_by, 'created_at', rfc3339(v.created_at), "
         "'is_current', v.version = p.version), count(*) OVER () "
         "FROM pipeline_versions v JOIN pipelines p ON p.id = v.pipeline_id "
         "WHERE p.deleted_at IS NULL AND (p.id = $1::uuid OR p.slug = $2) "
         "ORDER BY v.version DESC LIMIT $3::bigint OFFSET $4::bigint",
         true},
    [ST_PIPELINE_VERSION_GET] =
        {"pipeline_version_get",
         "SELECT json_build_object('pipeline_id', p.id, 'version', v.version, "
         "'created_by', v.created_by, 'created_at', rfc3339(v.created_at), "
         "'is_current', v.version = p.version, 'definition', v.definition) "
         "FROM pipeline_versions v JOIN pipelines p ON p.id = v.pipeline_id "
         "WHERE p.deleted_at IS NULL AND (p.id = $1::uuid OR p.slug = $2) "
         "AND v.version = $3::integer",
         true},
    /* Locked: a project being deleted at this moment is waited for, and
     * then found deleted, so that no live pipeline joins a deleted
     * project. */
    [ST_PROJECT_EXISTS] = {"project_exists",
                           "SELECT 1 FROM projects WHERE id = $1::uuid "
                           "AND deleted_at IS NULL FOR SHARE",
                           false},
    /* $1 a PostgreSQL array literal of UUIDs (each checked by the API). */
    [ST_CONNECTORS_KINDS] = {"connectors_kinds",
                             "SELECT id::text, type FROM connectors "
                             "WHERE id = ANY($1::uuid[]) "
                             "AND deleted_at IS NULL",
                             true},

    /* --- projects (projects.c) ------------------------------------------ */

    [ST_PROJECT_INSERT] =
        {"project_insert",
         "INSERT INTO projects AS j (id, tenant_id, name, description, "
         "settings, tags, created_by) VALUES ($1::uuid, app_tenant(), $2, $3, "
         "$4::jsonb, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), "
         "app_user()) RETURNING " PROJECT_DOC,
         false},
    [ST_PROJECT_GET] = {"project_get",
                        "SELECT " PROJECT_DOC " FROM projects j "
                        "WHERE j.id = $1::uuid AND j.deleted_at IS NULL",
                        true},
    [ST_PROJECT_LIST] = {"project_list",
                         "SELECT " PROJECT_DOC ", count(*) OVER () "
                         "FROM projects j WHERE j.deleted_at IS NULL "
                         "AND ($1::text IS NULL OR j.name ILIKE "
                         "'%' || $1 || '%') "
                         "ORDER BY j.created_at DESC, j.id "
                         "LIMIT $2::bigint OFFSET $3::bigint",
                         true},
    /* NULL leaves a member as it is; description "" clears it. */
    [ST_PROJECT_UPDATE] =
        {"project_update",
         "UPDATE projects j SET name = coalesce($2, j.name), "
         "description = CASE WHEN $3::text IS NULL THEN j.description "
         "ELSE nullif($3, '') END, "
         "settings = coalesce($4::jsonb, j.settings), "
         "tags = CASE WHEN $5::jsonb IS NULL THEN j.tags "
         "ELSE ARRAY(SELECT jsonb_array_elements_text($5::jsonb)) END, "
         "updated_at = now() "
         "WHERE j.id = $1::uuid AND j.deleted_at IS NULL "
         "RETURNING " PROJECT_DOC,
         false},
    /* Soft-deletes the project and its pipelines (which remember why),
     * with one audit record each. */
    [ST_PROJECT_DELETE] =
        {"project_delete",
         "WITH j AS (UPDATE projects SET deleted_at = now(), "
         "deleted_by = app_user() WHERE id = $1::uuid AND deleted_at IS NULL "
         "RETURNING id, name, deleted_at), "
         "p AS (UPDATE pipelines SET deleted_at = j.deleted_at, "
         "deleted_by = app_user(), deleted_with = j.id FROM j "
         "WHERE pipelines.project_id = j.id AND pipelines.deleted_at IS NULL "
         "RETURNING pipelines.id, pipelines.name), "
         "a AS (INSERT INTO audit_log (tenant_id, actor_user_id, "
         "actor_key_id, action, entity_type, entity_id, entity_name, details) "
         "SELECT app_tenant(), app_user(), $2::uuid, 'delete', 'project', "
         "j.id::text, j.name, json_build_object('pipelines', "
         "(SELECT count(*) FROM p))::jsonb FROM j "
         "UNION ALL SELECT app_tenant(), app_user(), $2::uuid, 'delete', "
         "'pipeline', p.id::text, p.name, "
         "json_build_object('with_project', (SELECT id FROM j))::jsonb FROM p) "
         "SELECT j.id, rfc3339(j.deleted_at), (SELECT count(*) FROM p) FROM j",
         false},

    /* --- soft delete administration (deletions.c) --------------------------- */

    /* $1 entity type (singular) or NULL, $2/$3 deleted after/before. */
    [ST_DELETED_LIST] =
        {"deleted_list",
         "SELECT json_build_object('entity_type', e.t, 'entity_id', e.id, "
         "'entity_name', e.name, 'deleted_by', e.deleted_by, "
         "'deleted_at', rfc3339(e.deleted_at), 'can_restore', e.can_restore, "
         "'deleted_with_project', e.deleted_with), count(*) OVER () FROM ("
         "SELECT 'project' t, id, name, deleted_by, deleted_at, "
         "true can_restore, NULL::uuid deleted_with FROM projects "
         "WHERE deleted_at IS NOT NULL "
         "UNION ALL SELECT 'pipeline', q.id, q.name, q.deleted_by, "
         "q.deleted_at, NOT EXISTS (SELECT 1 FROM projects j "
         "WHERE j.id = q.project_id AND j.deleted_at IS NOT NULL) "
         "AND NOT EXISTS (SELECT 1 FROM pipelines z WHERE z.tenant_id = "
         "q.tenant_id AND z.slug = q.slug AND z.deleted_at IS NULL), "
         "q.deleted_with FROM pipelines q WHERE q.deleted_at IS NOT NULL "
         "UNION ALL SELECT 'connector', id, name, deleted_by, deleted_at, "
         "false, NULL FROM connectors WHERE deleted_at IS NOT NULL) e "
         "WHERE ($1::text IS NULL OR e.t = $1) "
         "AND ($2::timestamptz IS NULL OR e.deleted_at >= $2::timestamptz) "
         "AND ($3::timestamptz IS NULL OR e.deleted_at < $3::timestamptz) "
         "ORDER BY e.deleted_at DESC, e.id LIMIT $4::bigint OFFSET $5::bigint",
         true},
    [ST_DELETION_STATS] =
        {"deletion_stats",
         "WITH c AS (SELECT "
         "(SELECT count(*) FROM projects WHERE deleted_at IS NOT NULL) pj, "
         "(SELECT count(*) FROM pipelines WHERE deleted_at IS NOT NULL) pp, "
         "(SELECT count(*) FROM connectors WHERE deleted_at IS NOT NULL) pc, "
         "(SELECT min(d) FROM (SELECT min(deleted_at) d FROM projects UNION "
         "ALL "
         "SELECT min(deleted_at) FROM pipelines UNION ALL "
         "SELECT min(deleted_at) FROM connectors) m) oldest, "
         "(SELECT coalesce(sum(pg_column_size(j.*)), 0) FROM projects j "
         "WHERE deleted_at IS NOT NULL) + "
         "(SELECT coalesce(sum(pg_column_size(q.*)), 0) FROM pipelines q "
         "WHERE deleted_at IS NOT NULL) + "
         "(SELECT coalesce(sum(pg_column_size(v.*)), 0) FROM pipeline_versions "
         "v JOIN pipelines q ON q.id = v.pipeline_id "
         "WHERE q.deleted_at IS NOT NULL) + "
         "(SELECT coalesce(sum(pg_column_size(k.*)), 0) FROM connectors k "
         "WHERE deleted_at IS NOT NULL) bytes) "
         "SELECT json_build_object('total_deleted', pj + pp + pc, "
         "'by_type', json_build_object('projects', pj, 'pipelines', pp, "
         "'connectors', pc, 'artifacts', 0, 'runs', 0), "
         "'oldest_deletion', rfc3339(oldest), "
         "'disk_space_recoverable_bytes', bytes, "
         "'disk_space_recoverable_mb', round(bytes / 1048576.0, 3)) FROM c",
         true},
    /* $1 days; $2..$4 whether projects, pipelines, connectors are
     * included; $5 true to purge, false to count. A project's pipelines
     * go with it. */
    [ST_CLEANUP] =
        {"cleanup",
         "WITH cut AS (SELECT now() - $1::integer * interval '1 day' t), "
         "cj AS (SELECT j.id, j.name FROM projects j WHERE $2::boolean "
         "AND j.deleted_at < (SELECT t FROM cut) AND NOT EXISTS (SELECT 1 "
         "FROM pipelines q WHERE q.project_id = j.id "
         "AND q.deleted_at IS NULL)), "
         "cp AS (SELECT q.id, q.name, q.project_id, pg_column_size(q.*) b "
         "FROM pipelines q WHERE q.deleted_at IS NOT NULL "
         "AND (($3::boolean AND q.deleted_at < (SELECT t FROM cut)) "
         "OR q.project_id IN (SELECT id FROM cj))), "
         "cc AS (SELECT id, name FROM connectors WHERE $4::boolean "
         "AND deleted_at < (SELECT t FROM cut)), "
         "dr AS (DELETE FROM runs WHERE $5::boolean "
         "AND pipeline_id IN (SELECT id FROM cp) RETURNING id), "
         "dp AS (DELETE FROM pipelines WHERE $5::boolean "
         "AND id IN (SELECT id FROM cp) RETURNING id), "
         "dj AS (DELETE FROM projects WHERE $5::boolean "
         "AND id IN (SELECT id FROM cj) RETURNING id), "
         "dc AS (DELETE FROM connectors WHERE $5::boolean "
         "AND id IN (SELECT id FROM cc) RETURNING id), "
         "a AS (INSERT INTO audit_log (tenant_id, actor_user_id, "
         "actor_key_id, action, entity_type, entity_id, entity_name, details) "
         "SELECT app_tenant(), app_user(), $6::uuid, 'purge', 'project', "
         "id::text, name, json_build_object('older_than_days', $1::integer)"
         "::jsonb FROM cj WHERE $5::boolean UNION ALL SELECT app_tenant(), "
         "app_user(), $6::uuid, 'purge', 'pipeline', id::text, name, "
         "json_build_object('older_than_days', $1::integer, 'with_project', "
         "project_id)::jsonb FROM cp WHERE $5::boolean "
         "UNION ALL SELECT app_tenant(), app_user(), $6::uuid, 'purge', "
         "'connector', id::text, name, json_build_object('older_than_days', "
         "$1::integer)::jsonb FROM cc WHERE $5::boolean) "
         "SELECT (SELECT count(*) FROM cj), (SELECT count(*) FROM cp), "
         "(SELECT count(*) FROM cc), "
         "round(coalesce((SELECT sum(b) FROM cp), 0) / 1048576.0, 3)",
         false},
    [ST_PROJECT_RESTORE] =
        {"project_restore",
         "WITH j AS (UPDATE projects SET deleted_at = NULL, deleted_by = NULL, "
         "updated_at = now() WHERE id = $1::uuid AND deleted_at IS NOT NULL "
         "RETURNING id, name), "
         "p AS (UPDATE pipelines q SET deleted_at = NULL, deleted_by = NULL, "
         "deleted_with = NULL, updated_at = now() FROM j "
         "WHERE q.deleted_with = j.id AND q.deleted_at IS NOT NULL "
         "AND NOT EXISTS (SELECT 1 FROM pipelines z WHERE z.tenant_id = "
         "q.tenant_id AND z.slug = q.slug AND z.deleted_at IS NULL) "
         "RETURNING q.id, q.name), "
         "a AS (INSERT INTO audit_log (tenant_id, actor_user_id, "
         "actor_key_id, action, entity_type, entity_id, entity_name, details) "
         "SELECT app_tenant(), app_user(), $2::uuid, 'restore', 'project', "
         "j.id::text, j.name, json_build_object('pipelines', "
         "(SELECT count(*) FROM p))::jsonb FROM j "
         "UNION ALL SELECT app_tenant(), app_user(), $2::uuid, 'restore', "
         "'pipeline', p.id::text, p.name, json_build_object('with_project', "
         "$1::uuid)::jsonb FROM p) "
         "SELECT j.id, rfc3339(now()), (SELECT count(*) FROM p) FROM j",
         false},
    [ST_PIPELINE_RESTORE] =
        {"pipeline_restore",
         "WITH p AS (UPDATE pipelines q SET deleted_at = NULL, "
         "deleted_by = NULL, deleted_with = NULL, updated_at = now() "
         "WHERE q.id = $1::uuid AND q.deleted_at IS NOT NULL "
         "AND NOT EXISTS (SELECT 1 FROM projects j WHERE j.id = q.project_id "
         "AND j.deleted_at IS NOT NULL) RETURNING q.id, q.name), "
         "a AS (INSERT INTO audit_log (tenant_id, actor_user_id, "
         "actor_key_id, action, entity_type, entity_id, entity_name) "
         "SELECT app_tenant(), app_user(), $2::uuid, 'restore', 'pipeline', "
         "p.id::text, p.name FROM p) "
         "SELECT p.id, rfc3339(now()), (SELECT count(*) FROM pipeline_versions "
         "v WHERE v.pipeline_id = $1::uuid) FROM p",
         false},
    /* Why a pipeline could not be restored: deleted at all? its project? */
    [ST_PIPELINE_DELETED_STATE] =
        {"pipeline_deleted_state",
         "SELECT q.deleted_at IS NOT NULL, q.project_id, "
         "(SELECT j.deleted_at IS NOT NULL FROM projects j "
         "WHERE j.id = q.project_id) FROM pipelines q WHERE q.id = $1::uuid",
         true},
    /* A project for good, with its pipelines, each audited. */
    [ST_PROJECT_PURGE] =
        {"project_purge",
         "WITH c AS (SELECT coalesce(sum(pg_column_size(q.*)), 0) b "
         "FROM pipelines q WHERE q.project_id = $1::uuid), "
         "x AS (DELETE FROM runs WHERE pipeline_id IN (SELECT id FROM "
         "pipelines WHERE project_id = $1::uuid) RETURNING id), "
         "p AS (DELETE FROM pipelines WHERE project_id = $1::uuid "
         "RETURNING id, name), "
         "j AS (DELETE FROM projects WHERE id = $1::uuid RETURNING id, name), "
         "a AS (INSERT INTO audit_log (tenant_id, actor_user_id, "
         "actor_key_id, action, entity_type, entity_id, entity_name, details) "
         "SELECT app_tenant(), app_user(), $2::uuid, 'purge', 'project', "
         "j.id::text, j.name, json_build_object('pipelines', "
         "(SELECT count(*) FROM p))::jsonb FROM j "
         "UNION ALL SELECT app_tenant(), app_user(), $2::uuid, 'purge', "
         "'pipeline', p.id::text, p.name, json_build_object('with_project', "
         "$1::uuid)::jsonb FROM p WHERE EXISTS (SELECT 1 FROM j)) "
         "SELECT j.id, (SELECT count(*) FROM p), round((SELECT b FROM c) / "
         "1048576.0, 3), (SELECT count(*) FROM x) FROM j",
         false},
    /* --- connectors (connectors.c) -------------------------------------- */

    [ST_CONNECTOR_INSERT] =
        {"connector_insert",
         "INSERT INTO connectors AS k (id, tenant_id, name, type, description, "
         "config, secret, tags, created_by) VALUES ($1::uuid, app_tenant(), "
         "$2, $3, $4, $5::jsonb, $6, "
         "ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), app_user()) "
         "RETURNING " CONNECTOR_DOC,
         false},
    [ST_CONNECTOR_GET] = {"connector_get",
                          "SELECT " CONNECTOR_DOC " FROM connectors k "
                          "WHERE k.id = $1::uuid AND k.deleted_at IS NULL",
                          true},
    /* Type, settings, sealed secrets and name, for test, schema, update. */
    [ST_CONNECTOR_LOCK] = {"connector_lock",
                           "SELECT type, config, secret, name FROM connectors "
                           "WHERE id = $1::uuid AND deleted_at IS NULL "
                           "FOR UPDATE",
                           false},
    [ST_CONNECTOR_LIST] = {"connector_list",
                           "SELECT " CONNECTOR_DOC ", count(*) OVER () "
                           "FROM connectors k WHERE k.deleted_at IS NULL "
                           "AND ($1::text IS NULL OR k.type = $1) "
                           "ORDER BY k.created_at DESC, k.id "
                           "LIMIT $2::bigint OFFSET $3::bigint",
                           true},
    /* NULL leaves a member as it is; description "" clears it. */
    [ST_CONNECTOR_UPDATE] =
        {"connector_update",
         "UPDATE connectors k SET name = coalesce($2, k.name), "
         "description = CASE WHEN $3::text IS NULL THEN k.description "
         "ELSE nullif($3, '') END, config = $4::jsonb, secret = $5, "
         "tags = CASE WHEN $6::jsonb IS NULL THEN k.tags "
         "ELSE ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) END, "
         "status = coalesce($7, k.status), updated_at = now() "
         "WHERE k.id = $1::uuid AND k.deleted_at IS NULL "
         "RETURNING " CONNECTOR_DOC,
         false},
    [ST_CONNECTOR_DELETE] =
        {"connector_delete",
         "WITH d AS (UPDATE connectors SET deleted_at = now(), "
         "deleted_by = app_user() WHERE id = $1::uuid AND deleted_at IS NULL "
         "RETURNING id, name, deleted_at), "
         "a AS (INSERT INTO audit_log (tenant_id, actor_user_id, "
         "actor_key_id, action, entity_type, entity_id, entity_name) "
         "SELECT app_tenant(), app_user(), $2::uuid, 'delete', 'connector', "
         "d.id::text, d.name FROM d) "
         "SELECT d.id, rfc3339(d.deleted_at) FROM d",
         false},
    [ST_CONNECTOR_TESTED] = {"connector_tested",
                             "UPDATE connectors SET last_tested_at = now(), "
                             "test_status = $2, test_message = $3 "
                             "WHERE id = $1::uuid",
                             false},
    /* The postgresql connectors, as catalogs. */
    [ST_CONNECTOR_CATALOGS] = {"connector_catalogs",
                               "SELECT id, name, rfc3339(created_at) "
                               "FROM connectors WHERE deleted_at IS NULL "
                               "AND type = 'postgresql' "
                               "AND ($1::text IS NULL OR name = $1 "
                               "OR id::text = lower($1)) "
                               "ORDER BY created_at, id LIMIT 1000",
                               true},
    /* --- runs (runs.c); see run_view() in 015, over run_doc() in 003 ---- */

    [ST_PIPELINE_ID] = {"pipeline_id",
                        "SELECT id FROM pipelines WHERE deleted_at IS NULL "
                        "AND (id = $1::uuid OR slug = $2)",
                        true},
    /* The pipeline a run is started for, held against a concurrent
     * delete until the run is written. */
    [ST_RUN_PIPELINE] = {"run_pipeline",
                         "SELECT id, version, status, default_params "
                         "FROM pipelines WHERE deleted_at IS NULL "
                         "AND (id = $1::uuid OR slug = $2) FOR SHARE",
                         false},
    [ST_RUN_BY_KEY] = {"run_by_key",
                       "SELECT run_view(r), r.pipeline_id FROM runs r "
                       "WHERE r.idempotency_key = $1",
                       false},
    /* The run and its request in the outbox (sql/009_scheduler_fire.sql,
     * shared with the scheduler), with $10 the API key or $11 the user
     * that started it (sql/015_run_callers.sql); and the body of its
     * pipeline.queued event, outbox row $1 (sql/020_run_queued.sql). */
    [ST_RUN_INSERT] =
        {"run_insert",
         "SELECT run_view(x), run_queued_event(x)::text "
         "FROM run_request_by($1::uuid, $2::uuid, $3::integer, $4, "
         "$5, $6::jsonb, $7::uuid, $8, $9::uuid, $10, $11::uuid) x",
         false},
    [ST_OUTBOX_SENT] = {"outbox_sent",
                        "UPDATE outbox SET sent_at = now() "
                        "WHERE id = $1::uuid AND sent_at IS NULL",
                        false},
    /* Across organisations (sql/013_relay.sql), for /health/detailed. */
    [ST_OUTBOX_STATS] = {"outbox_stats",
                         "SELECT unsent, retrying, parked, lag_seconds "
                         "FROM outbox_stats()",
                         true},
    /* $2 the pipeline, when the path names one. */
    [ST_RUN_GET] = {"run_get",
                    "SELECT run_view(r) FROM runs r WHERE r.id = $1::uuid "
                    "AND ($2::uuid IS NULL OR r.pipeline_id = $2::uuid)",
                    true},
    /* A WebSocket handshake's pipeline ($1 id or $2 slug) or run $1
     * (live.c), in the caller's organisation. */
    [ST_WS_PIPELINE] = {"ws_pipeline",
                        "SELECT id FROM pipelines WHERE deleted_at IS NULL "
                        "AND (id = $1::uuid OR slug = $2)",
                        true},
    [ST_WS_RUN] = {"ws_run", "SELECT id FROM runs WHERE id = $1::uuid", true},
    /* $1 pipeline, $2 status, $3 trigger type, $4/$5 created from/to. */
    [ST_RUN_LIST] =
        {"run_list",
         "SELECT run_view(r), count(*) OVER () FROM runs r "
         "WHERE ($1::uuid IS NULL OR r.pipeline_id = $1::uuid) "
         "AND ($2::text IS NULL OR r.status = $2) "
         "AND ($3::text IS NULL OR r.trigger_type = $3) "
         "AND ($4::timestamptz IS NULL OR r.created_at >= $4::timestamptz) "
         "AND ($5::timestamptz IS NULL OR r.created_at < $5::timestamptz) "
         "ORDER BY r.created_at DESC, r.id LIMIT $6::bigint OFFSET $7::bigint",
         true},
    [ST_RUN_LOCK] = {"run_lock",
                     "SELECT r.status, r.pipeline_id, r.input_params, "
                     "r.cancel_requested FROM runs r WHERE r.id = $1::uuid "
                     "AND ($2::uuid IS NULL OR r.pipeline_id = $2::uuid) "
                     "FOR UPDATE",
                     false},
    /* A pending run is cancelled at once; a running one is asked to stop
     * (its runner sees cancel_requested, and the signal). */
    /* A pending run is cancelled here, and its pipeline.cancelled event
     * goes into the outbox; a running one is its runner's to stop. */
    [ST_RUN_CANCEL] =
        {"run_cancel",
         "WITH o AS (SELECT id, status AS was FROM runs "
         "WHERE id = $1::uuid FOR UPDATE), "
         "c AS (UPDATE runs r SET cancel_requested = true, "
         "status = CASE WHEN r.status = 'pending' THEN 'cancelled' "
         "ELSE r.status END, "
         "cancelled_at = CASE WHEN r.status = 'pending' THEN now() "
         "ELSE r.cancelled_at END, "
         "completed_at = CASE WHEN r.status = 'pending' THEN now() "
         "ELSE r.completed_at END "
         "FROM o WHERE r.id = o.id RETURNING r, o.was), "
         "e AS (INSERT INTO outbox (id, tenant_id, subject, payload) "
         "SELECT gen_random_uuid(), (c.r).tenant_id, 'sluice.event.' || "
         "(c.r).tenant_id || '.pipeline.cancelled', "
         "run_event(c.r, 'pipeline.cancelled') FROM c WHERE c.was = 'pending') "
         "SELECT run_view(c.r) FROM c",
         false},
    /* $2 the pipeline, when the path names one. */
    [ST_RUN_EXISTS] = {"run_exists",
                       "SELECT 1 FROM runs r WHERE r.id = $1::uuid "
                       "AND ($2::uuid IS NULL OR r.pipeline_id = $2::uuid)",
                       true},
    /* A run's status alone, for waiting on its runner: one indexed row. */
    [ST_RUN_STATUS] = {"run_status",
                       "SELECT status FROM runs WHERE id = $1::uuid", true},
    /* A run's log (007), oldest first; $2 a level, $3 a node. */
    [ST_RUN_LOGS] =
        {"run_logs",
         "SELECT json_build_object('timestamp', rfc3339(l.ts), "
         "'level', l.level, 'node_id', l.node_id, 'message', l.message, "
         "'metadata', l.metadata), count(*) OVER () FROM run_logs l "
         "WHERE l.run_id = $1::uuid AND ($2::text IS NULL OR l.level = $2) "
         "AND ($3::text IS NULL OR l.node_id = $3) "
         "ORDER BY l.id LIMIT $4::bigint OFFSET $5::bigint",
         true},
    /* What each node of a run used (seed 004), in the nodes' order:
     * memory in MB, CPU time as a share of the node's wall time (null
     * when either is unknown). The totals sum the nodes' rows; their
     * duration is the run's, as run_doc() gives it. */
    [ST_RUN_METRICS] =
        {"run_metrics",
         "SELECT json_build_object('execution_id', r.id, 'run_id', r.id, "
         "'status', r.status, 'nodes', coalesce(n.nodes, '[]'), "
         "'totals', json_build_object("
         "'rows_input', coalesce(n.rows_input, 0), "
         "'rows_output', coalesce(n.rows_output, 0), "
         "'duration_seconds', round(extract(epoch FROM coalesce("
         "r.completed_at, r.cancelled_at, now()) - r.started_at), 3))) "
         "FROM runs r CROSS JOIN LATERAL (SELECT json_agg(json_build_object("
         "'node_id', s.node_id, 'module', s.module, 'status', s.status, "
         "'rows_input', s.rows_input, 'rows_output', s.rows_output, "
         "'rows_filtered', s.rows_filtered, "
         "'duration_seconds', round(w.secs, 3), "
         "'memory_peak_mb', round(s.memory_peak_kb / 1024.0, 1), "
         "'cpu_percent', CASE WHEN w.secs > 0 "
         "THEN round(s.cpu_ms / (w.secs * 1000) * 100, 1) END) "
         "ORDER BY s.position) AS nodes, sum(s.rows_input) AS rows_input, "
         "sum(s.rows_output) AS rows_output FROM run_steps s "
         "CROSS JOIN LATERAL (SELECT extract(epoch FROM s.completed_at - "
         "s.started_at) AS secs) w WHERE s.run_id = r.id) n "
         "WHERE r.id = $1::uuid "
         "AND ($2::uuid IS NULL OR r.pipeline_id = $2::uuid)",
         true},
    /* Whether the organisation's plan lets one more run start, and if
     * not, which quota is spent (sql/009_scheduler_fire.sql, shared with
     * the scheduler). Locks the subscription row until the transaction
     * ends, so that concurrent starts are counted. */
    [ST_RUN_QUOTA] = {"run_quota",
                      "SELECT spent, subscription_status, current_usage, "
                      "quota_limit, reset_at FROM run_quota_check()",
                      false},
    /* --- the scheduler (lib/sched.h) ------------------------------------ */

    [ST_SCHED_DUE] = {"sched_due", SL_SCHED_SQL_DUE, true},
    [ST_SCHED_FIRE] = {"sched_fire", SL_SCHED_SQL_FIRE, false},
    [ST_SCHED_DISABLE] = {"sched_disable", SL_SCHED_SQL_DISABLE, false},
    [ST_SCHED_QUEUED] = {"sched_queued", SL_SCHED_SQL_QUEUED, true},

    /* --- triggers (triggers.c) ------------------------------------------ */

    [ST_TRIGGER_INSERT] =
        {"trigger_insert",
         "INSERT INTO triggers AS g (id, tenant_id, pipeline_id, name, "
         "trigger_type, cron, timezone, parameters, enabled, next_run_at, "
         "created_by) SELECT $1::uuid, app_tenant(), p.id, $4, $5, $6, $7, "
         "$8::jsonb, $9::boolean, $10::timestamptz, app_user() "
         "FROM pipelines p WHERE p.deleted_at IS NULL "
         "AND (p.id = $2::uuid OR p.slug = $3) RETURNING " TRIGGER_DOC,
         false},
    [ST_TRIGGER_LIST] = {"trigger_list",
                         "SELECT " TRIGGER_DOC ", count(*) OVER () "
                         "FROM triggers g JOIN pipelines p "
                         "ON p.id = g.pipeline_id AND p.deleted_at IS NULL "
                         "WHERE ($1::uuid IS NULL OR g.pipeline_id = $1::uuid) "
                         "ORDER BY g.created_at DESC, g.id "
                         "LIMIT $2::bigint OFFSET $3::bigint",
                         true},
    [ST_TRIGGER_DELETE] = {"trigger_delete",
                           "DELETE FROM triggers WHERE id = $1::uuid "
                           "RETURNING id",
                           false},
    [ST_AUDIT_LIST] =
        {"audit_list",
         "SELECT json_build_object('id', id, 'action', action, "
         "'entity_type', entity_type, 'entity_id', entity_id, "
         "'entity_name', entity_name, 'actor_user_id', actor_user_id, "
         "'actor_key_id', actor_key_id, 'details', details, "
         "'created_at', rfc3339(created_at)), count(*) OVER () "
         "FROM audit_log WHERE ($1::text IS NULL OR entity_type = $1) "
         "AND ($2::text IS NULL OR entity_id = $2) "
         "ORDER BY created_at DESC, id LIMIT $3::bigint OFFSET $4::bigint",
         true},
    /* --- webhooks and notifications (webhooks.c, notifications.c; the
     * *_doc() functions are sql/022_webhooks_api.sql's) ----------------- */

    [ST_WEBHOOK_INSERT] =
        {"webhook_insert",
         "INSERT INTO webhooks AS w (id, tenant_id, url, events, description, "
         "secret, enabled, created_by) VALUES ($1::uuid, app_tenant(), $2, "
         "ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4, $5, "
         "coalesce($6::boolean, true), app_user()) RETURNING webhook_doc(w)",
         false},
    [ST_WEBHOOK_GET] = {"webhook_get",
                        "SELECT webhook_doc(w) FROM webhooks w "
                        "WHERE w.id = $1::uuid",
                        true},
    [ST_WEBHOOK_LIST] = {"webhook_list",
                         "SELECT webhook_doc(w), count(*) OVER () "
                         "FROM webhooks w "
                         "ORDER BY w.created_at DESC, w.id "
                         "LIMIT $1::bigint OFFSET $2::bigint",
                         true},
    /* NULL leaves a member as it is; $5 true sets the description to $4
     * (NULL or "" clears it). Enabling clears the hub's disabled_reason. */
    [ST_WEBHOOK_UPDATE] =
        {"webhook_update",
         "UPDATE webhooks w SET url = coalesce($2, w.url), "
         "events = CASE WHEN $3::jsonb IS NULL THEN w.events "
         "ELSE ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) END, "
         "description = CASE WHEN $5::boolean THEN nullif($4, '') "
         "ELSE w.description END, "
         "enabled = coalesce($6::boolean, w.enabled), "
         "disabled_reason = CASE WHEN $6::boolean THEN NULL "
         "ELSE w.disabled_reason END, updated_at = now() "
         "WHERE w.id = $1::uuid RETURNING webhook_doc(w)",
         false},
    [ST_WEBHOOK_DELETE] = {"webhook_delete",
                           "DELETE FROM webhooks WHERE id = $1::uuid "
                           "RETURNING id",
                           false},
    /* The current secret becomes the previous one for 24 hours (both
     * sign meanwhile); a previous one still overlapping is dropped. */
    [ST_WEBHOOK_ROTATE] =
        {"webhook_rotate",
         "UPDATE webhooks w SET secret_previous = w.secret, "
         "secret_previous_until = now() + interval '24 hours', secret = $2, "
         "updated_at = now() WHERE w.id = $1::uuid RETURNING webhook_doc(w)",
         false},
    [ST_WEBHOOK_EXISTS] = {"webhook_exists",
                           "SELECT 1 FROM webhooks WHERE id = $1::uuid", true},
    /* A delivery due now: $4 a webhook or $5 a channel. */
    [ST_DELIVERY_INSERT] =
        {"delivery_insert",
         "INSERT INTO deliveries AS d (id, tenant_id, event_id, event_type, "
         "webhook_id, channel_id, msg_id, body) VALUES ($1::uuid, "
         "app_tenant(), $2, $3, $4::uuid, $5::uuid, $6, $7) "
         "RETURNING delivery_doc(d)",
         false},
    [ST_DELIVERY_LIST] =
        {"delivery_list",
         "SELECT delivery_doc(d), count(*) OVER () FROM deliveries d "
         "WHERE d.webhook_id = $1::uuid AND ($2::text IS NULL OR "
         "d.status = $2) ORDER BY d.created_at DESC, d.id DESC "
         "LIMIT $3::bigint OFFSET $4::bigint",
         true},
    [ST_DELIVERY_GET] = {"delivery_get",
                         "SELECT delivery_doc_full(d) FROM deliveries d "
                         "WHERE d.id = $1::uuid AND d.webhook_id = $2::uuid",
                         true},
    /* Due again at once, under the same msg_id. */
    [ST_DELIVERY_REDELIVER] =
        {"delivery_redeliver",
         "UPDATE deliveries d SET status = 'pending', next_attempt_at = now(), "
         "updated_at = now() WHERE d.id = $1::uuid AND d.webhook_id = $2::uuid "
         "RETURNING delivery_doc(d)",
         false},
    [ST_CHANNEL_INSERT] =
        {"channel_insert",
         "INSERT INTO notification_channels AS c (id, tenant_id, name, type, "
         "configuration, secret, enabled, created_by) VALUES ($1::uuid, "
         "app_tenant(), $2, $3, $4::jsonb, $5, coalesce($6::boolean, true), "
         "app_user()) RETURNING channel_doc(c)",
         false},
    [ST_CHANNEL_GET] = {"channel_get",
                        "SELECT channel_doc(c) FROM notification_channels c "
                        "WHERE c.id = $1::uuid",
                        true},
    /* A channel's parts, held for a change or a send. */
    [ST_CHANNEL_LOCK] = {"channel_lock",
                         "SELECT type, configuration::text, secret, enabled, "
                         "name FROM notification_channels "
                         "WHERE id = $1::uuid FOR UPDATE",
                         false},
    [ST_CHANNEL_LIST] = {"channel_list",
                         "SELECT channel_doc(c), count(*) OVER () "
                         "FROM notification_channels c "
                         "ORDER BY c.created_at DESC, c.id "
                         "LIMIT $1::bigint OFFSET $2::bigint",
                         true},
    /* NULL leaves a member as it is. */
    [ST_CHANNEL_UPDATE] =
        {"channel_update",
         "UPDATE notification_channels c SET name = coalesce($2, c.name), "
         "configuration = coalesce($3::jsonb, c.configuration), "
         "secret = coalesce($4, c.secret), "
         "enabled = coalesce($5::boolean, c.enabled), updated_at = now() "
         "WHERE c.id = $1::uuid RETURNING channel_doc(c)",
         false},
    /* Refused (no row, $2 the rules that use it) while an alert rule
     * sends to it. */
    [ST_CHANNEL_DELETE] =
        {"channel_delete",
         "WITH u AS (SELECT coalesce(json_agg(a.id ORDER BY a.id), '[]') "
         "AS rules FROM alert_rules a WHERE $1::uuid = ANY (a.channels)), "
         "d AS (DELETE FROM notification_channels c USING u "
         "WHERE c.id = $1::uuid AND json_array_length(u.rules) = 0 "
         "RETURNING c.id) "
         "SELECT (SELECT id FROM d), u.rules::text, "
         "EXISTS (SELECT FROM notification_channels WHERE id = $1::uuid) "
         "FROM u",
         false},
    /* Which of the ids (a JSON array of UUIDs) name no channel. */
    [ST_CHANNELS_MISSING] =
        {"channels_missing",
         "SELECT coalesce(json_agg(x.id ORDER BY x.n), '[]')::text "
         "FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY "
         "AS x(id, n) WHERE NOT EXISTS (SELECT FROM notification_channels c "
         "WHERE c.id = x.id::uuid)",
         true},
    [ST_ALERT_INSERT] =
        {"alert_insert",
         "INSERT INTO alert_rules AS a (id, tenant_id, name, description, "
         "condition, channels, template, enabled, created_by) VALUES "
         "($1::uuid, app_tenant(), $2, $3, $4::jsonb, "
         "ARRAY(SELECT jsonb_array_elements_text($5::jsonb))::uuid[], "
         "$6::jsonb, coalesce($7::boolean, true), app_user()) "
         "RETURNING alert_doc(a)",
         false},
    [ST_ALERT_GET] = {"alert_get",
                      "SELECT alert_doc(a) FROM alert_rules a "
                      "WHERE a.id = $1::uuid",
                      true},
    [ST_ALERT_LIST] = {"alert_list",
                       "SELECT alert_doc(a), count(*) OVER () "
                       "FROM alert_rules a "
                       "ORDER BY a.created_at DESC, a.id "
                       "LIMIT $1::bigint OFFSET $2::bigint",
                       true},
    /* NULL leaves a member as it is; $8 true sets the description to $3. */
    [ST_ALERT_UPDATE] =
        {"alert_update",
         "UPDATE alert_rules a SET name = coalesce($2, a.name), "
         "description = CASE WHEN $8::boolean THEN nullif($3, '') "
         "ELSE a.description END, "
         "condition = coalesce($4::jsonb, a.condition), "
         "channels = CASE WHEN $5::jsonb IS NULL THEN a.channels ELSE "
         "ARRAY(SELECT jsonb_array_elements_text($5::jsonb))::uuid[] END, "
         "template = coalesce($6::jsonb, a.template), "
         "enabled = coalesce($7::boolean, a.enabled), updated_at = now() "
         "WHERE a.id = $1::uuid RETURNING alert_doc(a)",
         false},
    [ST_ALERT_DELETE] = {"alert_delete",
                         "DELETE FROM alert_rules WHERE id = $1::uuid "
                         "RETURNING id",
                         false},
    /* An event of the API's own (pipeline.created...) on its way to the
     * events stream, in the transaction of the change it reports. */
    [ST_OUTBOX_EVENT] = {"outbox_event",
                         "INSERT INTO outbox (id, tenant_id, subject, payload) "
                         "VALUES ($1::uuid, app_tenant(), $2, $3::jsonb)",
                         false},
    /* --- lineage (lineage.c; the functions are sql/025_lineage.sql's) -- */
    /* $1 the event's new id, $2 the event, checked (lib/lineage.c). */
    [ST_LINEAGE_INGEST] = {"lineage_ingest",
                           "SELECT event_id, duplicate, rfc3339(recorded_at) "
                           "FROM lineage_ingest($1::uuid, $2::jsonb)",
                           false},
    /* $1 namespace or NULL, $2 name, $3 runs at most. */
    [ST_LINEAGE_DATASET] = {"lineage_dataset",
                            "SELECT lineage_dataset_doc($1, $2, $3::int)",
                            true},
    /* $1 namespace, $2 dataset (either may be NULL), $3 depth, $4 nodes
     * at most. */
    [ST_LINEAGE_GRAPH] = {"lineage_graph",
                          "SELECT lineage_graph($1, $2, $3::int, $4::int)",
                          true},
    /* $1 namespace or NULL, $2 dataset, $3 field or NULL. */
    [ST_LINEAGE_COLUMNS] = {"lineage_columns",
                            "SELECT lineage_columns_doc($1, $2, $3)", true},
};
