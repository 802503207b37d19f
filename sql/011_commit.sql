-- 011_commit.sql: a run's loads commit together, once, and only by the
-- attempt that still holds the run.
--
-- Each loader of a run gets its output ready without making it visible:
-- a postgres target prepares its transaction (PREPARE TRANSACTION with a
-- name, its gid, that names the run, the attempt and the node), a file
-- target writes and syncs a temporary file beside it. Before any of that,
-- the runner records each of them here, with where it lives, so that
-- whoever finds the runner gone can end them. Then the runner writes the
-- run's end; a completed run's row gets commit_attempt, the attempt whose
-- loads are to be committed, in the same statement, which only succeeds
-- while the run is still that attempt's (claimed_by and attempts). That
-- one fact is the decision: only after it does the runner commit the
-- prepared transactions (COMMIT PREPARED) and rename the files.
--
-- A participant whose runner went away is resolved by any runner's sweep
-- (run_prepared_due): committed when its run's commit_attempt is its
-- attempt, rolled back once its attempt can no longer decide (the run was
-- taken back, claimed again, ended otherwise, or deleted). A resolved
-- participant's row is deleted.

ALTER TABLE runs ADD COLUMN commit_attempt integer;

CREATE TABLE run_prepared (
    gid          text PRIMARY KEY CHECK (gid ~ '^sluice_[0-9a-f]{32}_[0-9]+_[0-9]+$'),
    run_id       uuid NOT NULL,
    tenant_id    text NOT NULL,
    attempt      integer NOT NULL,
    runner       text NOT NULL,
    node_id      text NOT NULL CHECK (length(node_id) <= 200),
    -- 'postgres': a prepared transaction named gid, in the warehouse
    -- (connector_id NULL) or in the connector's database; 'file': tmp_path
    -- to be renamed to path.
    kind         text NOT NULL CHECK (kind IN ('postgres', 'file')),
    connector_id uuid,
    path         text CHECK (length(path) <= 4096),
    tmp_path     text CHECK (length(tmp_path) <= 4096),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'postgres' OR (path IS NOT NULL AND tmp_path IS NOT NULL))
);
-- No foreign keys: a participant outlives a deleted run or connector
-- until the sweep has ended it.
CREATE INDEX run_prepared_run ON run_prepared (run_id, attempt);
CREATE INDEX run_prepared_path ON run_prepared (path) WHERE kind = 'file';

ALTER TABLE run_prepared ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_prepared_own ON run_prepared
    USING (tenant_id = app_tenant());
GRANT SELECT, INSERT, DELETE ON run_prepared TO sluice_app;

-- Participants whose runner did not end them and whose fate is known:
-- 'commit' when their run's decision names their attempt, 'rollback'
-- when their attempt can no longer decide. Left alone for p_grace after
-- the run ended (or the participant was recorded), the time its own
-- runner needs to end them.
CREATE FUNCTION run_prepared_due(p_limit integer, p_grace interval)
    RETURNS TABLE (gid text, tenant_id text, run_id uuid, kind text,
                   connector_id uuid, path text, tmp_path text, action text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT p.gid, p.tenant_id, p.run_id, p.kind, p.connector_id, p.path,
               p.tmp_path,
               CASE WHEN r.commit_attempt = p.attempt THEN 'commit'
                    ELSE 'rollback' END
        FROM run_prepared p LEFT JOIN runs r ON r.id = p.run_id
        WHERE (r.id IS NULL OR r.commit_attempt = p.attempt
               OR NOT (r.status = 'running' AND r.attempts = p.attempt
                       AND r.claimed_by = p.runner))
          AND coalesce(r.completed_at, p.created_at) < now() - p_grace
        ORDER BY p.created_at
        LIMIT least(p_limit, 100)
    $$;

REVOKE ALL ON FUNCTION run_prepared_due(integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION run_prepared_due(integer, interval) TO sluice_app;
