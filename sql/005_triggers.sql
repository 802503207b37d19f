-- 005_triggers.sql: triggers (seed 002): a cron schedule or a manual
-- trigger attached to a pipeline, with the next time it fires.

CREATE TABLE triggers (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pipeline_id  uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    trigger_type text NOT NULL CHECK (trigger_type IN ('cron', 'manual')),
    cron         text CHECK (length(cron) <= 256),
    timezone     text NOT NULL DEFAULT 'UTC',
    parameters   jsonb NOT NULL DEFAULT '{}',
    enabled      boolean NOT NULL DEFAULT true,
    next_run_at  timestamptz,
    last_run_at  timestamptz,
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (trigger_type <> 'cron' OR cron IS NOT NULL)
);
CREATE INDEX triggers_tenant ON triggers (tenant_id, created_at);
CREATE INDEX triggers_due ON triggers (next_run_at)
    WHERE enabled AND next_run_at IS NOT NULL;

ALTER TABLE triggers ENABLE ROW LEVEL SECURITY;
CREATE POLICY triggers_own ON triggers USING (tenant_id = app_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON triggers TO sluice_app;
