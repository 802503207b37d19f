-- 014_defence_in_depth.sql: row-level security and privileges narrowed to
-- what the application does, so that a handler's bug, or a statement run
-- directly as sluice_app under a tenant's scope, can do no more.
--
--   * memberships: a tenant reads its own, an organisation admin changes
--     only accepted ones, a new membership is only ever a brand-new
--     account's own (registration, an admin creating an account), and
--     invitations go through auth_invite(), whose limit is per inviting
--     organisation;
--   * users.password_hash: neither read nor written by sluice_app except
--     through auth_login_lookup() (001) and auth_password_rehash() here;
--   * tenant_subscriptions: read-only under a tenant's scope; a
--     subscription is written once, when its organisation is made, by
--     tenant_subscription_open();
--   * outbox: a row's subject and payload name its own tenant (a CHECK);
--   * foreign keys between tenant-owned rows include tenant_id, so that no
--     row can point at another tenant's parent.

-- Memberships ---------------------------------------------------------------

DROP POLICY memberships_tenant ON memberships;
CREATE POLICY memberships_tenant_read ON memberships FOR SELECT
    USING (tenant_id = app_tenant());
-- Only an account made in this very transaction (created_at is the
-- transaction's now()) may be given a membership directly, and only by
-- acting as that account: a tenant cannot pull in an existing account.
CREATE POLICY memberships_new_account ON memberships FOR INSERT
    WITH CHECK (tenant_id = app_tenant() AND user_id = app_user()
                AND EXISTS (SELECT 1 FROM users u
                            WHERE u.id = memberships.user_id
                              AND u.created_at = now()));
-- An organisation changes the memberships that were accepted, and keeps
-- them accepted; an invitation is the invited account's to accept.
CREATE POLICY memberships_tenant_update ON memberships FOR UPDATE
    USING (tenant_id = app_tenant() AND accepted_at IS NOT NULL)
    WITH CHECK (tenant_id = app_tenant() AND accepted_at IS NOT NULL);
CREATE POLICY memberships_self_accept ON memberships FOR UPDATE
    USING (tenant_id = app_tenant() AND user_id = app_user())
    WITH CHECK (tenant_id = app_tenant() AND user_id = app_user()
                AND accepted_at IS NOT NULL);
-- Nothing is erased: a membership is deactivated.
REVOKE DELETE ON memberships FROM sluice_app;

-- How many invitations less than 30 days old an organisation may have
-- pending at once.
CREATE FUNCTION auth_invite_max_pending() RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 100 $$;

-- Invitation by an organisation admin: invites the active account named
-- by p_login into the transaction's tenant, once per (organisation,
-- account). It reveals nothing about the account, not even whether it
-- exists: it returns NULL whether or not anyone was invited, and only
-- when the inviting organisation itself already has
-- auth_invite_max_pending() invitations pending (made in the last 30
-- days) does it refuse, returning that limit. The limit is the inviting
-- organisation's own: other organisations' invitations to the same
-- account neither count against it nor crowd out this one.
DROP FUNCTION auth_invite(text, text);
CREATE FUNCTION auth_invite(p_login text, p_role text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        v_tenant text := app_tenant();
        v_user uuid;
    BEGIN
        IF v_tenant IS NULL THEN
            RAISE EXCEPTION 'auth_invite needs a tenant' USING ERRCODE = '42501';
        END IF;
        -- One invitation at a time per organisation, so that the count
        -- below holds.
        PERFORM 1 FROM tenants WHERE id = v_tenant FOR NO KEY UPDATE;
        IF (SELECT count(*) FROM memberships
            WHERE tenant_id = v_tenant AND accepted_at IS NULL
              AND created_at > now() - interval '30 days')
           >= auth_invite_max_pending() THEN
            RETURN auth_invite_max_pending();
        END IF;
        SELECT id INTO v_user FROM users
        WHERE (lower(username) = lower(p_login) OR lower(email) = lower(p_login))
          AND is_active;
        IF v_user IS NOT NULL THEN
            INSERT INTO memberships (tenant_id, user_id, role, is_active,
                                     accepted_at, invited_by)
            VALUES (v_tenant, v_user, p_role, false, NULL, app_user())
            ON CONFLICT (tenant_id, user_id) DO NOTHING;
        END IF;
        RETURN NULL;
    END
    $$;
REVOKE ALL ON FUNCTION auth_invite(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_invite(text, text), auth_invite_max_pending()
    TO sluice_app;

-- Password hashes -------------------------------------------------------------

REVOKE SELECT, UPDATE ON users FROM sluice_app;
GRANT SELECT (id, username, email, full_name, is_active, created_at,
              updated_at, last_login_at) ON users TO sluice_app;
GRANT UPDATE (username, email, full_name, is_active, updated_at,
              last_login_at) ON users TO sluice_app;

-- A login that verified p_user's password against p_old (what
-- auth_login_lookup() returned) stores p_new, the same password hashed at
-- the current cost. Only while the stored hash is still p_old, so that a
-- password changed meanwhile is never overwritten. Returns whether it
-- was stored.
CREATE FUNCTION auth_password_rehash(p_user uuid, p_old text, p_new text)
    RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH u AS (UPDATE users SET password_hash = p_new, updated_at = now()
                   WHERE id = p_user AND password_hash = p_old
                     AND p_new LIKE '$scrypt$%' RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM u)
    $$;
REVOKE ALL ON FUNCTION auth_password_rehash(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_password_rehash(uuid, text, text) TO sluice_app;

-- Subscriptions ---------------------------------------------------------------

DROP POLICY tenant_subscriptions_own ON tenant_subscriptions;
CREATE POLICY tenant_subscriptions_read ON tenant_subscriptions FOR SELECT
    USING (tenant_id = app_tenant());
-- run_quota_check() (009) locks its tenant's row FOR UPDATE so that
-- concurrent starts take turns; a lock needs the UPDATE privilege and an
-- UPDATE policy's USING, but no row may actually be changed.
CREATE POLICY tenant_subscriptions_lock ON tenant_subscriptions FOR UPDATE
    USING (tenant_id = app_tenant()) WITH CHECK (false);
REVOKE INSERT, UPDATE, DELETE ON tenant_subscriptions FROM sluice_app;
GRANT UPDATE (updated_at) ON tenant_subscriptions TO sluice_app;

-- The subscription of the transaction's tenant, made when the tenant is
-- (onboarding, registration with a new organisation, the default
-- organisation): plan p_plan's quotas copied. Does nothing for a tenant
-- that has one, so that no plan or quota is ever changed this way.
-- Returns the new subscription, or no row.
CREATE FUNCTION tenant_subscription_open(p_plan text)
    RETURNS TABLE (plan_code text, daily_runs_limit integer,
                   monthly_runs_limit integer, concurrent_runs_limit integer)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        INSERT INTO tenant_subscriptions AS s (tenant_id, plan_code,
            daily_runs_limit, monthly_runs_limit, concurrent_runs_limit)
        SELECT t.id, p.code, p.daily_runs, p.monthly_runs, p.concurrent_runs
        FROM tenants t, plans p WHERE t.id = app_tenant() AND p.code = p_plan
        ON CONFLICT (tenant_id) DO NOTHING
        RETURNING s.plan_code, s.daily_runs_limit, s.monthly_runs_limit,
                  s.concurrent_runs_limit
    $$;
REVOKE ALL ON FUNCTION tenant_subscription_open(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_subscription_open(text) TO sluice_app;

-- The outbox ------------------------------------------------------------------

-- An event goes out under its own tenant's subject
-- (sluice.event.<tenant_id>.<type>), and a payload that names a tenant
-- (a run request's tenant_id, an event's organization_id) names the
-- row's own.
ALTER TABLE outbox ADD CONSTRAINT outbox_own_subject CHECK (
    (NOT starts_with(subject, 'sluice.event.')
     OR starts_with(subject, 'sluice.event.' || tenant_id || '.'))
    AND coalesce(payload->>'tenant_id', tenant_id) = tenant_id
    AND coalesce(payload->>'organization_id', tenant_id) = tenant_id);

-- Foreign keys within a tenant -----------------------------------------------

ALTER TABLE projects ADD CONSTRAINT projects_tenant_id_id_key
    UNIQUE (tenant_id, id);
ALTER TABLE pipelines ADD CONSTRAINT pipelines_tenant_id_id_key
    UNIQUE (tenant_id, id);
ALTER TABLE runs ADD CONSTRAINT runs_tenant_id_id_key UNIQUE (tenant_id, id);
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_id_key
    UNIQUE (user_id, id);

ALTER TABLE pipelines DROP CONSTRAINT pipelines_project_id_fkey,
    ADD CONSTRAINT pipelines_project_fkey FOREIGN KEY (tenant_id, project_id)
        REFERENCES projects (tenant_id, id);
ALTER TABLE pipeline_versions DROP CONSTRAINT pipeline_versions_pipeline_id_fkey,
    ADD CONSTRAINT pipeline_versions_pipeline_fkey
        FOREIGN KEY (tenant_id, pipeline_id)
        REFERENCES pipelines (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE runs DROP CONSTRAINT runs_pipeline_id_fkey,
    ADD CONSTRAINT runs_pipeline_fkey FOREIGN KEY (tenant_id, pipeline_id)
        REFERENCES pipelines (tenant_id, id),
    DROP CONSTRAINT runs_original_run_id_fkey,
    ADD CONSTRAINT runs_original_run_fkey
        FOREIGN KEY (tenant_id, original_run_id) REFERENCES runs (tenant_id, id)
        ON DELETE SET NULL (original_run_id);
ALTER TABLE run_steps DROP CONSTRAINT run_steps_run_id_fkey,
    ADD CONSTRAINT run_steps_run_fkey FOREIGN KEY (tenant_id, run_id)
        REFERENCES runs (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE run_logs DROP CONSTRAINT run_logs_run_id_fkey,
    ADD CONSTRAINT run_logs_run_fkey FOREIGN KEY (tenant_id, run_id)
        REFERENCES runs (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE triggers DROP CONSTRAINT triggers_pipeline_id_fkey,
    ADD CONSTRAINT triggers_pipeline_fkey FOREIGN KEY (tenant_id, pipeline_id)
        REFERENCES pipelines (tenant_id, id) ON DELETE CASCADE;
-- A refresh token belongs to its session's user.
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_session_id_fkey,
    ADD CONSTRAINT refresh_tokens_session_fkey FOREIGN KEY (user_id, session_id)
        REFERENCES sessions (user_id, id) ON DELETE CASCADE;
