-- 003_runs.sql: runs of pipelines, and the outbox that carries run requests
-- and events to NATS.
--
-- A run is written together with its outbox row in one transaction; the
-- API publishes the row to JetStream after commit (Nats-Msg-Id = the
-- outbox id, so that a second publish of the same row is a duplicate NATS
-- drops) and marks it sent. Rows left unsent (NATS down, the API killed
-- between commit and publish) are published again by a relay.

CREATE TABLE runs (
    id                uuid PRIMARY KEY,
    tenant_id         text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pipeline_id       uuid NOT NULL REFERENCES pipelines(id),
    pipeline_version  integer NOT NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN
                          ('pending', 'running', 'completed', 'failed',
                           'cancelled')),
    trigger_type      text NOT NULL DEFAULT 'manual' CHECK (trigger_type IN
                          ('manual', 'api', 'schedule', 'retry', 'trigger')),
    trigger_by        text,
    input_params      jsonb NOT NULL DEFAULT '{}',
    result_data       jsonb,
    error_message     text,
    records_processed bigint NOT NULL DEFAULT 0,
    records_failed    bigint NOT NULL DEFAULT 0,
    original_run_id   uuid REFERENCES runs(id) ON DELETE SET NULL,
    idempotency_key   text CHECK (length(idempotency_key) <= 255),
    cancel_requested  boolean NOT NULL DEFAULT false,
    claimed_by        text,
    heartbeat_at      timestamptz,
    attempts          integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz,
    cancelled_at      timestamptz
);
CREATE UNIQUE INDEX runs_idempotency ON runs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_tenant ON runs (tenant_id, created_at DESC);
CREATE INDEX runs_pipeline ON runs (pipeline_id, created_at DESC);
CREATE INDEX runs_active ON runs (status) WHERE status IN ('pending', 'running');

-- What each node of a run did.
CREATE TABLE run_steps (
    run_id          uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tenant_id       text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    node_id         text NOT NULL,
    module          text NOT NULL,
    position        integer NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN
                        ('pending', 'running', 'completed', 'failed',
                         'cancelled', 'skipped')),
    rows_input      bigint NOT NULL DEFAULT 0,
    rows_output     bigint NOT NULL DEFAULT 0,
    rows_filtered   bigint NOT NULL DEFAULT 0,
    memory_peak_kb  bigint,
    cpu_ms          bigint,
    error_message   text,
    started_at      timestamptz,
    completed_at    timestamptz,
    PRIMARY KEY (run_id, node_id)
);

-- Messages to publish: run requests, cancel signals and events.
CREATE TABLE outbox (
    id         uuid PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    subject    text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;

-- A run as the API shows it (every seed's names for the same fields).
CREATE FUNCTION run_doc(r runs) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
    DECLARE
        ms bigint := CASE WHEN r.started_at IS NULL THEN NULL
            ELSE (extract(epoch FROM coalesce(r.completed_at, r.cancelled_at,
                                              now()) - r.started_at) * 1000)::bigint
            END;
    BEGIN
    RETURN json_build_object(
        'id', r.id, 'run_id', r.id, 'execution_id', r.id,
        'pipeline_logging_id', r.id, 'tenant_id', r.tenant_id,
        'pipeline_id', r.pipeline_id, 'pipeline_version', r.pipeline_version,
        'status', r.status, 'trigger_type', r.trigger_type,
        'trigger_by', r.trigger_by, 'input_params', r.input_params,
        'result_data', r.result_data, 'error_message', r.error_message,
        'records_processed', r.records_processed,
        'rows_processed', r.records_processed,
        'records_failed', r.records_failed,
        'original_run_id', r.original_run_id,
        'cancel_requested', r.cancel_requested,
        'created_at', rfc3339(r.created_at),
        'started_at', rfc3339(coalesce(r.started_at, r.created_at)),
        'completed_at', rfc3339(r.completed_at),
        'finished_at', rfc3339(r.completed_at),
        'cancelled_at', rfc3339(r.cancelled_at),
        'duration_ms', ms, 'duration_seconds', round(ms / 1000.0, 3),
        'steps', (SELECT coalesce(json_agg(json_build_object(
                      'node_id', s.node_id, 'module', s.module,
                      'status', s.status, 'rows_input', s.rows_input,
                      'rows_output', s.rows_output,
                      'rows_filtered', s.rows_filtered,
                      'started_at', rfc3339(s.started_at),
                      'completed_at', rfc3339(s.completed_at),
                      'duration_ms', (extract(epoch FROM s.completed_at -
                                      s.started_at) * 1000)::bigint,
                      'error_message', s.error_message) ORDER BY s.position),
                      '[]')
                  FROM run_steps s WHERE s.run_id = r.id));
    END
    $$;

ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY runs_own ON runs USING (tenant_id = app_tenant());
ALTER TABLE run_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_steps_own ON run_steps USING (tenant_id = app_tenant());
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY outbox_own ON outbox USING (tenant_id = app_tenant());

GRANT SELECT, INSERT, UPDATE ON runs, run_steps, outbox TO sluice_app;
-- Purging a pipeline for good purges its runs.
GRANT DELETE ON runs TO sluice_app;
GRANT EXECUTE ON FUNCTION run_doc(runs) TO sluice_app;
