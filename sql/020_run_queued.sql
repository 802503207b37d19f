-- 020_run_queued.sql: a run's first event, pipeline.queued (issue 11).
--
-- A WebSocket subscriber sees a run go pending -> running -> completed:
-- the run's creation now writes, in the same transaction as the run and
-- its request, a pipeline.queued event (status pending) to the outbox.
-- Its outbox id is the run's id and its body is run_queued_event() of the
-- run row, so that the API, which publishes it straight after commit
-- (before the run request, so that it precedes pipeline.started), can
-- build the very body the relay would send; the relay sends it when the
-- API could not. Both run_request() callers get it: the API (through
-- run_request_by(), 015) and the scheduler (scheduler_fire(), 009).

-- The pipeline.queued event of run r: a function of the row alone.
CREATE FUNCTION run_queued_event(r runs) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'event_id', 'evt_' || replace(r.id::text, '-', ''),
        'event_type', 'pipeline.queued',
        'timestamp', rfc3339(r.created_at),
        'organization_id', r.tenant_id,
        'data', jsonb_build_object(
            'pipeline_id', r.pipeline_id, 'execution_id', r.id,
            'run_id', r.id, 'status', 'pending',
            'trigger_type', r.trigger_type, 'progress', 0,
            'rows_processed', 0))
    $$;

-- As in 009, plus the pipeline.queued event, written first (a moment
-- earlier, so that the relay, which sends by created_at, sends it before
-- the request should the API not).
CREATE OR REPLACE FUNCTION run_request(
        p_run uuid, p_pipeline uuid, p_version integer, p_trigger_type text,
        p_trigger_by text, p_input jsonb, p_original uuid, p_key text,
        p_outbox uuid)
    RETURNS runs
    LANGUAGE plpgsql VOLATILE
    AS $$
    DECLARE
        r runs;
    BEGIN
        INSERT INTO runs AS x (id, tenant_id, pipeline_id, pipeline_version,
                               trigger_type, trigger_by, input_params,
                               original_run_id, idempotency_key)
        VALUES (p_run, app_tenant(), p_pipeline, p_version, p_trigger_type,
                p_trigger_by, coalesce(p_input, '{}'), p_original, p_key)
        RETURNING * INTO r;
        INSERT INTO outbox (id, tenant_id, subject, payload, created_at)
        VALUES (p_run, app_tenant(),
                'sluice.event.' || app_tenant() || '.pipeline.queued',
                run_queued_event(r), now() - interval '1 millisecond');
        INSERT INTO outbox (id, tenant_id, subject, payload)
        VALUES (p_outbox, app_tenant(), 'sluice.run.request',
                jsonb_build_object('run_id', p_run, 'tenant_id', app_tenant(),
                                   'pipeline_id', p_pipeline,
                                   'outbox_id', p_outbox));
        RETURN r;
    END
    $$;

GRANT EXECUTE ON FUNCTION run_queued_event(runs) TO sluice_app, sluice_runner;
