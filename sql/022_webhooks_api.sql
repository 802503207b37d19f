-- 022_webhooks_api.sql: how the API shows webhooks, notification
-- channels, alert rules and deliveries (issue 11's REST half).
--
-- Each *_doc() is the one JSON form of its row that the API answers
-- with, in every seed's names. Secrets never appear: a webhook's secret
-- shows as a mask (the clear secret is answered once, by the request that
-- made it), a channel's URL likewise.

CREATE FUNCTION webhook_doc(w webhooks) RETURNS json
    LANGUAGE sql STABLE AS $$
        SELECT json_build_object(
            'id', w.id, 'webhook_id', w.id,
            'url', w.url, 'webhook_url', w.url,
            'events', to_json(w.events),
            'description', w.description,
            'enabled', w.enabled,
            'status', CASE WHEN w.enabled THEN 'active' ELSE 'disabled' END,
            'disabled_reason', w.disabled_reason,
            'secret', '********',
            -- while a rotated secret still signs beside the new one
            'previous_secret_expires_at',
                CASE WHEN w.secret_previous IS NOT NULL
                      AND w.secret_previous_until > now()
                     THEN rfc3339(w.secret_previous_until) END,
            'created_at', rfc3339(w.created_at),
            'updated_at', rfc3339(w.updated_at))
    $$;

CREATE FUNCTION delivery_doc(d deliveries) RETURNS json
    LANGUAGE sql STABLE AS $$
        SELECT json_build_object(
            'id', d.id, 'delivery_id', d.id,
            'webhook_id', d.webhook_id, 'channel_id', d.channel_id,
            'alert_id', d.alert_id,
            'event_id', d.event_id, 'event_type', d.event_type,
            -- the Standard Webhooks webhook-id header of every attempt
            'msg_id', d.msg_id,
            'status', d.status,
            'attempts', d.attempts,
            'response_code', d.last_status_code,
            'latency_ms', d.last_latency_ms,
            'last_error', d.last_error,
            'next_attempt_at', CASE WHEN d.status = 'pending'
                                    THEN rfc3339(d.next_attempt_at) END,
            'created_at', rfc3339(d.created_at),
            'updated_at', rfc3339(d.updated_at),
            'delivered_at', rfc3339(d.delivered_at))
    $$;

-- A delivery with what was sent and every attempt, oldest first.
CREATE FUNCTION delivery_doc_full(d deliveries) RETURNS json
    LANGUAGE sql STABLE AS $$
        SELECT (delivery_doc(d)::jsonb || jsonb_build_object(
            'payload', d.body::jsonb,
            'attempt_history', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'attempt', a.attempt,
                           'started_at', rfc3339(a.started_at),
                           'latency_ms', a.latency_ms,
                           'response_code', a.status_code,
                           'error', a.error) ORDER BY a.attempt, a.id)
                FROM delivery_attempts a
                WHERE a.delivery_id = d.id AND a.tenant_id = d.tenant_id),
                '[]'::jsonb)))::json
    $$;

CREATE FUNCTION channel_doc(c notification_channels) RETURNS json
    LANGUAGE sql STABLE AS $$
        SELECT json_build_object(
            'id', c.id, 'channel_id', c.id,
            'name', c.name, 'type', c.type,
            'configuration', c.configuration
                || jsonb_build_object('webhook_url', '********'),
            'enabled', c.enabled,
            'created_at', rfc3339(c.created_at),
            'updated_at', rfc3339(c.updated_at))
    $$;

CREATE FUNCTION alert_doc(a alert_rules) RETURNS json
    LANGUAGE sql STABLE AS $$
        SELECT json_build_object(
            'id', a.id, 'alert_id', a.id,
            'name', a.name, 'description', a.description,
            'condition', a.condition,
            'channels', to_json(a.channels),
            'template', a.template,
            'enabled', a.enabled,
            'created_at', rfc3339(a.created_at),
            'updated_at', rfc3339(a.updated_at))
    $$;

GRANT EXECUTE ON FUNCTION webhook_doc(webhooks), delivery_doc(deliveries),
    delivery_doc_full(deliveries), channel_doc(notification_channels),
    alert_doc(alert_rules) TO sluice_app;
