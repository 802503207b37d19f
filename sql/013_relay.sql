-- 013_relay.sql: nothing lost, nothing stalled.
--
-- What 002 to 010 set up (the outbox and its relay, runs' events,
-- reconciliation, the scheduler), made to keep going when one thing goes
-- wrong:
--   * an outbox row that fails to publish no longer stops the relay: it is
--     tried again with backoff and, after the relay's last try, parked
--     (kept, counted, shown by /health/detailed) until an operator
--     re-queues it; the rows behind it still go;
--   * a run's event holds at most run_event_max_bytes() of JSON: a
--     result_data that would make it larger is trimmed, and the event says
--     so (the run's own row keeps the whole result);
--   * reconciliation judges each pending run by the age of its last
--     request, not by how full the work queue is, and spaces a run's
--     requests further apart each time;
--   * a pipeline's schedule or a cron trigger whose next time cannot be
--     computed is disabled with a reason the API shows, instead of being
--     due for ever.

-- --- the outbox: tries, backoff, parking -----------------------------------

ALTER TABLE outbox
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_error text CHECK (length(last_error) <= 1000),
    ADD COLUMN parked_at timestamptz;

-- The rows the relay publishes now: unsent, not parked, older than p_grace
-- (the API publishes its own at once), and not waiting out a backoff;
-- oldest first, with the tries each has had. Replaces outbox_unsent().
CREATE FUNCTION outbox_due(p_limit integer, p_grace interval)
    RETURNS TABLE (id uuid, subject text, payload text, attempts integer)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT o.id, o.subject, o.payload::text, o.attempts FROM outbox o
        WHERE o.sent_at IS NULL AND o.parked_at IS NULL
          AND o.created_at < now() - p_grace
          AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= now())
        ORDER BY o.created_at LIMIT least(p_limit, 1000)
    $$;

DROP FUNCTION outbox_unsent(integer, interval);

-- Records that row p_id, seen after p_seen tries, failed once more with
-- p_error. The next try waits p_backoff, doubled at each failure, at most
-- p_backoff_max; the p_max-th failure parks the row. One row: its tries
-- and whether it is now parked; none when another relay recorded this
-- same failure first (several runners relay at once), or the row was
-- sent or parked meanwhile.
CREATE FUNCTION outbox_mark_failed(
        p_id uuid, p_seen integer, p_error text, p_max integer,
        p_backoff interval, p_backoff_max interval)
    RETURNS TABLE (attempts integer, parked boolean)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE outbox o SET attempts = o.attempts + 1,
            last_error = left(p_error, 1000),
            next_attempt_at = now() + least(
                p_backoff * power(2, least(o.attempts, 30)), p_backoff_max),
            parked_at = CASE WHEN o.attempts + 1 >= p_max THEN now() END
        WHERE o.id = p_id AND o.attempts = p_seen AND o.sent_at IS NULL
          AND o.parked_at IS NULL
        RETURNING o.attempts, o.parked_at IS NOT NULL
    $$;

-- What /health/detailed shows of the outbox, across organisations: rows
-- waiting to be published (unsent), those among them that failed at
-- least once (retrying), rows parked, and the age in seconds of the oldest
-- row waiting (0 when none).
CREATE FUNCTION outbox_stats(
        OUT unsent bigint, OUT retrying bigint, OUT parked bigint,
        OUT lag_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT count(*) FILTER (WHERE o.parked_at IS NULL),
               count(*) FILTER (WHERE o.parked_at IS NULL AND o.attempts > 0),
               count(*) FILTER (WHERE o.parked_at IS NOT NULL),
               coalesce(extract(epoch FROM now() - min(o.created_at)
                   FILTER (WHERE o.parked_at IS NULL)), 0)::float8
        FROM outbox o WHERE o.sent_at IS NULL
    $$;

-- The operator's: puts parked row p_id back in the relay's hands (every
-- parked row when p_id is NULL), its tries counted from zero again; its
-- last error stays until the next try. Returns how many rows. Run it as
-- the owner (docs/operator-guide.md); the application may not.
CREATE FUNCTION outbox_requeue(p_id uuid DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE
    AS $$
        WITH r AS (
            UPDATE outbox o SET parked_at = NULL, attempts = 0,
                next_attempt_at = NULL
            WHERE o.sent_at IS NULL AND o.parked_at IS NOT NULL
              AND (p_id IS NULL OR o.id = p_id)
            RETURNING 1)
        SELECT count(*) FROM r
    $$;

REVOKE ALL ON FUNCTION outbox_due(integer, interval),
    outbox_mark_failed(uuid, integer, text, integer, interval, interval),
    outbox_stats(), outbox_requeue(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_due(integer, interval),
    outbox_mark_failed(uuid, integer, text, integer, interval, interval),
    outbox_stats() TO sluice_app;

-- --- events: capped --------------------------------------------------------

-- The most bytes of JSON a run's event may hold; the runner's own events
-- (run.log, run.progress) obey the same bound, SL_MAX_EVENT_BYTES in
-- lib/limits.h.
CREATE FUNCTION run_event_max_bytes() RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 65536 $$;

-- What an event keeps of a result_data too big for it: the members of the
-- top-level object that are numbers, booleans, nulls or strings of at most
-- 256 bytes (records_processed, records_failed...), not the objects and
-- arrays (each node's details). NULL when p is not an object.
CREATE FUNCTION event_result_trim(p jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT CASE WHEN jsonb_typeof(p) = 'object' THEN
            (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}')
             FROM jsonb_each(p) e
             WHERE jsonb_typeof(e.value) IN ('number', 'boolean', 'null')
                OR (jsonb_typeof(e.value) = 'string'
                    AND octet_length(e.value #>> '{}') <= 256))
        END
    $$;

-- A run's event as seed 001's webhook payload, for the outbox (as in 008),
-- now bounded: when it would exceed run_event_max_bytes(), data.result_data
-- is trimmed (event_result_trim(), then dropped if that is not enough) and
-- data.result_data_truncated is true; an error message still too long is
-- cut, with data.error_message_truncated. The run's row is not touched.
CREATE OR REPLACE FUNCTION run_event(r runs, p_type text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
    DECLARE
        e jsonb := jsonb_build_object(
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
                'result_data', r.result_data));
        cap integer := run_event_max_bytes();
    BEGIN
        IF octet_length(e::text) <= cap THEN
            RETURN e;
        END IF;
        e := jsonb_set(e, '{data,result_data}',
                       coalesce(event_result_trim(r.result_data), 'null'));
        e := jsonb_set(e, '{data,result_data_truncated}', 'true');
        IF octet_length(e::text) > cap THEN
            e := jsonb_set(e, '{data,result_data}', 'null');
        END IF;
        IF octet_length(e::text) > cap THEN
            e := jsonb_set(e, '{data,error_message}',
                           to_jsonb(left(r.error_message, 1024)));
            e := jsonb_set(e, '{data,error_message_truncated}', 'true');
        END IF;
        RETURN e;
    END
    $$;

-- --- reconciliation: by the age of each run's last request -----------------

-- Requests again, through the outbox, each pending run (not asked to stop)
-- whose request NATS may have lost: none of its requests is still unsent,
-- and its last one went out longer ago than p_after doubled for each
-- request it already had, at most p_max (p_after after the first request,
-- twice that after the second...). So a run waiting its turn in a long
-- queue, or at its organisation's cap of runs at once, is asked for at
-- most once per interval, and less and less often; a spare request is
-- harmless, since the claim decides. Returns the runs requested, with the
-- number of requests each now has. Replaces run_reconcile(interval,
-- integer) of 010, which the runner called only when the work queue was
-- empty.
CREATE FUNCTION run_reconcile(p_after interval, p_max interval,
                              p_limit integer)
    RETURNS TABLE (id uuid, tenant_id text, requests bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        c record;
        o uuid;
    BEGIN
        FOR c IN SELECT x.id, x.tenant_id, x.pipeline_id, q.n FROM runs x
                 CROSS JOIN LATERAL (
                     SELECT count(*) AS n, max(b.sent_at) AS last,
                            count(*) FILTER (WHERE b.sent_at IS NULL)
                                AS unsent
                     FROM outbox b
                     WHERE b.subject = 'sluice.run.request'
                       AND b.payload->>'run_id' = x.id::text) q
                 WHERE x.status = 'pending' AND NOT x.cancel_requested
                   AND x.created_at < now() - p_after AND q.unsent = 0
                   AND (q.n = 0 OR q.last < now() - least(
                        p_after * power(2, least(q.n - 1, 30)), p_max))
                 ORDER BY x.created_at LIMIT least(p_limit, 100)
                 FOR UPDATE OF x SKIP LOCKED
        LOOP
            o := gen_random_uuid();
            INSERT INTO outbox (id, tenant_id, subject, payload)
            VALUES (o, c.tenant_id, 'sluice.run.request',
                    jsonb_build_object('run_id', c.id,
                        'tenant_id', c.tenant_id,
                        'pipeline_id', c.pipeline_id, 'outbox_id', o));
            id := c.id; tenant_id := c.tenant_id; requests := c.n + 1;
            RETURN NEXT;
        END LOOP;
    END
    $$;

DROP FUNCTION run_reconcile(interval, integer);
REVOKE ALL ON FUNCTION run_reconcile(interval, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION run_reconcile(interval, interval, integer)
    TO sluice_app;

-- --- schedules and triggers that cannot be computed ------------------------

ALTER TABLE pipelines
    ADD COLUMN schedule_disabled_reason text
        CHECK (length(schedule_disabled_reason) <= 1000);
ALTER TABLE triggers
    ADD COLUMN disabled_reason text CHECK (length(disabled_reason) <= 1000);

-- Disables what scheduler_due() answered, p_kind 'pipeline' (its
-- schedule) or 'trigger', p_id, seen due at p_due, because its next time
-- cannot be computed (p_reason says why): enabled false, no next run, and
-- the reason kept for the API to show. Only if next_run_at is still
-- p_due, as scheduler_fire() claims. Runs with the invoker's rights in a
-- transaction scoped to the item's organisation. Returns whether it did.
CREATE FUNCTION scheduler_disable(p_kind text, p_id uuid, p_due timestamptz,
                                  p_reason text)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    AS $$
    BEGIN
        IF p_kind = 'pipeline' THEN
            UPDATE pipelines p SET schedule_enabled = false,
                next_run_at = NULL,
                schedule_disabled_reason = left(p_reason, 1000)
            WHERE p.id = p_id AND p.next_run_at = p_due;
        ELSIF p_kind = 'trigger' THEN
            UPDATE triggers g SET enabled = false, next_run_at = NULL,
                disabled_reason = left(p_reason, 1000)
            WHERE g.id = p_id AND g.next_run_at = p_due;
        ELSE
            RAISE EXCEPTION 'scheduler_disable: unknown kind %', p_kind
                USING ERRCODE = '22023';
        END IF;
        RETURN FOUND;
    END
    $$;

GRANT EXECUTE ON FUNCTION scheduler_disable(text, uuid, timestamptz, text)
    TO sluice_app;

-- A reason stops being true once the expression or the zone changes, or
-- the schedule is turned on again: it is then forgotten, whoever made the
-- change.
CREATE FUNCTION schedule_reason_forget() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        IF TG_TABLE_NAME = 'pipelines' THEN
            IF NEW.schedule_disabled_reason IS NOT NULL AND
               (NEW.schedule_cron IS DISTINCT FROM OLD.schedule_cron OR
                NEW.schedule_timezone IS DISTINCT FROM OLD.schedule_timezone
                OR (NEW.schedule_enabled AND NOT OLD.schedule_enabled)) THEN
                NEW.schedule_disabled_reason := NULL;
            END IF;
        ELSIF NEW.disabled_reason IS NOT NULL AND
              (NEW.cron IS DISTINCT FROM OLD.cron OR
               NEW.timezone IS DISTINCT FROM OLD.timezone OR
               (NEW.enabled AND NOT OLD.enabled)) THEN
            NEW.disabled_reason := NULL;
        END IF;
        RETURN NEW;
    END
    $$;

CREATE TRIGGER pipelines_schedule_reason BEFORE UPDATE ON pipelines
    FOR EACH ROW EXECUTE FUNCTION schedule_reason_forget();
CREATE TRIGGER triggers_schedule_reason BEFORE UPDATE ON triggers
    FOR EACH ROW EXECUTE FUNCTION schedule_reason_forget();

-- A pipeline as the API shows it (as in 003), its schedule_config now with
-- disabled_reason: why the scheduler turned the schedule off, or null.
CREATE OR REPLACE FUNCTION pipeline_doc(p pipelines) RETURNS json
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
                                   'next_run', rfc3339(p.next_run_at),
                                   'disabled_reason',
                                   p.schedule_disabled_reason) END,
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
