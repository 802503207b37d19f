-- 019_webhooks.sql: webhooks, notification channels, alert rules, and
-- their deliveries (issue 11).
--
-- An event that matches a webhook, or an alert rule with channels,
-- becomes one delivery row per event and endpoint, written before
-- anything is sent; the hub sends it and records each attempt. A
-- delivery's msg_id is the Standard Webhooks webhook-id: the same for
-- every attempt and redelivery of it, so a receiver can deduplicate.
--
-- Secrets (a webhook's signing secret, a channel's URL, which for Slack
-- is itself a credential) are sealed by the API with the configured key,
-- bound to the row's tenant and id (lib/secretbox.c), as connectors'
-- are; they never leave the API in clear after creation.

CREATE TABLE webhooks (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    events          text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
    description     text CHECK (length(description) <= 2000),
    -- sealed signing secret, and the previous one while a rotation
    -- overlaps (both sign until secret_previous_until)
    secret          text NOT NULL,
    secret_previous text,
    secret_previous_until timestamptz,
    enabled         boolean NOT NULL DEFAULT true,
    -- why the hub disabled it (a 410, say); NULL when a user did
    disabled_reason text,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, created_at);

CREATE TABLE notification_channels (
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    type          text NOT NULL CHECK (type IN ('webhook', 'slack')),
    -- the settings that are not secret (Slack's channel, username...)
    configuration jsonb NOT NULL DEFAULT '{}',
    -- sealed JSON: {"url": ..., "secret": ...} (secret for webhook
    -- channels only, optional)
    secret        text NOT NULL,
    enabled       boolean NOT NULL DEFAULT true,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX notification_channels_name
    ON notification_channels (tenant_id, lower(name));

CREATE TABLE alert_rules (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 2000),
    -- {"event_type": "...", "filters": {"field": [values] or value}}
    condition   jsonb NOT NULL,
    channels    uuid[] NOT NULL CHECK (cardinality(channels) BETWEEN 1 AND 32),
    -- {"subject": "...", "body": "..."} with {{field}} placeholders
    template    jsonb NOT NULL DEFAULT '{}',
    enabled     boolean NOT NULL DEFAULT true,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX alert_rules_event
    ON alert_rules (tenant_id, (condition ->> 'event_type')) WHERE enabled;

-- One event to one endpoint: a webhook, or an alert rule's channel, or a
-- channel sent to directly (POST /notifications/send: alert_id NULL).
CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    -- the events stream's sequence of the event, when it came from there
    seq              bigint,
    webhook_id       uuid,
    channel_id       uuid,
    alert_id         uuid,
    -- webhook-id: stable over every attempt and redelivery
    msg_id           text NOT NULL,
    -- the exact bytes sent (and signed)
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN
                         ('pending', 'succeeded', 'failed', 'exhausted')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz DEFAULT now(),
    -- a hub sending it holds it until lease_until
    lease_owner      text,
    lease_until      timestamptz,
    last_status_code integer,
    last_error       text,
    last_latency_ms  integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    CHECK ((webhook_id IS NULL) <> (channel_id IS NULL)),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, channel_id)
        REFERENCES notification_channels (tenant_id, id) ON DELETE CASCADE
);
-- One delivery per event and endpoint, however often the event arrives.
CREATE UNIQUE INDEX deliveries_webhook_event ON deliveries (webhook_id, event_id)
    WHERE webhook_id IS NOT NULL;
CREATE UNIQUE INDEX deliveries_alert_event
    ON deliveries (alert_id, channel_id, event_id) WHERE alert_id IS NOT NULL;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (tenant_id, webhook_id, created_at);

CREATE TABLE delivery_attempts (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    delivery_id uuid NOT NULL,
    attempt     integer NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    latency_ms  integer,
    status_code integer,
    error       text,
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES deliveries (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt);

-- Row-level security ---------------------------------------------------------
ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE delivery_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY webhooks_own ON webhooks USING (tenant_id = app_tenant());
CREATE POLICY notification_channels_own ON notification_channels
    USING (tenant_id = app_tenant());
CREATE POLICY alert_rules_own ON alert_rules USING (tenant_id = app_tenant());
CREATE POLICY deliveries_own ON deliveries USING (tenant_id = app_tenant());
CREATE POLICY delivery_attempts_own ON delivery_attempts
    USING (tenant_id = app_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE
    ON webhooks, notification_channels, alert_rules TO sluice_app;
-- The API reads deliveries, writes direct sends (POST /notifications/send)
-- and redeliveries; only the hub records attempts.
GRANT SELECT, INSERT ON deliveries TO sluice_app;
GRANT UPDATE (status, next_attempt_at, updated_at) ON deliveries TO sluice_app;
GRANT SELECT ON delivery_attempts TO sluice_app;
