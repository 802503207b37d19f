-- 023_deliverer_fair.sql: one endpoint cannot take every slot of the hubs.
--
-- hub_delivery_claim (021) claimed the oldest due rows whatever their
-- endpoint: one tenant's slow receiver (each attempt held up to the 15 s
-- timeout) with a backlog of due rows filled every slot of every hub, and
-- every other organisation's deliveries waited behind it.
--
-- The claim now takes, for each endpoint (a webhook, or a channel) with
-- due rows, at most p_per_endpoint minus the rows of that endpoint
-- already in flight (pending and leased, by any hub), then the oldest
-- p_limit of those. Endpoints are walked with one index probe each (a
-- loose index scan of deliveries_endpoint_pending), so a backlog of one
-- endpoint is not read whole at every claim, and a disabled endpoint
-- costs one probe, not a scan of its rows.

CREATE INDEX deliveries_endpoint_pending
    ON deliveries ((coalesce(webhook_id, channel_id)), next_attempt_at)
    WHERE status = 'pending';

CREATE FUNCTION hub_delivery_claim(p_owner text, p_limit integer,
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
            SELECT d.id FROM deliveries d WHERE d.id = ANY (picked)
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

-- Hubs of the previous release call the three-argument form: 8 per
-- endpoint, the default of webhook_endpoint_concurrency.
CREATE OR REPLACE FUNCTION hub_delivery_claim(p_owner text, p_limit integer,
                                              p_lease_seconds integer)
    RETURNS TABLE (id uuid, tenant_id text, msg_id text, body text,
                   attempts integer, webhook_id uuid, channel_id uuid,
                   url text, secret text, secret_previous text,
                   previous_valid boolean, channel_type text)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT * FROM hub_delivery_claim(p_owner, p_limit, p_lease_seconds, 8)
    $$;

REVOKE ALL ON FUNCTION hub_delivery_claim(text, integer, integer, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub_delivery_claim(text, integer, integer, integer)
    TO sluice_hub;
