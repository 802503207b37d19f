-- 025_lineage.sql: data lineage (issue 12): OpenLineage run events
-- posted to the API, and those every Sluice run records of itself.
--
-- The model is OpenLineage's, kept current rather than versioned: a job
-- (namespace, name) reads input datasets and writes output datasets; a
-- run of a job moves through states (START, RUNNING, COMPLETE, ABORT,
-- FAIL, OTHER). Each event is stored once, keyed by (runId, eventType,
-- eventTime), so that a producer that retries does not count twice. The
-- graph is two edge kinds between jobs and datasets (an input dataset
-- feeds a job, a job writes an output dataset), and column lineage links
-- an output dataset's field to the input fields it was computed from.
--
-- Datasets and jobs have bigint ids besides their names, so that the
-- graph's traversal (lineage_graph()) compares integers on two covering
-- indexes, a level at a time, remembering what it visited: cycles end
-- it, and depth bounds it.
--
-- One implementation records lineage: lineage_ingest(), called by the
-- API for a posted event (after lib/lineage.c checked and normalised it)
-- and by the runner for a run's own event (lineage_record_run()).

CREATE TABLE lineage_datasets (
    id         bigserial PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    namespace  text NOT NULL CHECK (length(namespace) BETWEEN 1 AND 1024),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 1024),
    -- bronze, silver or gold when the name says so (a schema of that name)
    layer      text CHECK (layer IN ('bronze', 'silver', 'gold')),
    -- the schema facet's fields, [{"name", "type", "description"}]
    fields     jsonb,
    facets     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, namespace, name),
    UNIQUE (tenant_id, id)
);
CREATE INDEX lineage_datasets_name ON lineage_datasets (tenant_id, name);

CREATE TABLE lineage_jobs (
    id         bigserial PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    namespace  text NOT NULL CHECK (length(namespace) BETWEEN 1 AND 1024),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 1024),
    facets     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, namespace, name),
    UNIQUE (tenant_id, id)
);

CREATE TABLE lineage_runs (
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    run_id     uuid NOT NULL,
    job_id     bigint NOT NULL,
    state      text NOT NULL CHECK (state IN ('START', 'RUNNING', 'COMPLETE',
                                              'ABORT', 'FAIL', 'OTHER')),
    started_at timestamptz,
    ended_at   timestamptz,
    -- the latest event's time: the state is that event's
    event_time timestamptz NOT NULL,
    facets     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, run_id),
    FOREIGN KEY (tenant_id, job_id) REFERENCES lineage_jobs (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX lineage_runs_job ON lineage_runs (tenant_id, job_id, event_time);

-- Every event as received (normalised), once.
CREATE TABLE lineage_events (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    run_id      uuid NOT NULL,
    event_type  text NOT NULL,
    event_time  timestamptz NOT NULL,
    producer    text,
    payload     jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, run_id, event_type, event_time)
);

-- direction 'in': the dataset is an input of the job; 'out': an output.
CREATE TABLE lineage_edges (
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id         bigint NOT NULL,
    dataset_id     bigint NOT NULL,
    direction      text NOT NULL CHECK (direction IN ('in', 'out')),
    -- what the job does to the data: its name, or for a Sluice run the
    -- modules between the dataset and the others ("select > cast")
    transformation text,
    -- the run that recorded it, or last changed its transformation (an
    -- edge is not rewritten by every run that confirms it)
    run_id         uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, dataset_id, direction, job_id),
    FOREIGN KEY (tenant_id, job_id) REFERENCES lineage_jobs (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, dataset_id)
        REFERENCES lineage_datasets (tenant_id, id) ON DELETE CASCADE
);
-- The traversal's other way: a job's datasets.
CREATE INDEX lineage_edges_job
    ON lineage_edges (tenant_id, job_id, direction, dataset_id);

-- An output dataset's field computed from an input dataset's field.
CREATE TABLE lineage_columns (
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    dataset_id       bigint NOT NULL,
    field            text NOT NULL CHECK (length(field) BETWEEN 1 AND 1024),
    input_dataset_id bigint NOT NULL,
    input_field      text NOT NULL CHECK (length(input_field) BETWEEN 1 AND 1024),
    -- OpenLineage 1-2-0's transformations [{type, subtype, description,
    -- masking}], and 1-0-x's transformationType / -Description
    transformations  jsonb NOT NULL DEFAULT '[]',
    transformation_type        text,
    transformation_description text,
    job_id           bigint,
    run_id           uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, dataset_id, field, input_dataset_id, input_field),
    FOREIGN KEY (tenant_id, dataset_id)
        REFERENCES lineage_datasets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, input_dataset_id)
        REFERENCES lineage_datasets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lineage_columns_input
    ON lineage_columns (tenant_id, input_dataset_id, input_field);

-- Row-level security ---------------------------------------------------------
ALTER TABLE lineage_datasets ENABLE ROW LEVEL SECURITY;
ALTER TABLE lineage_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lineage_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lineage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE lineage_edges ENABLE ROW LEVEL SECURITY;
ALTER TABLE lineage_columns ENABLE ROW LEVEL SECURITY;
CREATE POLICY lineage_datasets_own ON lineage_datasets
    USING (tenant_id = app_tenant());
CREATE POLICY lineage_jobs_own ON lineage_jobs USING (tenant_id = app_tenant());
CREATE POLICY lineage_runs_own ON lineage_runs USING (tenant_id = app_tenant());
CREATE POLICY lineage_events_own ON lineage_events
    USING (tenant_id = app_tenant());
CREATE POLICY lineage_edges_own ON lineage_edges
    USING (tenant_id = app_tenant());
CREATE POLICY lineage_columns_own ON lineage_columns
    USING (tenant_id = app_tenant());

-- The layer a dataset's name says: a dot-separated part bronze, silver or
-- gold before the last ("silver.customers", "db.gold.sales").
CREATE FUNCTION lineage_layer(p_name text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT (regexp_match(p_name, '(?:^|\.)(bronze|silver|gold)\.'))[1]
    $$;

-- Records one event (checked and normalised by lib/lineage.c: camelCase
-- members, eventType one of the six, eventTime RFC 3339, runId a UUID,
-- bounded lists) under the transaction's tenant, with id p_id. Answers
-- the id of the stored event, whether it was one already stored (the
-- same runId, eventType and eventTime: nothing else is done then), and
-- when it was recorded.
CREATE FUNCTION lineage_ingest(p_id uuid, p_event jsonb,
                               OUT event_id uuid, OUT duplicate boolean,
                               OUT recorded_at timestamptz)
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        v_tenant text := app_tenant();
        v_run uuid := (p_event #>> '{run,runId}')::uuid;
        v_type text := coalesce(p_event ->> 'eventType', 'OTHER');
        v_time timestamptz := (p_event ->> 'eventTime')::timestamptz;
        v_job_ns text := p_event #>> '{job,namespace}';
        v_job_name text := p_event #>> '{job,name}';
        v_job_facets jsonb := coalesce(p_event #> '{job,facets}', '{}');
        v_job bigint;
        v_facets jsonb;
        v_transformation text;
        -- every dataset the event names, once: [{namespace, name, fields,
        -- facets, dir ('in', 'out' or NULL for a columnLineage input)}]
        v_ds jsonb;
        -- the same with their ids
        v_ids jsonb;
    BEGIN
        INSERT INTO lineage_events AS e (id, tenant_id, run_id, event_type,
                                         event_time, producer, payload)
        VALUES (p_id, v_tenant, v_run, v_type, v_time,
                p_event ->> 'producer', p_event)
        ON CONFLICT (tenant_id, run_id, event_type, event_time) DO NOTHING
        RETURNING e.id, e.recorded_at INTO event_id, recorded_at;
        IF event_id IS NULL THEN
            SELECT e.id, e.recorded_at INTO event_id, recorded_at
            FROM lineage_events e
            WHERE e.tenant_id = v_tenant AND e.run_id = v_run
              AND e.event_type = v_type AND e.event_time = v_time;
            duplicate := true;
            RETURN;
        END IF;
        duplicate := false;

        -- What already exists is read, not locked: rows are written only
        -- when something changes (a row lock is a write too, and most
        -- events repeat what the previous run of their job said).

        -- The job.
        SELECT j.id, j.facets INTO v_job, v_facets FROM lineage_jobs j
        WHERE j.tenant_id = v_tenant AND j.namespace = v_job_ns
          AND j.name = v_job_name;
        IF v_job IS NULL THEN
            INSERT INTO lineage_jobs AS j (tenant_id, namespace, name, facets)
            VALUES (v_tenant, v_job_ns, v_job_name, v_job_facets)
            ON CONFLICT (tenant_id, namespace, name) DO UPDATE
                SET facets = j.facets || excluded.facets, updated_at = now()
            RETURNING j.id INTO v_job;
        ELSIF NOT v_facets @> v_job_facets THEN
            UPDATE lineage_jobs SET facets = facets || v_job_facets,
                                    updated_at = now()
            WHERE id = v_job;
        END IF;
        v_transformation := coalesce(
            p_event #>> '{job,facets,sluice,transformation}', v_job_name);

        -- The run: its state is its latest event's.
        INSERT INTO lineage_runs AS r (tenant_id, run_id, job_id, state,
                                       started_at, ended_at, event_time,
                                       facets)
        VALUES (v_tenant, v_run, v_job, v_type,
                CASE WHEN v_type = 'START' THEN v_time END,
                CASE WHEN v_type IN ('COMPLETE', 'ABORT', 'FAIL')
                     THEN v_time END,
                v_time, coalesce(p_event #> '{run,facets}', '{}'))
        ON CONFLICT (tenant_id, run_id) DO UPDATE SET
            state = CASE WHEN excluded.event_time >= r.event_time
                         THEN excluded.state ELSE r.state END,
            event_time = greatest(r.event_time, excluded.event_time),
            started_at = coalesce(least(r.started_at, excluded.started_at),
                                  r.started_at, excluded.started_at),
            ended_at = coalesce(greatest(r.ended_at, excluded.ended_at),
                                r.ended_at, excluded.ended_at),
            facets = r.facets || excluded.facets,
            updated_at = now();

        -- Its datasets: the inputs, the outputs, and the inputs their
        -- column lineage names; one entry each, the one with fields first.
        SELECT coalesce(jsonb_agg(x.v ORDER BY x.v ->> 'namespace',
                                  x.v ->> 'name'), '[]')
        INTO v_ds
        FROM (SELECT DISTINCT ON (y.value ->> 'namespace', y.value ->> 'name')
                     jsonb_build_object(
                         'namespace', y.value ->> 'namespace',
                         'name', y.value ->> 'name',
                         'fields', y.value #> '{facets,schema,fields}',
                         'facets', coalesce(y.value -> 'facets', '{}')
                             - 'columnLineage' - 'schema') AS v
              FROM jsonb_array_elements(coalesce(p_event -> 'inputs', '[]')
                       || coalesce(p_event -> 'outputs', '[]')
                       || jsonb_path_query_array(p_event,
                              '$.outputs[*].facets.columnLineage.fields.*'
                              '.inputFields[*]')) y
              ORDER BY y.value ->> 'namespace', y.value ->> 'name',
                       (y.value #> '{facets,schema,fields}') IS NULL) x;
        -- Those that are new. (Each is looked up by its unique index,
        -- through LATERAL ... LIMIT 1: the planner guesses 100 rows for a
        -- jsonb_array_elements() and would otherwise hash the table.)
        INSERT INTO lineage_datasets (tenant_id, namespace, name, layer,
                                      fields, facets)
        SELECT v_tenant, d.value ->> 'namespace', d.value ->> 'name',
               lineage_layer(d.value ->> 'name'),
               CASE WHEN jsonb_typeof(d.value -> 'fields') = 'array'
                    THEN d.value -> 'fields' END,
               d.value -> 'facets'
        FROM jsonb_array_elements(v_ds) d
        WHERE (SELECT t.id FROM lineage_datasets t
               WHERE t.tenant_id = v_tenant
                 AND t.namespace = d.value ->> 'namespace'
                 AND t.name = d.value ->> 'name') IS NULL
        ORDER BY d.value ->> 'namespace', d.value ->> 'name'
        ON CONFLICT (tenant_id, namespace, name) DO NOTHING;
        -- Their ids, and the old ones whose schema or facets change.
        SELECT jsonb_object_agg(jsonb_build_array(d.value -> 'namespace',
                                                  d.value -> 'name')::text,
                                t.id)
        INTO v_ids
        FROM jsonb_array_elements(v_ds) d
        CROSS JOIN LATERAL (
            SELECT x.id FROM lineage_datasets x
            WHERE x.tenant_id = v_tenant
              AND x.namespace = d.value ->> 'namespace'
              AND x.name = d.value ->> 'name' LIMIT 1) t;
        UPDATE lineage_datasets t
        SET fields = coalesce(u.fields, t.fields),
            facets = t.facets || u.facets, updated_at = now()
        FROM (SELECT (v_ids ->> jsonb_build_array(d.value -> 'namespace',
                                             d.value -> 'name')::text)::bigint AS id,
                     CASE WHEN jsonb_typeof(d.value -> 'fields') = 'array'
                          THEN d.value -> 'fields' END AS fields,
                     d.value -> 'facets' AS facets
              FROM jsonb_array_elements(v_ds) d) u
        WHERE t.tenant_id = v_tenant
          AND t.id = ANY (ARRAY(SELECT x.value::bigint
                                FROM jsonb_each_text(v_ids) x))
          AND t.id = u.id
          AND ((u.fields IS NOT NULL AND u.fields IS DISTINCT FROM t.fields)
               OR NOT t.facets @> u.facets);

        -- Its edges: new ones made, changed ones rewritten.
        WITH e AS (
            SELECT DISTINCT (v_ids ->> jsonb_build_array(x.value -> 'namespace',
                                                     x.value -> 'name')::text)::bigint
                       AS dataset_id, x.dir
            FROM (SELECT v.value, 'in' AS dir FROM jsonb_array_elements(
                      coalesce(p_event -> 'inputs', '[]')) v
                  UNION ALL
                  SELECT v.value, 'out' FROM jsonb_array_elements(
                      coalesce(p_event -> 'outputs', '[]')) v) x)
        INSERT INTO lineage_edges AS g (tenant_id, job_id, dataset_id,
                                        direction, transformation, run_id)
        SELECT v_tenant, v_job, e.dataset_id, e.dir, v_transformation, v_run
        FROM e
        WHERE e.dataset_id IS NOT NULL
          AND (SELECT o.transformation IS NOT DISTINCT FROM v_transformation
               FROM lineage_edges o
               WHERE o.tenant_id = v_tenant AND o.dataset_id = e.dataset_id
                 AND o.direction = e.dir AND o.job_id = v_job)
              IS NOT TRUE
        ORDER BY e.dataset_id, e.dir
        ON CONFLICT (tenant_id, dataset_id, direction, job_id) DO UPDATE
            SET run_id = excluded.run_id,
                transformation = excluded.transformation, updated_at = now()
            WHERE g.transformation IS DISTINCT FROM excluded.transformation;

        -- Column lineage of the outputs that carry it, likewise.
        IF jsonb_path_exists(p_event, '$.outputs[*].facets.columnLineage') THEN
            WITH c AS (
                SELECT DISTINCT ON (1, 2, 3, 4)
                       (v_ids ->> jsonb_build_array(o.value -> 'namespace',
                                                o.value -> 'name')::text)::bigint
                           AS dataset_id,
                       f.key AS field,
                       (v_ids ->> jsonb_build_array(i.value -> 'namespace',
                                                i.value -> 'name')::text)::bigint
                           AS input_dataset_id,
                       i.value ->> 'field' AS input_field,
                       coalesce(i.value -> 'transformations', '[]')
                           AS transformations,
                       f.value ->> 'transformationType' AS ttype,
                       f.value ->> 'transformationDescription' AS tdesc
                FROM jsonb_array_elements(p_event -> 'outputs') o
                CROSS JOIN LATERAL jsonb_each(
                    o.value #> '{facets,columnLineage,fields}') f
                CROSS JOIN LATERAL jsonb_array_elements(
                    f.value -> 'inputFields') i
                WHERE jsonb_typeof(o.value #> '{facets,columnLineage,fields}')
                      = 'object')
            INSERT INTO lineage_columns AS l (tenant_id, dataset_id, field,
                input_dataset_id, input_field, transformations,
                transformation_type, transformation_description, job_id,
                run_id)
            SELECT v_tenant, c.dataset_id, c.field, c.input_dataset_id,
                   c.input_field, c.transformations, c.ttype, c.tdesc, v_job,
                   v_run
            FROM c
            WHERE c.dataset_id IS NOT NULL AND c.input_dataset_id IS NOT NULL
              AND (SELECT x.transformations = c.transformations
                          AND x.transformation_type
                              IS NOT DISTINCT FROM c.ttype
                          AND x.transformation_description
                              IS NOT DISTINCT FROM c.tdesc
                          AND x.job_id = v_job
                   FROM lineage_columns x
                   WHERE x.tenant_id = v_tenant
                     AND x.dataset_id = c.dataset_id AND x.field = c.field
                     AND x.input_dataset_id = c.input_dataset_id
                     AND x.input_field = c.input_field) IS NOT TRUE
            ORDER BY 2, 3, 4, 5
            ON CONFLICT (tenant_id, dataset_id, field, input_dataset_id,
                         input_field) DO UPDATE
                SET transformations = excluded.transformations,
                    transformation_type = excluded.transformation_type,
                    transformation_description =
                        excluded.transformation_description,
                    job_id = excluded.job_id, run_id = excluded.run_id,
                    updated_at = now();
        END IF;
    END
    $$;

-- The dataset p_name, in namespace p_namespace or (NULL) the one of that
-- name updated last; NULL when there is none.
CREATE FUNCTION lineage_dataset_find(p_namespace text, p_name text)
    RETURNS lineage_datasets
    LANGUAGE sql STABLE AS $$
        SELECT d FROM lineage_datasets d
        WHERE d.tenant_id = app_tenant() AND d.name = p_name
          AND (p_namespace IS NULL OR d.namespace = p_namespace)
        ORDER BY d.updated_at DESC, d.id DESC LIMIT 1
    $$;

-- Seed 000's GET /lineage/datasets/{name}: the datasets the jobs that
-- write it read (upstream), those the jobs that read it write
-- (downstream), and the runs of the jobs that write it, latest first
-- (at most p_runs). NULL when there is no such dataset.
CREATE FUNCTION lineage_dataset_doc(p_namespace text, p_name text,
                                    p_runs integer)
    RETURNS json
    LANGUAGE plpgsql STABLE AS $$
    DECLARE
        d lineage_datasets := lineage_dataset_find(p_namespace, p_name);
    BEGIN
        IF d.id IS NULL THEN
            RETURN NULL;
        END IF;
        RETURN json_build_object(
            'dataset_name', d.name, 'namespace', d.namespace,
            'layer', d.layer, 'fields', d.fields,
            'created_at', rfc3339(d.created_at),
            'updated_at', rfc3339(d.updated_at),
            'upstream_datasets', (
                SELECT coalesce(json_agg(json_build_object(
                    'dataset_name', u.name, 'namespace', u.namespace,
                    'layer', u.layer, 'relationship', 'derived_from',
                    'job_name', j.name, 'job_namespace', j.namespace)
                    ORDER BY u.namespace, u.name, j.namespace, j.name), '[]')
                FROM lineage_edges eo
                JOIN lineage_edges ei ON ei.tenant_id = eo.tenant_id
                     AND ei.job_id = eo.job_id AND ei.direction = 'in'
                JOIN lineage_datasets u ON u.tenant_id = ei.tenant_id
                     AND u.id = ei.dataset_id
                JOIN lineage_jobs j ON j.tenant_id = eo.tenant_id
                     AND j.id = eo.job_id
                WHERE eo.tenant_id = d.tenant_id AND eo.dataset_id = d.id
                  AND eo.direction = 'out'),
            'downstream_datasets', (
                SELECT coalesce(json_agg(json_build_object(
                    'dataset_name', w.name, 'namespace', w.namespace,
                    'layer', w.layer, 'relationship', 'feeds_into',
                    'job_name', j.name, 'job_namespace', j.namespace)
                    ORDER BY w.namespace, w.name, j.namespace, j.name), '[]')
                FROM lineage_edges ei
                JOIN lineage_edges eo ON eo.tenant_id = ei.tenant_id
                     AND eo.job_id = ei.job_id AND eo.direction = 'out'
                JOIN lineage_datasets w ON w.tenant_id = eo.tenant_id
                     AND w.id = eo.dataset_id
                JOIN lineage_jobs j ON j.tenant_id = ei.tenant_id
                     AND j.id = ei.job_id
                WHERE ei.tenant_id = d.tenant_id AND ei.dataset_id = d.id
                  AND ei.direction = 'in'),
            'transformations', (
                SELECT coalesce(json_agg(json_build_object(
                    'job_name', t.name, 'job_namespace', t.namespace,
                    'run_id', t.run_id, 'state', t.state,
                    'executed_at', rfc3339(t.event_time))
                    ORDER BY t.event_time DESC, t.run_id), '[]')
                FROM (SELECT j.name, j.namespace, r.run_id, r.state,
                             r.event_time
                      FROM lineage_edges eo
                      JOIN lineage_jobs j ON j.tenant_id = eo.tenant_id
                           AND j.id = eo.job_id
                      JOIN lineage_runs r ON r.tenant_id = eo.tenant_id
                           AND r.job_id = eo.job_id
                      WHERE eo.tenant_id = d.tenant_id AND eo.dataset_id = d.id
                        AND eo.direction = 'out'
                      ORDER BY r.event_time DESC, r.run_id
                      LIMIT p_runs) t));
    END
    $$;

-- A node's id in a graph: Marquez's form, unique across namespaces.
CREATE FUNCTION lineage_node_id(p_type text, p_namespace text, p_name text)
    RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT p_type || ':' || p_namespace || ':' || p_name
    $$;

-- GET /lineage/graph. Around the dataset p_name (in p_namespace, or the
-- one of that name updated last): its upstream and its downstream, each
-- up to p_depth jobs away, a level at a time; each dataset and job is
-- visited once, so a cycle ends the walk. Without p_name: every dataset
-- and job of p_namespace (or of the organisation), and their edges. At
-- most p_max nodes either way ("truncated": true beyond). NULL when
-- p_name names no dataset.
CREATE FUNCTION lineage_graph(p_namespace text, p_name text, p_depth integer,
                              p_max integer)
    RETURNS json
    LANGUAGE plpgsql STABLE AS $$
    DECLARE
        v_tenant text := app_tenant();
        d lineage_datasets;
        v_ds bigint[];
        v_jobs bigint[] := '{}';
        v_front bigint[];
        v_new_jobs bigint[];
        v_truncated boolean := false;
        v_dir text;
        v_level integer;
    BEGIN
        IF p_name IS NULL THEN
            v_ds := ARRAY(SELECT x.id FROM lineage_datasets x
                          WHERE x.tenant_id = v_tenant
                            AND (p_namespace IS NULL
                                 OR x.namespace = p_namespace)
                          ORDER BY x.id LIMIT p_max + 1);
            IF cardinality(v_ds) > p_max THEN
                v_truncated := true;
                v_ds := v_ds[1:p_max];
            END IF;
            v_jobs := ARRAY(SELECT DISTINCT e.job_id
                            FROM unnest(v_ds) u(id)
                            JOIN lineage_edges e ON e.tenant_id = v_tenant
                                 AND e.dataset_id = u.id
                            ORDER BY 1
                            LIMIT greatest(p_max - cardinality(v_ds), 0));
        ELSE
            d := lineage_dataset_find(p_namespace, p_name);
            IF d.id IS NULL THEN
                RETURN NULL;
            END IF;
            v_ds := ARRAY[d.id];
            FOREACH v_dir IN ARRAY ARRAY['down', 'up'] LOOP
                v_front := ARRAY[d.id];
                v_level := 0;
                WHILE v_level < p_depth AND cardinality(v_front) > 0
                      AND NOT v_truncated LOOP
                    v_level := v_level + 1;
                    -- the jobs that read (down) or write (up) the frontier
                    v_new_jobs := ARRAY(
                        SELECT DISTINCT e.job_id FROM lineage_edges e
                        WHERE e.tenant_id = v_tenant
                          AND e.dataset_id = ANY (v_front)
                          AND e.direction = CASE v_dir WHEN 'down' THEN 'in'
                                                       ELSE 'out' END
                        EXCEPT SELECT unnest(v_jobs));
                    v_jobs := v_jobs || v_new_jobs;
                    -- the datasets those jobs write (down) or read (up)
                    v_front := ARRAY(
                        SELECT DISTINCT e.dataset_id FROM lineage_edges e
                        WHERE e.tenant_id = v_tenant
                          AND e.job_id = ANY (v_new_jobs)
                          AND e.direction = CASE v_dir WHEN 'down' THEN 'out'
                                                       ELSE 'in' END
                        EXCEPT SELECT unnest(v_ds));
                    v_ds := v_ds || v_front;
                    IF cardinality(v_ds) + cardinality(v_jobs) > p_max THEN
                        v_truncated := true;
                    END IF;
                END LOOP;
            END LOOP;
        END IF;
        RETURN json_build_object(
            'center', CASE WHEN d.id IS NOT NULL THEN
                lineage_node_id('dataset', d.namespace, d.name) END,
            'depth', CASE WHEN d.id IS NOT NULL THEN p_depth END,
            'truncated', v_truncated,
            'nodes', (
                SELECT coalesce(json_agg(n.doc ORDER BY n.k), '[]') FROM (
                    SELECT lineage_node_id('dataset', x.namespace, x.name) k,
                           json_build_object(
                               'id', lineage_node_id('dataset', x.namespace,
                                                     x.name),
                               'type', 'dataset', 'namespace', x.namespace,
                               'name', x.name, 'layer', x.layer) doc
                    FROM unnest(v_ds) u(id)
                    JOIN lineage_datasets x ON x.tenant_id = v_tenant
                         AND x.id = u.id
                    UNION ALL
                    SELECT lineage_node_id('job', j.namespace, j.name),
                           json_build_object(
                               'id', lineage_node_id('job', j.namespace,
                                                     j.name),
                               'type', 'job', 'namespace', j.namespace,
                               'name', j.name, 'layer', NULL)
                    FROM unnest(v_jobs) u(id)
                    JOIN lineage_jobs j ON j.tenant_id = v_tenant
                         AND j.id = u.id) n),
            'edges', (
                SELECT coalesce(json_agg(json_build_object(
                    'source', CASE e.direction
                        WHEN 'in' THEN lineage_node_id('dataset', x.namespace,
                                                       x.name)
                        ELSE lineage_node_id('job', j.namespace, j.name) END,
                    'target', CASE e.direction
                        WHEN 'in' THEN lineage_node_id('job', j.namespace,
                                                       j.name)
                        ELSE lineage_node_id('dataset', x.namespace,
                                             x.name) END,
                    'type', CASE e.direction WHEN 'in' THEN 'input'
                                             ELSE 'output' END,
                    'transformation', e.transformation,
                    'run_id', e.run_id,
                    'created_at', rfc3339(e.created_at))
                    ORDER BY e.job_id, e.direction, e.dataset_id), '[]')
                FROM unnest(v_jobs) u(id)
                JOIN lineage_edges e ON e.tenant_id = v_tenant
                     AND e.job_id = u.id
                JOIN lineage_datasets x ON x.tenant_id = e.tenant_id
                     AND x.id = e.dataset_id
                JOIN lineage_jobs j ON j.tenant_id = e.tenant_id
                     AND j.id = e.job_id
                WHERE e.dataset_id IN (SELECT unnest(v_ds))));
    END
    $$;

-- GET /lineage/columns/{dataset}: each field of the dataset (or only
-- p_field) with the input fields it is computed from. NULL when there is
-- no such dataset.
CREATE FUNCTION lineage_columns_doc(p_namespace text, p_name text,
                                    p_field text)
    RETURNS json
    LANGUAGE plpgsql STABLE AS $$
    DECLARE
        d lineage_datasets := lineage_dataset_find(p_namespace, p_name);
    BEGIN
        IF d.id IS NULL THEN
            RETURN NULL;
        END IF;
        RETURN json_build_object(
            'dataset_name', d.name, 'namespace', d.namespace,
            'fields', (
                SELECT coalesce(json_agg(json_build_object(
                    'field', f.field,
                    'transformation_type', f.ttype,
                    'transformation_description', f.tdesc,
                    'input_fields', f.inputs) ORDER BY f.field), '[]')
                FROM (SELECT c.field, max(c.transformation_type) ttype,
                             max(c.transformation_description) tdesc,
                             json_agg(json_build_object(
                                 'namespace', i.namespace,
                                 'dataset_name', i.name,
                                 'field', c.input_field,
                                 'transformations', c.transformations,
                                 'recorded_at', rfc3339(c.updated_at))
                                 ORDER BY i.namespace, i.name,
                                          c.input_field) inputs
                      FROM lineage_columns c
                      JOIN lineage_datasets i ON i.tenant_id = c.tenant_id
                           AND i.id = c.input_dataset_id
                      WHERE c.tenant_id = d.tenant_id AND c.dataset_id = d.id
                        AND (p_field IS NULL OR c.field = p_field)
                      GROUP BY c.field) f));
    END
    $$;

-- p_event with every "namespace" member that p_map names replaced.
CREATE FUNCTION lineage_rename_namespaces(p_event jsonb, p_map jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE
        v_text text := p_event::text;
        k text;
    BEGIN
        FOR k IN SELECT jsonb_object_keys(p_map) LOOP
            v_text := replace(v_text,
                              '"namespace": ' || to_jsonb(k)::text,
                              '"namespace": ' || (p_map -> k)::text);
        END LOOP;
        RETURN v_text::jsonb;
    END
    $$;

-- A Sluice run's own event (runner/lineage.c builds it), recorded in
-- the transaction that writes the run's end: the job is the run's
-- pipeline (namespace "sluice", its name), and a dataset namespace
-- "connector:<id>" becomes postgres://<host>:<port>/<database> when the
-- connector's settings say where it is. Never fails the run's end: a
-- problem is a warning, and NULL.
CREATE FUNCTION lineage_record_run(p_id uuid, p_run uuid, p_event jsonb)
    RETURNS uuid
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        v_name text;
        v_pipeline uuid;
        v_event jsonb := p_event;
        v_map jsonb;
        v_id uuid;
        v_dup boolean;
        v_at timestamptz;
    BEGIN
        SELECT p.name, p.id INTO v_name, v_pipeline
        FROM runs r JOIN pipelines p ON p.id = r.pipeline_id
        WHERE r.id = p_run;
        IF v_name IS NULL THEN
            RETURN NULL;
        END IF;
        v_event := jsonb_set(v_event, '{job}', jsonb_build_object(
            'namespace', 'sluice', 'name', v_name,
            'facets', coalesce(v_event #> '{job,facets}', '{}')
                || jsonb_build_object('sluice', coalesce(
                       v_event #> '{job,facets,sluice}', '{}')
                    || jsonb_build_object('pipeline_id', v_pipeline))));
        -- connector:<id> -> postgres://host:port/database
        SELECT coalesce(jsonb_object_agg('connector:' || k.id::text,
                   'postgres://' || (k.config ->> 'host') || ':'
                   || coalesce(k.config ->> 'port', '5432') || '/'
                   || (k.config ->> 'database')), '{}')
        INTO v_map
        FROM connectors k
        WHERE k.type = 'postgresql' AND k.config ->> 'host' IS NOT NULL
          AND k.config ->> 'database' IS NOT NULL
          AND position(('connector:' || k.id::text) IN p_event::text) > 0;
        IF v_map <> '{}' THEN
            v_event := lineage_rename_namespaces(v_event, v_map);
        END IF;
        SELECT i.event_id, i.duplicate, i.recorded_at INTO v_id, v_dup, v_at
        FROM lineage_ingest(p_id, v_event) i;
        RETURN v_id;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'lineage of run %: %', p_run, SQLERRM;
        RETURN NULL;
    END
    $$;

-- The reads are many short index probes over arrays whose size only the
-- call knows. A generic plan (PL/pgSQL's, after five calls) guesses that
-- size and may join 4,000 ids by nested loops (seconds where a custom
-- plan takes 100 ms, tests/bench/lineage.sh); and the estimates pass
-- jit_above_cost, where compiling costs more than running.
ALTER FUNCTION lineage_graph(text, text, integer, integer)
    SET jit = off SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION lineage_dataset_doc(text, text, integer)
    SET jit = off SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION lineage_columns_doc(text, text, text) SET jit = off;
ALTER FUNCTION lineage_ingest(uuid, jsonb) SET jit = off;

GRANT SELECT, INSERT, UPDATE
    ON lineage_datasets, lineage_jobs, lineage_runs, lineage_edges,
       lineage_columns TO sluice_app, sluice_runner;
GRANT SELECT, INSERT ON lineage_events TO sluice_app, sluice_runner;
GRANT USAGE ON SEQUENCE lineage_datasets_id_seq, lineage_jobs_id_seq
    TO sluice_app, sluice_runner;
GRANT EXECUTE ON FUNCTION lineage_layer(text), lineage_node_id(text, text, text),
    lineage_ingest(uuid, jsonb), lineage_dataset_find(text, text),
    lineage_rename_namespaces(jsonb, jsonb)
    TO sluice_app, sluice_runner;
GRANT EXECUTE ON FUNCTION lineage_dataset_doc(text, text, integer),
    lineage_graph(text, text, integer, integer),
    lineage_columns_doc(text, text, text) TO sluice_app;
GRANT EXECUTE ON FUNCTION lineage_record_run(uuid, uuid, jsonb)
    TO sluice_runner;
