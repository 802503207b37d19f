-- 007_run_logs.sql: what a run said while it ran.
--
-- The runner appends a row per message, in a transaction scoped to the
-- run's tenant; the API reads them back, oldest first, at
-- GET /executions/{id}/logs (seed 004). Rows are only ever added: a log
-- is kept as long as its run.

CREATE TABLE run_logs (
    id        bigserial PRIMARY KEY,
    run_id    uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ts        timestamptz NOT NULL DEFAULT clock_timestamp(),
    level     text NOT NULL CHECK (level IN
                  ('DEBUG', 'INFO', 'WARNING', 'ERROR')),
    node_id   text CHECK (length(node_id) <= 200),
    message   text NOT NULL CHECK (length(message) <= 8192),
    metadata  jsonb
);
CREATE INDEX run_logs_run ON run_logs (run_id, id);

ALTER TABLE run_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_logs_own ON run_logs USING (tenant_id = app_tenant());

GRANT SELECT, INSERT ON run_logs TO sluice_app;
GRANT USAGE ON SEQUENCE run_logs_id_seq TO sluice_app;
