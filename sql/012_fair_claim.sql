-- 012_fair_claim.sql: runner slots shared fairly between organisations.
--
-- A request on the work queue is a wake-up, not an order: a runner with a
-- free slot asks run_claim_next() which run to take, and takes that one,
-- whichever the request named. The choice, among the organisations with
-- a run waiting (pending, not asked to stop) and fewer runs running than
-- their plan's concurrent_runs_limit (an organisation without a plan has
-- no cap): the one running the fewest now, ties going to the one whose
-- waiting run is oldest; then that organisation's oldest waiting run. So
-- one organisation's burst of a hundred runs takes the slots nobody else
-- wants, and a run of another waits at most for the next slot to free.
-- A run held back by its organisation's cap stays pending; it is taken
-- when one of its organisation's runs ends (the runner that ends it
-- claims again before it waits for a request).
--
-- With several runners, claims take turns: each holds the transaction
-- advisory lock 735324663 (the scheduler has 735324662, sluice-migrate
-- 735324661) from before it counts until its claim commits, so the next
-- claimer counts that run as running, and no two runners both see a free
-- slot under an organisation's cap. A claim is one short transaction.

CREATE INDEX runs_waiting ON runs (tenant_id, created_at, id)
    WHERE status = 'pending';
CREATE INDEX runs_running ON runs (tenant_id) WHERE status = 'running';

-- Claims, for runner p_runner, the run the rules above choose: running,
-- its steps reset (one per node of the pipeline version it runs). No row
-- when no run may start now; definition NULL if its version is gone.
CREATE FUNCTION run_claim_next(p_runner text)
    RETURNS TABLE (run_id uuid, run_tenant text, run_pipeline uuid,
                   params text, definition text, attempt integer,
                   started double precision)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        v_id uuid;
        r runs;
    BEGIN
        PERFORM pg_advisory_xact_lock(735324663);
        -- A VOLATILE function's statements each see what committed before
        -- them: the previous claimer's run is running by now.
        FOR i IN 1..3 LOOP
            SELECT w.id INTO v_id
            FROM (SELECT DISTINCT ON (x.tenant_id) x.tenant_id, x.id,
                         x.created_at
                  FROM runs x
                  WHERE x.status = 'pending' AND NOT x.cancel_requested
                  ORDER BY x.tenant_id, x.created_at, x.id) w
            CROSS JOIN LATERAL (SELECT count(*) AS n FROM runs b
                                WHERE b.tenant_id = w.tenant_id
                                  AND b.status = 'running') busy
            LEFT JOIN tenant_subscriptions s ON s.tenant_id = w.tenant_id
            WHERE s.tenant_id IS NULL OR busy.n < s.concurrent_runs_limit
            ORDER BY busy.n, w.created_at, w.id
            LIMIT 1;
            IF v_id IS NULL THEN
                RETURN;
            END IF;
            -- A cancel may have come meanwhile: then choose again.
            UPDATE runs x SET status = 'running', claimed_by = p_runner,
                heartbeat_at = now(),
                started_at = coalesce(x.started_at, clock_timestamp()),
                attempts = x.attempts + 1
            WHERE x.id = v_id AND x.status = 'pending'
              AND NOT x.cancel_requested
            RETURNING x.* INTO r;
            EXIT WHEN r.id IS NOT NULL;
            v_id := NULL;
        END LOOP;
        IF r.id IS NULL THEN
            RETURN;
        END IF;
        RETURN QUERY
        WITH v AS (SELECT pv.definition FROM pipeline_versions pv
                   WHERE pv.pipeline_id = r.pipeline_id
                     AND pv.version = r.pipeline_version),
        s AS (INSERT INTO run_steps AS s (run_id, tenant_id, node_id, module,
                                          position)
              SELECT r.id, r.tenant_id, n->>'id', coalesce(n->>'module', ''),
                     o - 1
              FROM v, jsonb_array_elements(v.definition->'nodes')
                      WITH ORDINALITY AS x(n, o)
              ON CONFLICT ON CONSTRAINT run_steps_pkey DO UPDATE SET
                  status = 'pending', rows_input = 0, rows_output = 0,
                  rows_filtered = 0, memory_peak_kb = NULL, cpu_ms = NULL,
                  error_message = NULL, started_at = NULL,
                  completed_at = NULL)
        SELECT r.id, r.tenant_id, r.pipeline_id, r.input_params::text,
               (SELECT v.definition::text FROM v), r.attempts,
               extract(epoch FROM r.started_at)::float8;
    END
    $$;

REVOKE ALL ON FUNCTION run_claim_next(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION run_claim_next(text) TO sluice_app;
