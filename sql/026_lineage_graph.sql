-- 026_lineage_graph.sql: GET /lineage/graph, faster and bounded.
--
-- lineage_graph() of 025 spent most of its time building the answer,
-- not walking: each edge joined the datasets and the jobs again and
-- composed both node ids anew, and the nodes were sorted by their ids
-- under the database's collation. Here the visited datasets and jobs are
-- read once each, with their ids composed once, and the edges join
-- those two sets (which also keeps only the edges between visited
-- nodes); the nodes are sorted by id byte by byte (COLLATE "C"), which
-- is deterministic and cheaper than a linguistic sort; and each node
-- and edge is made JSON as one row. Members and their order are 025's;
-- only the blanks between them go (json_agg of rows writes none).
--
-- The walk makes one statement per level instead of two, and honours
-- p_max as it goes: a level never reads more than the nodes still
-- allowed (plus one, to know it was cut), and the answer never holds
-- more than p_max nodes. 025's only noticed afterwards that a level had
-- gone past p_max, and answered all it had found (a dense graph could
-- answer far more than SL_LINEAGE_MAX_NODES).

CREATE OR REPLACE FUNCTION lineage_graph(p_namespace text, p_name text,
                                         p_depth integer, p_max integer)
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
        v_room integer;
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
                            LIMIT greatest(p_max - cardinality(v_ds), 0) + 1);
            IF cardinality(v_ds) + cardinality(v_jobs) > p_max THEN
                v_truncated := true;
                v_jobs := v_jobs[1:greatest(p_max - cardinality(v_ds), 0)];
            END IF;
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
                    v_room := p_max - cardinality(v_ds) - cardinality(v_jobs);
                    -- the jobs that read (down) or write (up) the frontier
                    -- and were not visited, then the datasets they write
                    -- (down) or read (up) that were not: at most v_room
                    -- nodes, and one more to know that some were left.
                    WITH j AS MATERIALIZED (
                        SELECT e.job_id FROM lineage_edges e
                        WHERE e.tenant_id = v_tenant
                          AND e.dataset_id = ANY (v_front)
                          AND e.direction = CASE v_dir WHEN 'down' THEN 'in'
                                                       ELSE 'out' END
                        EXCEPT SELECT unnest(v_jobs)
                        ORDER BY 1 LIMIT greatest(v_room, 0) + 1),
                    x AS (
                        SELECT e.dataset_id FROM lineage_edges e
                        WHERE e.tenant_id = v_tenant
                          AND e.job_id IN (SELECT j.job_id FROM j)
                          AND e.direction = CASE v_dir WHEN 'down' THEN 'out'
                                                       ELSE 'in' END
                        EXCEPT SELECT unnest(v_ds)
                        ORDER BY 1 LIMIT greatest(v_room, 0) + 1)
                    SELECT ARRAY(SELECT j.job_id FROM j),
                           ARRAY(SELECT x.dataset_id FROM x)
                    INTO v_new_jobs, v_front;
                    IF cardinality(v_new_jobs) > v_room THEN
                        v_truncated := true;
                        v_new_jobs := v_new_jobs[1:greatest(v_room, 0)];
                    END IF;
                    v_jobs := v_jobs || v_new_jobs;
                    v_room := v_room - cardinality(v_new_jobs);
                    IF cardinality(v_front) > v_room THEN
                        v_truncated := true;
                        v_front := v_front[1:greatest(v_room, 0)];
                    END IF;
                    v_ds := v_ds || v_front;
                END LOOP;
            END LOOP;
        END IF;
        RETURN (
            WITH xd AS MATERIALIZED (
                SELECT x.id, 'dataset:' || x.namespace || ':' || x.name AS nid,
                       x.namespace, x.name, x.layer
                FROM lineage_datasets x
                WHERE x.tenant_id = v_tenant AND x.id = ANY (v_ds)),
            xj AS MATERIALIZED (
                SELECT j.id, 'job:' || j.namespace || ':' || j.name AS nid,
                       j.namespace, j.name
                FROM lineage_jobs j
                WHERE j.tenant_id = v_tenant AND j.id = ANY (v_jobs))
            SELECT json_build_object(
                'center', CASE WHEN d.id IS NOT NULL THEN
                    lineage_node_id('dataset', d.namespace, d.name) END,
                'depth', CASE WHEN d.id IS NOT NULL THEN p_depth END,
                'truncated', v_truncated,
                -- Rows made JSON whole (json_agg of a row) rather than
                -- member by member (json_build_object): the same members,
                -- in the same order, for a third of the time.
                'nodes', (
                    SELECT coalesce(json_agg(n ORDER BY n.id COLLATE "C"),
                                    '[]')
                    FROM (SELECT xd.nid AS id, 'dataset' AS type,
                                 xd.namespace, xd.name, xd.layer
                          FROM xd
                          UNION ALL
                          SELECT xj.nid, 'job', xj.namespace, xj.name, NULL
                          FROM xj) n),
                -- The edges of the visited jobs (by their index, the
                -- array being known to the custom plan) whose dataset was
                -- visited too; in a sorted subquery, so that the row
                -- made JSON holds only the members answered.
                'edges', (
                    SELECT coalesce(json_agg(g), '[]')
                    FROM (SELECT CASE e.direction WHEN 'in' THEN xd.nid
                                                  ELSE xj.nid END AS source,
                                 CASE e.direction WHEN 'in' THEN xj.nid
                                                  ELSE xd.nid END AS target,
                                 CASE e.direction WHEN 'in' THEN 'input'
                                                  ELSE 'output' END AS type,
                                 e.transformation, e.run_id,
                                 rfc3339(e.created_at) AS created_at
                          FROM lineage_edges e
                          JOIN xj ON xj.id = e.job_id
                          JOIN xd ON xd.id = e.dataset_id
                          WHERE e.tenant_id = v_tenant
                            AND e.job_id = ANY (v_jobs)
                          ORDER BY e.job_id, e.direction, e.dataset_id
                          OFFSET 0) g)));
    END
    $$;

ALTER FUNCTION lineage_graph(text, text, integer, integer)
    SET jit = off SET plan_cache_mode = force_custom_plan;
