-- 001_init.sql: identity and tenancy.
--
-- Applied by sluice-migrate as the owner role (sluice_owner), which owns
-- every table. The application connects as sluice_app: it owns nothing,
-- cannot bypass row-level security, and gets only the privileges granted
-- here. Every request's transaction sets app.tenant_id and app.user_id
-- with set_config(..., true); the policies below read them through
-- app_tenant() and app_user().
--
-- Tenancy rules, in words:
--   * a tenant-owned row is visible and writable only when its tenant_id
--     is the transaction's tenant;
--   * a user's own rows (sessions, refresh tokens, revoked access tokens,
--     the user row itself, the user's memberships) are visible to that
--     user in any organisation;
--   * a user row is readable by an organisation the user belongs to.
-- A handler that forgets a WHERE clause therefore still cannot show one
-- tenant another's rows.

-- The current transaction's tenant and user, NULL when unset.
CREATE FUNCTION app_tenant() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '') $$;

CREATE FUNCTION app_user() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

-- Times as the API writes them: RFC 3339, UTC, 'Z'.
CREATE FUNCTION rfc3339(timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- Organisations and tenants are one thing (seed 003's tenant_id).
CREATE TABLE tenants (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9_]{3,50}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 2000),
    admin_email text CHECK (length(admin_email) <= 254),
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Subscription plans (seed 003) and their quotas. Reference data.
CREATE TABLE plans (
    code            text PRIMARY KEY,
    daily_runs      integer NOT NULL CHECK (daily_runs > 0),
    monthly_runs    integer NOT NULL CHECK (monthly_runs > 0),
    concurrent_runs integer NOT NULL CHECK (concurrent_runs > 0)
);
INSERT INTO plans VALUES
    ('STARTER', 6, 180, 1),
    ('PROFESSIONAL', 25, 750, 3),
    ('SCALE', 100, 3000, 10);

-- A tenant's plan, with its quotas copied so that a plan change later does
-- not silently change what a tenant signed up for.
CREATE TABLE tenant_subscriptions (
    tenant_id             text PRIMARY KEY
                          REFERENCES tenants (id) ON DELETE CASCADE,
    plan_code             text NOT NULL REFERENCES plans (code),
    status                text NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'suspended', 'cancelled')),
    daily_runs_limit      integer NOT NULL,
    monthly_runs_limit    integer NOT NULL,
    concurrent_runs_limit integer NOT NULL,
    started_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- People. A user may belong to several organisations (memberships).
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.-]{3,50}$'),
    email         text NOT NULL CHECK (length(email) <= 254 AND email LIKE '%@%'),
    full_name     text CHECK (length(full_name) <= 200),
    password_hash text NOT NULL,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A user's place in an organisation. A membership made by an organisation
-- admin for an existing account is an invitation: inactive, accepted_at
-- NULL, until the account's owner logs in to that organisation.
CREATE TABLE memberships (
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL
                CHECK (role IN ('viewer', 'analyst', 'engineer', 'architect',
                                'admin')),
    is_active   boolean NOT NULL DEFAULT true,
    accepted_at timestamptz DEFAULT now(),
    invited_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    CHECK (accepted_at IS NOT NULL OR NOT is_active)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- A login session: the family of refresh tokens rotated from one login.
-- Revoking it ends every access and refresh token of that login.
CREATE TABLE sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Refresh tokens, stored as SHA-256 of the opaque token; single use.
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Access tokens revoked before their expiry (logout), by jti.
CREATE TABLE revoked_tokens (
    jti        uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

-- Tenant API keys (seed 003): sk_<tenant>_<32 random>, stored as SHA-256.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    key_prefix   text NOT NULL,
    description  text CHECK (length(description) <= 500),
    role         text NOT NULL DEFAULT 'admin'
                 CHECK (role IN ('viewer', 'analyst', 'engineer', 'architect',
                                 'admin')),
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

-- Row-level security -------------------------------------------------------

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenants_own ON tenants
    USING (id = app_tenant());
CREATE POLICY tenants_member_read ON tenants FOR SELECT
    USING (EXISTS (SELECT 1 FROM memberships m
                   WHERE m.tenant_id = tenants.id AND m.user_id = app_user()));

ALTER TABLE tenant_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_subscriptions_own ON tenant_subscriptions
    USING (tenant_id = app_tenant());

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_self ON users
    USING (id = app_user());
-- An organisation sees the accounts that joined it (an invitation not yet
-- accepted shows nothing of the invited account).
CREATE POLICY users_org_read ON users FOR SELECT
    USING (EXISTS (SELECT 1 FROM memberships m
                   WHERE m.user_id = users.id AND m.tenant_id = app_tenant()
                   AND m.accepted_at IS NOT NULL));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON memberships
    USING (tenant_id = app_tenant());
CREATE POLICY memberships_self_read ON memberships FOR SELECT
    USING (user_id = app_user());

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_self ON sessions
    USING (user_id = app_user());

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_self ON refresh_tokens
    USING (user_id = app_user());

ALTER TABLE revoked_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY revoked_tokens_self ON revoked_tokens
    USING (user_id = app_user());

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_keys_own ON api_keys
    USING (tenant_id = app_tenant());

-- The few look-ups that must cross tenants before a tenant is known. Each
-- is SECURITY DEFINER (it runs as the owner, which RLS does not restrict),
-- answers one narrow question, and is callable only by the application.

-- Login: which user does this username or e-mail name?
CREATE FUNCTION auth_login_lookup(p_login text)
    RETURNS TABLE (user_id uuid, password_hash text, is_active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT id, password_hash, is_active FROM users
        WHERE lower(username) = lower(p_login) OR lower(email) = lower(p_login)
        LIMIT 1
    $$;

-- Refresh: whose refresh token is this (by hash)?
CREATE FUNCTION auth_refresh_owner(p_hash text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT user_id FROM refresh_tokens WHERE token_hash = p_hash $$;

-- Key revocation by hash (X-Admin-Key): which tenant owns this key?
CREATE FUNCTION auth_api_key_tenant(p_hash text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT tenant_id FROM api_keys WHERE key_hash = p_hash $$;

-- Invitation by an organisation admin: invites the active account named
-- by p_login into the transaction's tenant. It answers nothing, so that
-- the inviter learns nothing about the account, not even whether it
-- exists; an account holds at most 50 pending invitations.
CREATE FUNCTION auth_invite(p_login text, p_role text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        v_tenant text := app_tenant();
        v_user uuid;
    BEGIN
        IF v_tenant IS NULL THEN
            RAISE EXCEPTION 'auth_invite needs a tenant' USING ERRCODE = '42501';
        END IF;
        SELECT id INTO v_user FROM users
        WHERE (lower(username) = lower(p_login) OR lower(email) = lower(p_login))
          AND is_active;
        IF v_user IS NULL OR (SELECT count(*) FROM memberships
                              WHERE user_id = v_user AND accepted_at IS NULL) >= 50 THEN
            RETURN;
        END IF;
        INSERT INTO memberships (tenant_id, user_id, role, is_active, accepted_at,
                                 invited_by)
        VALUES (v_tenant, v_user, p_role, false, NULL, app_user())
        ON CONFLICT (tenant_id, user_id) DO NOTHING;
    END
    $$;

REVOKE ALL ON FUNCTION auth_login_lookup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_invite(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_refresh_owner(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_api_key_tenant(text) FROM PUBLIC;

-- Privileges of the application role ---------------------------------------

GRANT USAGE ON SCHEMA public TO sluice_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    tenants, tenant_subscriptions, users, memberships, sessions,
    refresh_tokens, revoked_tokens, api_keys
    TO sluice_app;
GRANT SELECT ON plans, schema_migrations TO sluice_app;
GRANT EXECUTE ON FUNCTION
    app_tenant(), app_user(), rfc3339(timestamptz), auth_login_lookup(text),
    auth_refresh_owner(text), auth_api_key_tenant(text), auth_invite(text, text)
    TO sluice_app;
