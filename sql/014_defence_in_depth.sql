-- 014_defence_in_depth.sql: row-level security and privileges narrowed to
-- what the application does, so that a handler's bug, or a statement run
-- directly as sluice_app under a tenant's scope, can do no more.
--
--   * invitations go through auth_invite(), whose limit is per inviting
--     organisation.

-- Memberships ---------------------------------------------------------------

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
