-- 016_least_privilege.sql: what a security review of 013 to 015 found.
--
--   * a password hash is only ever replaced by a stronger one
--     (auth_password_rehash()), so that a lowered password_cost cannot
--     weaken what is stored;

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
