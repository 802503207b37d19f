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

-- A pipeline as the API shows it. Built here, in one place, so that a read
-- is one round trip and one text the API passes on unparsed. steps is
-- seed 000's ordered view of the nodes (stored in dependency order);
-- source_type and target_type are seed 001's; last_execution (also
-- last_run), recent_executions and metrics are the pipeline's runs.
-- PL/pgSQL, not SQL: a SQL function called on a row is planned again at
-- every call, while PL/pgSQL keeps its plans for the session.
CREATE FUNCTION pipeline_doc(p pipelines) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
    DECLARE
        last json := (SELECT json_build_object(
            'id', r.id, 'run_id', r.id, 'status', r.status,
            'started_at', rfc3339(coalesce(r.started_at, r.created_at)),
            'completed_at', rfc3339(r.completed_at),
            'finished_at', rfc3339(r.completed_at),
            'records_processed', r.records_processed,
            'rows_processed', r.records_processed)
            FROM runs r WHERE r.pipeline_id = p.id
            ORDER BY r.created_at DESC, r.id DESC LIMIT 1);
    BEGIN
    RETURN json_build_object(
        'id', p.id, 'pipeline_id', p.id, 'slug', p.slug, 'name', p.name,
        'description', p.description, 'project_id', p.project_id,
        'status', p.status, 'version', p.version,
        'nodes', p.nodes, 'edges', p.edges,
        'steps', (SELECT coalesce(json_agg(json_build_object(
                      'step_id', n->>'id',
                      'name', coalesce(n->>'name', n->>'id'),
                      'order', o, 'type', n->>'type', 'module', n->>'module')
                      ORDER BY o), '[]')
                  FROM jsonb_array_elements(p.nodes) WITH ORDINALITY AS x(n, o)),
        'source_type', (SELECT n->>'module' FROM jsonb_array_elements(p.nodes) n
                        WHERE n->>'type' = 'extractor' LIMIT 1),
        'target_type', (SELECT n->>'module' FROM jsonb_array_elements(p.nodes) n
                        WHERE n->>'type' = 'loader' LIMIT 1),
        'schedule', p.schedule_cron,
        'is_scheduled', p.schedule_cron IS NOT NULL AND p.schedule_enabled,
        'schedule_config', CASE WHEN p.schedule_cron IS NULL THEN NULL
            ELSE json_build_object('cron', p.schedule_cron,
                                   'timezone', p.schedule_timezone,
                                   'enabled', p.schedule_enabled,
                                   'next_run', rfc3339(p.next_run_at)) END,
        'next_run', rfc3339(p.next_run_at),
        'tags', to_json(p.tags), 'default_params', p.default_params,
        'data_quality_rules', p.data_quality_rules,
        'configuration', p.configuration,
        'deployed_at', rfc3339(p.deployed_at),
        'deployed_version', p.deployed_version,
        'created_by', p.created_by,
        'created_at', rfc3339(p.created_at),
        'updated_at', rfc3339(p.updated_at),
        'deleted_at', rfc3339(p.deleted_at),
        'last_execution', last, 'last_run', last,
        'recent_executions', (SELECT coalesce(json_agg(json_build_object(
                'id', r.id, 'status', r.status,
                'started_at', rfc3339(coalesce(r.started_at, r.created_at)),
                'completed_at', rfc3339(r.completed_at),
                'records_processed', r.records_processed,
                'error_message', r.error_message)
                ORDER BY r.created_at DESC, r.id DESC), '[]')
            FROM (SELECT * FROM runs WHERE pipeline_id = p.id
                  ORDER BY created_at DESC, id DESC LIMIT 5) r),
        'metrics', (SELECT json_build_object(
                'total_executions', count(*),
                'successful_executions',
                    count(*) FILTER (WHERE r.status = 'completed'),
                'failed_executions', count(*) FILTER (WHERE r.status = 'failed'),
                'avg_execution_time_minutes', round((avg(extract(epoch FROM
                    r.completed_at - r.started_at)) FILTER (WHERE r.status =
                    'completed') / 60)::numeric, 3),
                'avg_records_per_execution', round(avg(r.records_processed)
                    FILTER (WHERE r.status = 'completed'), 1))
            FROM runs r WHERE r.pipeline_id = p.id));
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
GRANT EXECUTE ON FUNCTION run_doc(runs), pipeline_doc(pipelines) TO sluice_app;
