-- 021_deliverer.sql: what sluice-hub's webhook deliverer does in the
-- database (ws-hub/deliver.c), as a role of its own, sluice_hub.
--
-- The deliverer acts across organisations: it turns every event of the
-- events stream into delivery rows for the matching webhooks and alert
-- channels of the event's organisation, claims due deliveries of any
-- organisation, and records what each attempt gave. It does so only
-- through the SECURITY DEFINER functions below, which are sluice_hub's
-- alone; sluice_hub has no table rights at all, so a hub's connection can
-- do nothing else (read a pipeline, say).
--
-- Several hubs share the work: a claim takes due rows FOR UPDATE SKIP
-- LOCKED and leases them to the claiming hub (lease_owner, lease_until)
-- for a short while, which the hub renews every few seconds while the
-- rows are in flight; a claimed row's next_attempt_at moves with the end
-- of its lease, so that the row of a hub that died mid-delivery is due
-- again, and claimed by another hub (or the restarted one), seconds
-- after its last renewal. It is then sent again under the same msg_id
-- (webhook-id): delivery is at least once, and a receiver deduplicates
-- by webhook-id.
--
-- Roles are made by a superuser (docs/operator-guide.md); this migration
-- stops, saying what to do, when sluice_hub does not exist.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_hub') THEN
        RAISE EXCEPTION 'the role sluice_hub does not exist'
            USING ERRCODE = '42704',
                  HINT = format('As a superuser: CREATE ROLE sluice_hub '
                      'LOGIN PASSWORD ''...'' NOSUPERUSER NOBYPASSRLS '
                      'NOCREATEDB NOCREATEROLE NOINHERIT; then run '
                      'sluice-migrate again, and give the hubs their own '
                      'hub_db_url (docs/operator-guide.md). Database %s.',
                      current_database());
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO sluice_hub',
                   current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO sluice_hub;

-- Which hub made each attempt (its lease owner: "host:pid/random").
ALTER TABLE delivery_attempts ADD COLUMN hub text
    CHECK (length(hub) <= 200);

-- The webhook-id of one event sent to one endpoint: the same however
-- often the event arrives, so a redelivered NATS message, or a hub that
-- re-reads the stream, names the same delivery. p_endpoint is the
-- webhook's id, or "<alert id>/<channel id>".
CREATE FUNCTION delivery_msg_id(p_event_id text, p_endpoint text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT 'msg_' || left(encode(sha256(convert_to(
            p_event_id || '/' || p_endpoint, 'UTF8')), 'hex'), 32)
    $$;

-- What an event of organisation p_tenant may be delivered to: its
-- enabled webhooks, and its enabled alert rules with their enabled
-- channels:
--   {"webhooks": [{"id", "events"}],
--    "alerts": [{"id", "name", "condition", "template",
--                "channels": [{"id", "type", "configuration"}]}]}
CREATE FUNCTION hub_endpoints(p_tenant text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT jsonb_build_object(
            'webhooks', coalesce((
                SELECT jsonb_agg(jsonb_build_object('id', w.id,
                                                    'events', w.events))
                FROM webhooks w
                WHERE w.tenant_id = p_tenant AND w.enabled), '[]'),
            'alerts', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', a.id, 'name', a.name, 'condition', a.condition,
                    'template', a.template, 'channels', ch.list))
                FROM alert_rules a
                CROSS JOIN LATERAL (
                    SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'id', c.id, 'type', c.type,
                               'configuration', c.configuration)), '[]')
                               AS list
                    FROM notification_channels c
                    WHERE c.tenant_id = p_tenant AND c.enabled
                      AND c.id = ANY (a.channels)) ch
                WHERE a.tenant_id = p_tenant AND a.enabled
                  AND jsonb_array_length(ch.list) > 0), '[]'))
    $$;

-- Inserts the deliveries of p_rows, a JSON array of
--   {"tenant_id", "event_id", "event_type", "seq", "body",
--    "webhook_id"} or {..., "alert_id", "channel_id"}
-- each with its msg_id (delivery_msg_id()), due now. A row already there
-- for the same event and endpoint is left as it is. Returns how many
-- were new.
CREATE FUNCTION hub_deliveries_add(p_rows jsonb) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH ins AS (
            INSERT INTO deliveries (id, tenant_id, event_id, event_type, seq,
                                    webhook_id, channel_id, alert_id, msg_id,
                                    body)
            SELECT gen_random_uuid(), r.tenant_id, r.event_id, r.event_type,
                   r.seq, r.webhook_id, r.channel_id, r.alert_id,
                   delivery_msg_id(r.event_id, coalesce(r.webhook_id::text,
                       r.alert_id::text || '/' || r.channel_id::text)),
                   r.body
            FROM jsonb_to_recordset(p_rows) AS r (
                tenant_id text, event_id text, event_type text, seq bigint,
                webhook_id uuid, channel_id uuid, alert_id uuid, body text)
            -- an organisation deleted meanwhile has nothing to deliver
            WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = r.tenant_id)
            ON CONFLICT DO NOTHING
            RETURNING 1)
        SELECT count(*)::integer FROM ins
    $$;

-- Claims for hub p_owner up to p_limit due deliveries whose endpoint is
-- enabled, oldest due first, leasing each for p_lease_seconds: due again
-- then, should the hub not record an outcome before. Returns what the
-- hub needs to send each: the sealed secrets are opened by the hub (the
-- key is in its configuration, not in the database).
CREATE FUNCTION hub_delivery_claim(p_owner text, p_limit integer,
                                   p_lease_seconds integer)
    RETURNS TABLE (id uuid, tenant_id text, msg_id text, body text,
                   attempts integer, webhook_id uuid, channel_id uuid,
                   url text, secret text, secret_previous text,
                   previous_valid boolean, channel_type text)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH due AS (
            SELECT d.id FROM deliveries d
            LEFT JOIN webhooks w ON w.id = d.webhook_id
            LEFT JOIN notification_channels c ON c.id = d.channel_id
            WHERE d.status = 'pending' AND d.next_attempt_at <= now()
              AND coalesce(w.enabled, c.enabled)
            ORDER BY d.next_attempt_at
            LIMIT greatest(least(p_limit, 1000), 0)
            FOR UPDATE OF d SKIP LOCKED),
        leased AS (
            UPDATE deliveries d
            SET lease_owner = p_owner,
                lease_until = now() + make_interval(secs => p_lease_seconds),
                next_attempt_at = now() + make_interval(secs => p_lease_seconds),
                updated_at = now()
            FROM due WHERE d.id = due.id
            RETURNING d.*)
        SELECT l.id, l.tenant_id, l.msg_id, l.body, l.attempts, l.webhook_id,
               l.channel_id, w.url, coalesce(w.secret, c.secret),
               w.secret_previous,
               coalesce(w.secret_previous_until > now(), false), c.type
        FROM leased l
        LEFT JOIN webhooks w ON w.id = l.webhook_id
        LEFT JOIN notification_channels c ON c.id = l.channel_id
    $$;

-- Extends, for hub p_owner, the leases of the rows p_ids it still holds
-- (pending, leased to it) by p_lease_seconds from now. Returns how many.
CREATE FUNCTION hub_delivery_renew(p_owner text, p_ids uuid[],
                                   p_lease_seconds integer)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH u AS (
            UPDATE deliveries d
            SET lease_until = now() + make_interval(secs => p_lease_seconds),
                next_attempt_at = now()
                    + make_interval(secs => p_lease_seconds)
            WHERE d.id = ANY (p_ids) AND d.status = 'pending'
              AND d.lease_owner = p_owner
            RETURNING 1)
        SELECT count(*)::integer FROM u
    $$;

-- Records, for hub p_owner, the outcome of attempts: p_results is a JSON
-- array of
--   {"id", "latency_ms", "status_code" (or null), "error" (or null),
--    "outcome": "succeeded" | "retry" | "exhausted" | "gone",
--    "retry_in_ms" (for "retry"), "announce" (for "exhausted": false
--    when the schedule was over already, a redelivery that failed)}
-- Each attempt is recorded in delivery_attempts. The delivery is updated
-- only while p_owner still holds it (pending, leased to p_owner): a hub
-- whose lease ran out and was taken over leaves the row to the new
-- holder. "gone" (a 410) disables the endpoint, with the reason for a
-- webhook, and fails its pending deliveries; "exhausted" writes the
-- webhook.delivery.exhausted event to the outbox in the same
-- transaction, except for a delivery that was itself of that event (two
-- dead endpoints never feed each other). Returns the rows updated.
CREATE FUNCTION hub_delivery_record(p_owner text, p_results jsonb)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        r record;
        d deliveries;
        n integer := 0;
        why text;
    BEGIN
        FOR r IN SELECT * FROM jsonb_to_recordset(p_results) AS x (
                     id uuid, latency_ms integer, status_code integer,
                     error text, outcome text, retry_in_ms bigint,
                     announce boolean) LOOP
            SELECT * INTO d FROM deliveries x WHERE x.id = r.id FOR UPDATE;
            CONTINUE WHEN NOT FOUND;
            INSERT INTO delivery_attempts (tenant_id, delivery_id, attempt,
                                           started_at, latency_ms,
                                           status_code, error, hub)
            VALUES (d.tenant_id, d.id, d.attempts + 1,
                    now() - make_interval(secs => coalesce(r.latency_ms, 0)
                                                  / 1000.0),
                    r.latency_ms, r.status_code, left(r.error, 1000),
                    left(p_owner, 200));
            CONTINUE WHEN d.status <> 'pending'
                       OR d.lease_owner IS DISTINCT FROM p_owner;
            UPDATE deliveries x SET
                attempts = x.attempts + 1,
                status = CASE r.outcome WHEN 'succeeded' THEN 'succeeded'
                                        WHEN 'retry' THEN 'pending'
                                        WHEN 'gone' THEN 'failed'
                                        ELSE 'exhausted' END,
                next_attempt_at = CASE WHEN r.outcome = 'retry' THEN
                    now() + make_interval(secs => r.retry_in_ms / 1000.0)
                    END,
                lease_owner = NULL, lease_until = NULL,
                last_status_code = r.status_code,
                last_error = left(r.error, 1000),
                last_latency_ms = r.latency_ms,
                delivered_at = CASE WHEN r.outcome = 'succeeded' THEN now()
                                    END,
                updated_at = now()
            WHERE x.id = d.id;
            n := n + 1;
            IF r.outcome = 'gone' THEN
                why := format('the endpoint answered 410 Gone at %s',
                              rfc3339(now()));
                IF d.webhook_id IS NOT NULL THEN
                    UPDATE webhooks w SET enabled = false,
                        disabled_reason = why, updated_at = now()
                    WHERE w.id = d.webhook_id;
                ELSE
                    UPDATE notification_channels c SET enabled = false,
                        updated_at = now()
                    WHERE c.id = d.channel_id;
                END IF;
                UPDATE deliveries x SET status = 'failed',
                    last_error = 'not sent: ' || why, lease_owner = NULL,
                    lease_until = NULL, next_attempt_at = NULL,
                    updated_at = now()
                WHERE x.status = 'pending' AND x.id <> d.id
                  AND (x.webhook_id = d.webhook_id
                       OR x.channel_id = d.channel_id);
            ELSIF r.outcome = 'exhausted' AND coalesce(r.announce, true)
                  AND d.event_type <> 'webhook.delivery.exhausted' THEN
                INSERT INTO outbox (id, tenant_id, subject, payload)
                VALUES (gen_random_uuid(), d.tenant_id,
                        'sluice.event.' || d.tenant_id
                            || '.webhook.delivery.exhausted',
                        jsonb_build_object(
                            'event_id', 'evt_' || replace(
                                gen_random_uuid()::text, '-', ''),
                            'event_type', 'webhook.delivery.exhausted',
                            'timestamp', rfc3339(now()),
                            'organization_id', d.tenant_id,
                            'data', jsonb_build_object(
                                'delivery_id', d.id,
                                'webhook_id', d.webhook_id,
                                'channel_id', d.channel_id,
                                'alert_id', d.alert_id,
                                'msg_id', d.msg_id,
                                'event_id', d.event_id,
                                'event_type', d.event_type,
                                'attempts', d.attempts + 1,
                                'last_status_code', r.status_code,
                                'last_error', left(r.error, 1000))));
            END IF;
        END LOOP;
        RETURN n;
    END
    $$;

REVOKE ALL ON FUNCTION delivery_msg_id(text, text), hub_endpoints(text),
    hub_deliveries_add(jsonb), hub_delivery_claim(text, integer, integer),
    hub_delivery_renew(text, uuid[], integer),
    hub_delivery_record(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub_endpoints(text), hub_deliveries_add(jsonb),
    hub_delivery_claim(text, integer, integer),
    hub_delivery_renew(text, uuid[], integer),
    hub_delivery_record(text, jsonb) TO sluice_hub;
-- The API inserts direct sends and may want the same ids.
GRANT EXECUTE ON FUNCTION delivery_msg_id(text, text) TO sluice_app, sluice_hub;
