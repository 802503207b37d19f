-- 008_runner.sql: what sluice-runner may do across organisations.
--
-- A runner works on one run at a time per thread, inside a transaction
-- scoped to the run's organisation, like the API: claiming the run,
-- recording its steps and logs, writing its end together with its event.
-- Two questions cross organisations, and each is one SECURITY DEFINER
-- function: the heartbeat of every run a runner holds, and the sweep that
-- takes back runs whose runner stopped beating.

-- How long a run may go without a heartbeat before another runner may
-- take it (runners beat every second).
CREATE FUNCTION run_stale_after() RETURNS interval
    LANGUAGE sql IMMUTABLE AS $$ SELECT interval '15 seconds' $$;

-- How many times a run is started before a lost runner fails it.
CREATE FUNCTION run_max_attempts() RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 3 $$;

-- A run's event as seed 001's webhook payload, for the outbox.
CREATE FUNCTION run_event(r runs, p_type text) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object(
            'event_id', 'evt_' || replace(gen_random_uuid()::text, '-', ''),
            'event_type', p_type,
            'timestamp', rfc3339(now()),
            'organization_id', r.tenant_id,
            'data', jsonb_build_object(
                'pipeline_id', r.pipeline_id, 'execution_id', r.id,
                'run_id', r.id, 'status', r.status,
                'trigger_type', r.trigger_type,
                'records_processed', r.records_processed,
                'records_failed', r.records_failed,
                'duration_seconds', round(extract(epoch FROM
                    coalesce(r.completed_at, r.cancelled_at, now()) -
                    coalesce(r.started_at, r.created_at))::numeric, 3),
                'error_message', r.error_message,
                'result_data', r.result_data))
    $$;

-- Beats for the runs runner p_runner holds among p_ids; answers which of
-- them are still its own and whether each has been asked to stop.
CREATE FUNCTION run_heartbeat(p_runner text, p_ids uuid[])
    RETURNS TABLE (id uuid, cancel_requested boolean)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE runs r SET heartbeat_at = now()
        WHERE r.id = ANY (p_ids[1:1000]) AND r.claimed_by = p_runner
          AND r.status = 'running'
        RETURNING r.id, r.cancel_requested
    $$;

-- Takes back runs whose runner stopped beating: each is requested again
-- (through the outbox), or failed once it has been started
-- run_max_attempts() times; a run asked to stop is cancelled. Returns
-- the runs it touched and what became of them.
CREATE FUNCTION run_sweep(p_limit integer)
    RETURNS TABLE (id uuid, tenant_id text, outcome text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        r runs;
        o uuid;
    BEGIN
        FOR r IN SELECT * FROM runs x
                 WHERE x.status = 'running'
                   AND x.heartbeat_at < now() - run_stale_after()
                 ORDER BY x.heartbeat_at LIMIT least(p_limit, 100)
                 FOR UPDATE SKIP LOCKED
        LOOP
            IF r.cancel_requested THEN
                UPDATE runs x SET status = 'cancelled', cancelled_at = now(),
                    completed_at = now(),
                    error_message = 'Cancelled; its runner stopped answering'
                    WHERE x.id = r.id RETURNING * INTO r;
                INSERT INTO outbox (id, tenant_id, subject, payload)
                VALUES (gen_random_uuid(), r.tenant_id, 'sluice.event.' ||
                        r.tenant_id || '.pipeline.cancelled',
                        run_event(r, 'pipeline.cancelled'));
                id := r.id; tenant_id := r.tenant_id; outcome := 'cancelled';
            ELSIF r.attempts >= run_max_attempts() THEN
                UPDATE runs x SET status = 'failed', completed_at = now(),
                    error_message = format('RUNNER_LOST: the runner %s stopped '
                        'answering (last heartbeat %s) and the run has been '
                        'started %s times', r.claimed_by,
                        rfc3339(r.heartbeat_at), r.attempts)
                    WHERE x.id = r.id RETURNING * INTO r;
                UPDATE run_steps s SET status = 'failed', completed_at = now()
                    WHERE s.run_id = r.id AND s.status = 'running';
                INSERT INTO outbox (id, tenant_id, subject, payload)
                VALUES (gen_random_uuid(), r.tenant_id, 'sluice.event.' ||
                        r.tenant_id || '.pipeline.failed',
                        run_event(r, 'pipeline.failed'));
                id := r.id; tenant_id := r.tenant_id; outcome := 'failed';
            ELSE
                UPDATE runs x SET status = 'pending', claimed_by = NULL,
                    heartbeat_at = NULL WHERE x.id = r.id;
                o := gen_random_uuid();
                INSERT INTO outbox (id, tenant_id, subject, payload)
                VALUES (o, r.tenant_id, 'sluice.run.request',
                        jsonb_build_object('run_id', r.id,
                            'tenant_id', r.tenant_id,
                            'pipeline_id', r.pipeline_id, 'outbox_id', o));
                id := r.id; tenant_id := r.tenant_id; outcome := 'requeued';
            END IF;
            RETURN NEXT;
        END LOOP;
    END
    $$;

REVOKE ALL ON FUNCTION run_heartbeat(text, uuid[]), run_sweep(integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION run_heartbeat(text, uuid[]), run_sweep(integer),
    run_event(runs, text), run_stale_after(), run_max_attempts()
    TO sluice_app;
GRANT DELETE ON run_steps TO sluice_app;
