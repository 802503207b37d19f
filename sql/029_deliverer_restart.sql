-- 029_deliverer_restart.sql: the deliverer keeps its pace as its table
-- grows, and after a crash.
--
-- hub_delivery_claim (023) and hub_delivery_record (021) are PL/pgSQL:
-- each hub session plans their statements once and keeps the plans. A
-- hub that connected while deliveries was nearly empty kept plans made
-- for a tiny table, sequential scans among them: when 20,000 events
-- arrived for one receiver, every claim read the whole table (its rows
-- picked were read back with "WHERE d.id = ANY (picked)", in a hash join
-- over a scan of deliveries), and a hub sent 250 to 350 a second
-- (tests/bench/deliver.sh) until autovacuum's next ANALYZE. Both now plan
-- each statement with the table's current size, which costs a fraction
-- of a millisecond; and the claim joins the rows it picked through the
-- primary key.

CREATE OR REPLACE FUNCTION hub_delivery_claim(p_owner text, p_limit integer,
                                   p_lease_seconds integer,
                                   p_per_endpoint integer)
    RETURNS TABLE (id uuid, tenant_id text, msg_id text, body text,
                   attempts integer, webhook_id uuid, channel_id uuid,
                   url text, secret text, secret_previous text,
                   previous_valid boolean, channel_type text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    #variable_conflict use_column
    DECLARE
        ep uuid;
        room integer;
        picked uuid[] := '{}';
        lim integer := greatest(least(p_limit, 1000), 0);
        per integer := greatest(least(p_per_endpoint, 1000), 1);
        lease integer := greatest(least(p_lease_seconds, 3600), 1);
    BEGIN
        IF lim = 0 THEN
            RETURN;
        END IF;
        -- The first endpoint with pending rows, then the next, by index.
        SELECT coalesce(d.webhook_id, d.channel_id) INTO ep
        FROM deliveries d WHERE d.status = 'pending'
        ORDER BY coalesce(d.webhook_id, d.channel_id) LIMIT 1;
        WHILE ep IS NOT NULL LOOP
            -- Only an endpoint with a due row costs more than a probe.
            IF EXISTS (SELECT 1 FROM deliveries d
                       WHERE coalesce(d.webhook_id, d.channel_id) = ep
                         AND d.status = 'pending'
                         AND d.next_attempt_at <= now())
               AND (EXISTS (SELECT 1 FROM webhooks w
                            WHERE w.id = ep AND w.enabled)
                    OR EXISTS (SELECT 1 FROM notification_channels c
                               WHERE c.id = ep AND c.enabled)) THEN
                -- In flight: leased rows, whose next_attempt_at is the end
                -- of their lease, within the next lease period.
                SELECT per - count(*) INTO room FROM deliveries d
                WHERE coalesce(d.webhook_id, d.channel_id) = ep
                  AND d.status = 'pending'
                  AND d.next_attempt_at > now()
                  AND d.next_attempt_at <= now() + make_interval(secs => lease)
                  AND d.lease_until > now();
                IF room > 0 THEN
                    picked := picked || ARRAY(
                        SELECT d.id FROM deliveries d
                        WHERE coalesce(d.webhook_id, d.channel_id) = ep
                          AND d.status = 'pending'
                          AND d.next_attempt_at <= now()
                        ORDER BY d.next_attempt_at
                        LIMIT least(room, lim)
                        FOR UPDATE SKIP LOCKED);
                END IF;
            END IF;
            SELECT coalesce(d.webhook_id, d.channel_id) INTO ep
            FROM deliveries d
            WHERE d.status = 'pending'
              AND coalesce(d.webhook_id, d.channel_id) > ep
            ORDER BY coalesce(d.webhook_id, d.channel_id) LIMIT 1;
        END LOOP;
        RETURN QUERY
        WITH due AS (
            SELECT d.id FROM unnest(picked) AS p (id)
            JOIN deliveries d ON d.id = p.id
            ORDER BY d.next_attempt_at LIMIT lim),
        leased AS (
            UPDATE deliveries d
            SET lease_owner = p_owner,
                lease_until = now() + make_interval(secs => lease),
                next_attempt_at = now() + make_interval(secs => lease),
                updated_at = now()
            FROM due WHERE d.id = due.id
            RETURNING d.*)
        SELECT l.id, l.tenant_id, l.msg_id, l.body, l.attempts, l.webhook_id,
               l.channel_id, w.url, coalesce(w.secret, c.secret),
               w.secret_previous,
               coalesce(w.secret_previous_until > now(), false), c.type
        FROM leased l
        LEFT JOIN webhooks w ON w.id = l.webhook_id
                            AND w.tenant_id = l.tenant_id
        LEFT JOIN notification_channels c ON c.id = l.channel_id
                                         AND c.tenant_id = l.tenant_id;
    END
    $$;

ALTER FUNCTION hub_delivery_claim(text, integer, integer, integer)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION hub_delivery_record(text, jsonb)
    SET plan_cache_mode = force_custom_plan;

-- A hub that restarts after a crash takes back, at once, the rows its
-- dead predecessor on the same host held, instead of leaving them (and,
-- through webhook_endpoint_concurrency, their endpoints) waiting for the
-- leases to end. The hub names the owners with live leases under its
-- host's prefix ("<host>:<pid>/..."), keeps those whose process is still
-- there, and releases the others: due now, attempts unchanged, so the
-- receiver sees the same webhook-id again (at least once).
CREATE FUNCTION hub_delivery_owners(p_prefix text) RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT DISTINCT d.lease_owner FROM deliveries d
        WHERE d.status = 'pending' AND d.lease_until > now()
          AND starts_with(d.lease_owner, p_prefix)
        LIMIT 1000
    $$;

CREATE FUNCTION hub_delivery_release(p_owner text) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH u AS (
            UPDATE deliveries d
            SET lease_owner = NULL, lease_until = NULL,
                next_attempt_at = now(), updated_at = now()
            WHERE d.status = 'pending' AND d.lease_owner = p_owner
            RETURNING 1)
        SELECT count(*)::integer FROM u
    $$;

REVOKE ALL ON FUNCTION hub_delivery_owners(text), hub_delivery_release(text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub_delivery_owners(text),
    hub_delivery_release(text) TO sluice_hub;
