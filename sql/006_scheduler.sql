-- 006_scheduler.sql: what is due to run now, across organisations.
--
-- The scheduler (POST /api/v1/scheduler/trigger with the admin key, seed
-- 003; later also the runner's own clock) asks this one SECURITY DEFINER
-- question; it then fires each item in a transaction scoped to the item's
-- organisation, claiming it by moving next_run_at on only if it has not
-- moved, so that two schedulers never fire the same item twice.

CREATE FUNCTION scheduler_due(p_limit integer)
    RETURNS TABLE (kind text, id uuid, tenant_id text, pipeline_id uuid,
                   cron text, timezone text, next_run_at text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT kind, id, tenant_id, pipeline_id, cron, timezone, next_text
        FROM (
            SELECT 'pipeline', p.id, p.tenant_id, p.id, p.schedule_cron,
                   p.schedule_timezone, p.next_run_at::text, p.next_run_at
            FROM pipelines p JOIN tenants t ON t.id = p.tenant_id
            WHERE t.is_active AND p.deleted_at IS NULL AND p.status = 'active'
              AND p.schedule_enabled AND p.schedule_cron IS NOT NULL
              AND p.next_run_at <= now()
            UNION ALL
            SELECT 'trigger', g.id, g.tenant_id, g.pipeline_id, g.cron,
                   g.timezone, g.next_run_at::text, g.next_run_at
            FROM triggers g JOIN pipelines p ON p.id = g.pipeline_id
            JOIN tenants t ON t.id = g.tenant_id
            WHERE t.is_active AND g.enabled AND g.trigger_type = 'cron'
              AND g.next_run_at <= now() AND p.deleted_at IS NULL
              AND p.status NOT IN ('paused', 'archived'))
            AS due (kind, id, tenant_id, pipeline_id, cron, timezone,
                    next_text, next_at)
        ORDER BY next_at LIMIT least(p_limit, 1000)
    $$;

REVOKE ALL ON FUNCTION scheduler_due(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scheduler_due(integer) TO sluice_app;
