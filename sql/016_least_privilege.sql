-- 016_least_privilege.sql: what a security review of 013 to 015 found.
--
--   * memberships: sluice_app may change only the columns the API
--     changes (role, is_active, accepted_at, updated_at); an organisation
--     changes its accepted memberships only when the acting user is one
--     of its active admins (or the request is an API key's, which
--     carries no user); an invitation is accepted by its account with the
--     role it was made with; nobody raises their own role; and no
--     membership ever moves to another account, organisation or inviter;
--   * a password hash is only ever replaced by a stronger one
--     (auth_password_rehash()), so that a lowered password_cost cannot
--     weaken what is stored;
--   * a parked run request no longer counts as one still to be sent:
--     run_reconcile() requests its run again, instead of leaving it
--     pending for ever;
--   * the runner has a role of its own, sluice_runner: the functions that
--     act across organisations for the runner alone (claiming a run, the
--     relay, heartbeats, sweeps, reconciliation) are its only, no longer
--     sluice_app's, so that a session of the API (an SQL injection, say)
--     cannot claim another organisation's run and read its definition.
--     sluice_runner gets, besides, only the table rights the runner uses
--     under a run's organisation, where row-level security applies to it
--     as to sluice_app. A later migration that gives the runner more must
--     grant it to sluice_runner.
--
-- Roles are made by a superuser (docs/operator-guide.md), or by
-- sluice-migrate when its role may make them; this one stops, saying
-- what to do, when sluice_runner does not exist.

-- Memberships ---------------------------------------------------------------

-- The API updates memberships in two statements (fcgi-app/stmt.c):
-- member_update (role, is_active, updated_at) and membership_accept
-- (accepted_at, is_active, updated_at).
REVOKE UPDATE ON memberships FROM sluice_app;
GRANT UPDATE (role, is_active, accepted_at, updated_at) ON memberships
    TO sluice_app;

-- Whether the transaction may manage the memberships of its tenant: its
-- user is an active admin there, or it has no user (an API key's request;
-- the routes that change members require the admin role, which the
-- database cannot see). SECURITY DEFINER, so that a policy on
-- memberships can ask without recursing into its own policies.
CREATE FUNCTION app_manages_members() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT app_user() IS NULL OR EXISTS (
            SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.tenant_id = app_tenant() AND m.user_id = app_user()
              AND m.role = 'admin' AND m.is_active
              AND m.accepted_at IS NOT NULL AND u.is_active)
    $$;
REVOKE ALL ON FUNCTION app_manages_members() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_manages_members() TO sluice_app;

-- An organisation's admins change its accepted memberships, which stay
-- accepted; an invitation is its account's to accept, once.
DROP POLICY memberships_tenant_update ON memberships;
DROP POLICY memberships_self_accept ON memberships;
CREATE POLICY memberships_admin_update ON memberships FOR UPDATE
    USING (tenant_id = app_tenant() AND accepted_at IS NOT NULL
           AND app_manages_members())
    WITH CHECK (tenant_id = app_tenant() AND accepted_at IS NOT NULL);
CREATE POLICY memberships_self_accept ON memberships FOR UPDATE
    USING (tenant_id = app_tenant() AND user_id = app_user()
           AND accepted_at IS NULL)
    WITH CHECK (tenant_id = app_tenant() AND user_id = app_user()
                AND accepted_at IS NOT NULL AND is_active);

-- What no update may do, whoever makes it: move a membership to another
-- account, organisation or inviter; accept an invitation with another
-- role than it was made with; raise one's own role (stepping down is
-- allowed: the API keeps the last admin).
CREATE FUNCTION memberships_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    DECLARE
        ranks constant text[] :=
            ARRAY['viewer', 'analyst', 'engineer', 'architect', 'admin'];
    BEGIN
        IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
           OR NEW.user_id IS DISTINCT FROM OLD.user_id
           OR NEW.invited_by IS DISTINCT FROM OLD.invited_by
           OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
            RAISE EXCEPTION 'a membership''s organisation, account, inviter '
                'and creation never change' USING ERRCODE = '42501';
        END IF;
        IF NEW.role IS DISTINCT FROM OLD.role AND OLD.accepted_at IS NULL THEN
            RAISE EXCEPTION 'an invitation keeps the role it was made with'
                USING ERRCODE = '42501';
        END IF;
        IF NEW.user_id = app_user()
           AND array_position(ranks, NEW.role)
               > array_position(ranks, OLD.role) THEN
            RAISE EXCEPTION 'nobody raises their own role'
                USING ERRCODE = '42501';
        END IF;
        RETURN NEW;
    END
    $$;

CREATE TRIGGER memberships_guard BEFORE UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_guard();

-- Password hashes ------------------------------------------------------------

-- The parameters of a stored scrypt hash ("$scrypt$ln=17,r=8,p=1$..."),
-- as {ln, r, p}; NULL when p_hash is not one.
CREATE FUNCTION auth_scrypt_params(p_hash text) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT (regexp_match(p_hash,
            '^\$scrypt\$ln=([0-9]{1,2}),r=([0-9]{1,2}),p=([0-9]{1,2})\$'
        ))::integer[]
    $$;

-- Whether hash p_new is stronger than p_old: none of its parameters lower,
-- one of them higher (lib/password.c's sl_password_needs_rehash() says
-- the same). False when either cannot be read.
CREATE FUNCTION auth_scrypt_stronger(p_old text, p_new text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(n[1] >= o[1] AND n[2] >= o[2] AND n[3] >= o[3]
                        AND n <> o, false)
        FROM (SELECT auth_scrypt_params(p_old) AS o,
                     auth_scrypt_params(p_new) AS n) x
    $$;

-- As in 014, and only with a stronger hash: a login that verified p_user's
-- password against p_old stores p_new, the same password hashed at a
-- higher cost, while the stored hash is still p_old. Returns whether it
-- was stored.
CREATE OR REPLACE FUNCTION auth_password_rehash(p_user uuid, p_old text,
                                                p_new text)
    RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH u AS (UPDATE users SET password_hash = p_new, updated_at = now()
                   WHERE id = p_user AND password_hash = p_old
                     AND auth_scrypt_stronger(p_old, p_new) RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM u)
    $$;

-- Reconciliation ----------------------------------------------------------

-- As in 013, except that a parked request is not one still to be sent
-- (the relay will not send it until an operator re-queues it), and the
-- age of a run's last request is that of its sending or, for a parked
-- one, of its parking: a run whose request was parked is requested
-- again, p_after (doubled for each request it had, at most p_max) after
-- that.
CREATE OR REPLACE FUNCTION run_reconcile(p_after interval, p_max interval,
                                         p_limit integer)
    RETURNS TABLE (id uuid, tenant_id text, requests bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        c record;
        o uuid;
    BEGIN
        FOR c IN SELECT x.id, x.tenant_id, x.pipeline_id, q.n FROM runs x
                 CROSS JOIN LATERAL (
                     SELECT count(*) AS n,
                            max(coalesce(b.sent_at, b.parked_at)) AS last,
                            count(*) FILTER (WHERE b.sent_at IS NULL
                                               AND b.parked_at IS NULL)
                                AS unsent
                     FROM outbox b
                     WHERE b.subject = 'sluice.run.request'
                       AND b.payload->>'run_id' = x.id::text) q
                 WHERE x.status = 'pending' AND NOT x.cancel_requested
                   AND x.created_at < now() - p_after AND q.unsent = 0
                   AND (q.n = 0 OR q.last < now() - least(
                        p_after * power(2, least(q.n - 1, 30)), p_max))
                 ORDER BY x.created_at LIMIT least(p_limit, 100)
                 FOR UPDATE OF x SKIP LOCKED
        LOOP
            o := gen_random_uuid();
            INSERT INTO outbox (id, tenant_id, subject, payload)
            VALUES (o, c.tenant_id, 'sluice.run.request',
                    jsonb_build_object('run_id', c.id,
                        'tenant_id', c.tenant_id,
                        'pipeline_id', c.pipeline_id, 'outbox_id', o));
            id := c.id; tenant_id := c.tenant_id; requests := c.n + 1;
            RETURN NEXT;
        END LOOP;
    END
    $$;

-- The runner's own role ------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_runner') THEN
        RAISE EXCEPTION 'the role sluice_runner does not exist'
            USING ERRCODE = '42704',
                  HINT = format('As a superuser: CREATE ROLE sluice_runner '
                      'LOGIN PASSWORD ''...'' NOSUPERUSER NOBYPASSRLS '
                      'NOCREATEDB NOCREATEROLE NOINHERIT; then run '
                      'sluice-migrate again, and give the runner its own '
                      'runner_db_url (docs/operator-guide.md). Database %s.',
                      current_database());
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO sluice_runner',
                   current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO sluice_runner;

-- Under a run's organisation: its connectors, its run, steps, logs,
-- events and requests, the participants of its commit (runner/stmt.c).
GRANT SELECT ON connectors TO sluice_runner;
GRANT SELECT, INSERT, UPDATE ON runs TO sluice_runner;
GRANT SELECT, UPDATE ON run_steps TO sluice_runner;
GRANT SELECT, INSERT ON run_logs, outbox TO sluice_runner;
GRANT USAGE ON SEQUENCE run_logs_id_seq TO sluice_runner;
GRANT SELECT, INSERT, DELETE ON run_prepared TO sluice_runner;
-- The scheduler: scheduler_fire() (009), which claims an item, checks
-- the quotas (locking the subscription) and writes the run and its
-- request, and scheduler_disable() (013).
GRANT SELECT, UPDATE (next_run_at, schedule_enabled, schedule_disabled_reason)
    ON pipelines TO sluice_runner;
GRANT SELECT, UPDATE (next_run_at, last_run_at, enabled, disabled_reason)
    ON triggers TO sluice_runner;
GRANT SELECT, UPDATE (updated_at) ON tenant_subscriptions TO sluice_runner;
GRANT EXECUTE ON FUNCTION app_tenant(), app_user(), rfc3339(timestamptz),
    run_event(runs, text), run_event_max_bytes(), event_result_trim(jsonb),
    run_stale_after(), run_max_attempts(), run_quota_check(),
    run_request(uuid, uuid, integer, text, text, jsonb, uuid, text, uuid),
    scheduler_fire(text, uuid, timestamptz, timestamptz, uuid, uuid),
    scheduler_disable(text, uuid, timestamptz, text), scheduler_due(integer)
    TO sluice_runner;

-- Across organisations, for the runner alone. (scheduler_due() and
-- outbox_stats() stay sluice_app's too: POST /scheduler/trigger and
-- /health/detailed use them.)
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'run_claim_next(text)', 'run_heartbeat(text, uuid[])',
        'run_sweep(integer)', 'run_reconcile(interval, interval, integer)',
        'run_prepared_due(integer, interval)',
        'outbox_due(integer, interval)', 'outbox_mark_sent(uuid)',
        'outbox_mark_failed(uuid, integer, text, integer, interval, interval)'
    ]::regprocedure[] LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM sluice_app', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO sluice_runner', f);
    END LOOP;
END
$$;
