-- 018_login_role.sql: password hashes are the login role's alone.
--
-- 014 left password_hash readable to sluice_app only through
-- auth_login_lookup() and writable only through auth_password_rehash();
-- but sluice_app could call both, so a session of the API that ran SQL
-- it should not (an injection anywhere) could read any account's hash and
-- replace it with one it made (016 lets a hash only grow stronger, which a
-- hash of the attacker's own password at a higher cost still is). Both
-- functions are now the role sluice_login's only, which the API uses for
-- the login statement and nothing else, on a connection of its own
-- (auth_db_url): no other handler's statement runs with it.
--
-- Roles are made by a superuser (docs/operator-guide.md), or by
-- sluice-migrate when its role may make them; this migration stops,
-- saying what to do, when sluice_login does not exist.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_login') THEN
        RAISE EXCEPTION 'the role sluice_login does not exist'
            USING ERRCODE = '42704',
                  HINT = format('As a superuser: CREATE ROLE sluice_login '
                      'LOGIN PASSWORD ''...'' NOSUPERUSER NOBYPASSRLS '
                      'NOCREATEDB NOCREATEROLE NOINHERIT; then run '
                      'sluice-migrate again, and give the API its '
                      'auth_db_url (docs/operator-guide.md). Database %s.',
                      current_database());
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO sluice_login',
                   current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO sluice_login;

REVOKE EXECUTE ON FUNCTION auth_login_lookup(text),
    auth_password_rehash(uuid, text, text) FROM sluice_app;
GRANT EXECUTE ON FUNCTION auth_login_lookup(text),
    auth_password_rehash(uuid, text, text) TO sluice_login;
