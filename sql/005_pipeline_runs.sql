-- 005_pipeline_runs.sql: a pipeline shows its runs (seeds 001, 002, 004):
-- last_execution (also last_run), recent_executions and metrics. The
-- versions kept of a pipeline are its definition: the trigger leaves
-- these run figures out of them.

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

CREATE OR REPLACE FUNCTION pipeline_version_keep() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        IF TG_OP = 'INSERT' OR NEW.version <> OLD.version THEN
            INSERT INTO pipeline_versions (tenant_id, pipeline_id, version,
                                           definition, created_by)
            VALUES (NEW.tenant_id, NEW.id, NEW.version,
                    pipeline_doc(NEW)::jsonb - 'last_execution' - 'last_run'
                        - 'recent_executions' - 'metrics',
                    app_user());
        END IF;
        RETURN NULL;
    END
    $$;
