-- 017_invitation_requests.sql: an invitation's limit tells nothing.
--
-- auth_invite() (014) counted only the pending invitations of accounts
-- that exist, and answered "limit reached" once they filled it: an
-- organisation could learn whether an account exists by inviting names
-- near its limit. Every invitation an organisation asks for now counts,
-- whether anyone was invited or not: at most auth_invite_max_daily() in
-- any 24 hours, whoever they name. A request past it is refused before
-- anything is looked up.

CREATE TABLE invitation_requests (
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitation_requests_recent
    ON invitation_requests (tenant_id, requested_at);
-- Written and read only by auth_invite(), as the schema's owner.
ALTER TABLE invitation_requests ENABLE ROW LEVEL SECURITY;

-- How many invitations an organisation may ask for in 24 hours.
CREATE FUNCTION auth_invite_max_daily() RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 100 $$;

-- Invitation by an organisation admin, as in 014, but counted per
-- request: returns NULL (whether or not anyone was invited), or the
-- limit when the organisation has asked for auth_invite_max_daily()
-- invitations in the last 24 hours.
CREATE OR REPLACE FUNCTION auth_invite(p_login text, p_role text)
    RETURNS integer
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
        DELETE FROM invitation_requests
        WHERE tenant_id = v_tenant AND requested_at <= now() - interval '1 day';
        IF (SELECT count(*) FROM invitation_requests
            WHERE tenant_id = v_tenant) >= auth_invite_max_daily() THEN
            RETURN auth_invite_max_daily();
        END IF;
        INSERT INTO invitation_requests (tenant_id) VALUES (v_tenant);
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

DROP FUNCTION auth_invite_max_pending();
