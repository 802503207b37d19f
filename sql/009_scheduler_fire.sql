-- 009_scheduler_fire.sql: starting a run, checking the plan's quotas and
-- firing a schedule, each said once, for the API and the runner alike.
--
-- The API starts runs on request; the scheduler (the runner's clock every
-- two seconds, and POST /api/v1/scheduler/trigger) starts them when a
-- pipeline's schedule or a cron trigger is due. Both must write the same
-- run, check the same quotas and refuse for the same reasons, so the rules
-- live here, in functions with the invoker's rights: they run as
-- sluice_app inside a transaction scoped to one organisation
-- (app.tenant_id), where row-level security applies as to any statement.
-- The next time a schedule fires is computed by the caller, in C
-- (lib/cron.c): cron with time zones lives there only.

-- The organisation's plan quotas (seed 003), for a run about to start:
-- runs a day, runs a month, runs at once (pending or running). Takes the
-- subscription row FOR UPDATE first, so that concurrent starts take turns
-- and each sees the runs the others committed (a VOLATILE function takes
-- a fresh snapshot at each statement). One row: spent is NULL when a run
-- may start (also when the organisation has no plan); otherwise
-- 'subscription' (its status is not 'active') or the quota spent, with
-- its usage, limit and, for daily and monthly quotas, when it resets.
CREATE FUNCTION run_quota_check(
        OUT spent text, OUT subscription_status text,
        OUT current_usage bigint, OUT quota_limit bigint, OUT reset_at text)
    LANGUAGE plpgsql VOLATILE
    AS $$
    DECLARE
        s tenant_subscriptions;
        day timestamptz := date_trunc('day', now() AT TIME ZONE 'UTC')
                           AT TIME ZONE 'UTC';
        month timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC')
                             AT TIME ZONE 'UTC';
        n bigint;
    BEGIN
        SELECT * INTO s FROM tenant_subscriptions x
        WHERE x.tenant_id = app_tenant() FOR UPDATE;
        IF NOT FOUND THEN
            RETURN; -- no plan: no quota
        END IF;
        subscription_status := s.status;
        IF s.status <> 'active' THEN
            spent := 'subscription';
            RETURN;
        END IF;
        SELECT count(*) INTO n FROM runs r WHERE r.created_at >= day;
        IF n >= s.daily_runs_limit THEN
            spent := 'daily_pipelines'; current_usage := n;
            quota_limit := s.daily_runs_limit;
            reset_at := rfc3339(day + interval '1 day');
            RETURN;
        END IF;
        SELECT count(*) INTO n FROM runs r WHERE r.created_at >= month;
        IF n >= s.monthly_runs_limit THEN
            spent := 'monthly_pipelines'; current_usage := n;
            quota_limit := s.monthly_runs_limit;
            reset_at := rfc3339(month + interval '1 month');
            RETURN;
        END IF;
        SELECT count(*) INTO n FROM runs r
        WHERE r.status IN ('pending', 'running');
        IF n >= s.concurrent_runs_limit THEN
            spent := 'concurrent_runs'; current_usage := n;
            quota_limit := s.concurrent_runs_limit;
        END IF;
    END
    $$;

-- Writes run p_run of pipeline p_pipeline (at version p_version) in the
-- transaction's organisation, pending, with its request in the outbox
-- (outbox id p_outbox), and returns it. A second run with the same
-- idempotency key breaks runs_idempotency (23505).
CREATE FUNCTION run_request(
        p_run uuid, p_pipeline uuid, p_version integer, p_trigger_type text,
        p_trigger_by text, p_input jsonb, p_original uuid, p_key text,
        p_outbox uuid)
    RETURNS runs
    LANGUAGE plpgsql VOLATILE
    AS $$
    DECLARE
        r runs;
    BEGIN
        INSERT INTO outbox (id, tenant_id, subject, payload)
        VALUES (p_outbox, app_tenant(), 'sluice.run.request',
                jsonb_build_object('run_id', p_run, 'tenant_id', app_tenant(),
                                   'pipeline_id', p_pipeline,
                                   'outbox_id', p_outbox));
        INSERT INTO runs AS x (id, tenant_id, pipeline_id, pipeline_version,
                               trigger_type, trigger_by, input_params,
                               original_run_id, idempotency_key)
        VALUES (p_run, app_tenant(), p_pipeline, p_version, p_trigger_type,
                p_trigger_by, coalesce(p_input, '{}'), p_original, p_key)
        RETURNING * INTO r;
        RETURN r;
    END
    $$;

-- Fires one item scheduler_due() answered: a pipeline's schedule
-- (p_kind 'pipeline') or a cron trigger ('trigger'), p_id, seen due at
-- p_due. Claims it by moving next_run_at on to p_next, only if it is
-- still p_due (so two schedulers never fire it twice), then checks the
-- quotas, then writes the run (p_run) and its request (p_outbox):
-- trigger_type 'schedule' by 'scheduler' for a pipeline's schedule,
-- 'trigger' by the trigger's id for a trigger, with the pipeline's
-- default parameters (under the trigger's). Returns one row:
--   outcome 'fired'     the run was written; payload is its request;
--           'taken'     another scheduler moved next_run_at first;
--           'quota'     quota_type is spent: no run, the firing is spent;
--           'inactive'  the subscription is not active: likewise.
-- The caller commits in every case, and publishes payload after commit.
CREATE FUNCTION scheduler_fire(
        p_kind text, p_id uuid, p_due timestamptz, p_next timestamptz,
        p_run uuid, p_outbox uuid,
        OUT outcome text, OUT pipeline_id uuid, OUT run_id uuid,
        OUT quota_type text, OUT payload text)
    LANGUAGE plpgsql VOLATILE
    AS $$
    DECLARE
        v_version integer;
        v_params jsonb;
        q record;
    BEGIN
        IF p_kind = 'pipeline' THEN
            UPDATE pipelines p SET next_run_at = p_next
            WHERE p.id = p_id AND p.next_run_at = p_due
              AND p.deleted_at IS NULL
            RETURNING p.id, p.version, p.default_params
            INTO pipeline_id, v_version, v_params;
        ELSIF p_kind = 'trigger' THEN
            UPDATE triggers g SET next_run_at = p_next, last_run_at = now()
            FROM pipelines p
            WHERE g.id = p_id AND g.next_run_at = p_due
              AND p.id = g.pipeline_id AND p.deleted_at IS NULL
            RETURNING p.id, p.version, p.default_params || g.parameters
            INTO pipeline_id, v_version, v_params;
        ELSE
            RAISE EXCEPTION 'scheduler_fire: unknown kind %', p_kind
                USING ERRCODE = '22023';
        END IF;
        IF pipeline_id IS NULL THEN
            outcome := 'taken';
            RETURN;
        END IF;
        SELECT * INTO q FROM run_quota_check();
        IF q.spent = 'subscription' THEN
            outcome := 'inactive'; quota_type := q.spent;
            RETURN;
        ELSIF q.spent IS NOT NULL THEN
            outcome := 'quota'; quota_type := q.spent;
            RETURN;
        END IF;
        PERFORM run_request(p_run, pipeline_id, v_version,
            CASE p_kind WHEN 'trigger' THEN 'trigger' ELSE 'schedule' END,
            CASE p_kind WHEN 'trigger' THEN p_id::text ELSE 'scheduler' END,
            v_params, NULL, NULL, p_outbox);
        SELECT o.payload::text INTO payload FROM outbox o WHERE o.id = p_outbox;
        outcome := 'fired';
        run_id := p_run;
    END
    $$;

GRANT EXECUTE ON FUNCTION run_quota_check(),
    run_request(uuid, uuid, integer, text, text, jsonb, uuid, text, uuid),
    scheduler_fire(text, uuid, timestamptz, timestamptz, uuid, uuid)
    TO sluice_app;
