-- 002_pipelines.sql: projects, pipelines and their versions, connectors,
-- and the audit log of deletions.
--
-- Same rules as 001: every row carries tenant_id, row-level security keys
-- on app_tenant(), and sluice_app gets only the privileges granted at the
-- end. Projects, pipelines and connectors are deleted softly (deleted_at,
-- deleted_by) and can be restored or purged; a pipeline deleted because
-- its project was deleted remembers it (deleted_with), so that restoring
-- the project brings back exactly those pipelines. A project is never
-- removed under its pipelines: purging one removes them explicitly (and
-- audits each), and the foreign key refuses anything else.

CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 2000),
    settings    jsonb NOT NULL DEFAULT '{}',
    tags        text[] NOT NULL DEFAULT '{}',
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    deleted_by  uuid
);
CREATE UNIQUE INDEX projects_name ON projects (tenant_id, lower(name))
    WHERE deleted_at IS NULL;
CREATE INDEX projects_tenant ON projects (tenant_id, created_at);

-- A pipeline is a graph: nodes [{id, type, module, config, ...}] in
-- dependency order, and edges [{source, target}]. The API normalises every
-- seed's request shape into this form before it is stored.
CREATE TABLE pipelines (
    id                 uuid PRIMARY KEY,
    tenant_id          text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    project_id         uuid REFERENCES projects(id),
    slug               text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,99}$'),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description        text CHECK (length(description) <= 2000),
    status             text NOT NULL DEFAULT 'draft' CHECK (status IN
                           ('draft', 'active', 'paused', 'inactive',
                            'archived', 'failed')),
    version            integer NOT NULL DEFAULT 1,
    nodes              jsonb NOT NULL DEFAULT '[]',
    edges              jsonb NOT NULL DEFAULT '[]',
    schedule_cron      text CHECK (length(schedule_cron) <= 256),
    schedule_timezone  text NOT NULL DEFAULT 'UTC',
    schedule_enabled   boolean NOT NULL DEFAULT true,
    next_run_at        timestamptz,
    tags               text[] NOT NULL DEFAULT '{}',
    default_params     jsonb NOT NULL DEFAULT '{}',
    data_quality_rules jsonb NOT NULL DEFAULT '[]',
    configuration      jsonb NOT NULL DEFAULT '{}',
    deployed_at        timestamptz,
    deployed_version   integer,
    created_by         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    deleted_by         uuid,
    deleted_with       uuid
);
CREATE UNIQUE INDEX pipelines_slug ON pipelines (tenant_id, slug)
    WHERE deleted_at IS NULL;
CREATE INDEX pipelines_tenant ON pipelines (tenant_id, created_at)
    WHERE deleted_at IS NULL;
CREATE INDEX pipelines_project ON pipelines (project_id);
CREATE INDEX pipelines_tags ON pipelines USING gin (tags);
CREATE INDEX pipelines_due ON pipelines (next_run_at)
    WHERE deleted_at IS NULL AND next_run_at IS NOT NULL;

-- Every version of a pipeline's definition, the current one included.
CREATE TABLE pipeline_versions (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    version     integer NOT NULL,
    definition  jsonb NOT NULL,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline_id, version)
);

-- Each new version of a pipeline is kept, as the API showed it (without
-- the figures of its runs: a version is a definition), by the database
-- itself: no code path can change a pipeline and forget this.
-- pipeline_doc() is defined in 003, with the runs it shows.
CREATE FUNCTION pipeline_version_keep() RETURNS trigger
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

-- Connections to data: a PostgreSQL server or a directory of files. The
-- settings that are not secret are in config; the secret ones (password,
-- connection string) are sealed with the configured key, bound to the
-- row's tenant and id, and never leave the API in clear.
CREATE TABLE connectors (
    id             uuid PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    type           text NOT NULL CHECK (type IN ('postgresql', 'file')),
    description    text CHECK (length(description) <= 2000),
    config         jsonb NOT NULL DEFAULT '{}',
    secret         text,
    tags           text[] NOT NULL DEFAULT '{}',
    status         text NOT NULL DEFAULT 'active' CHECK (status IN
                       ('active', 'inactive', 'error')),
    last_tested_at timestamptz,
    test_status    text CHECK (test_status IN ('success', 'failed')),
    test_message   text,
    created_by     uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    deleted_by     uuid
);
CREATE UNIQUE INDEX connectors_name ON connectors (tenant_id, lower(name))
    WHERE deleted_at IS NULL;
CREATE INDEX connectors_tenant ON connectors (tenant_id, created_at);

-- Who deleted, restored or purged what, and when. Append-only for the
-- application: it may insert and read, never change or remove.
CREATE TABLE audit_log (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    actor_user_id uuid,
    actor_key_id  uuid,
    action        text NOT NULL CHECK (action IN ('delete', 'restore', 'purge')),
    entity_type   text NOT NULL,
    entity_id     text NOT NULL,
    entity_name   text,
    details       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, created_at);

CREATE TRIGGER pipelines_versions AFTER INSERT OR UPDATE OF version
    ON pipelines FOR EACH ROW EXECUTE FUNCTION pipeline_version_keep();

-- Row-level security -------------------------------------------------------

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY projects_own ON projects USING (tenant_id = app_tenant());
ALTER TABLE pipelines ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipelines_own ON pipelines USING (tenant_id = app_tenant());
ALTER TABLE pipeline_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipeline_versions_own ON pipeline_versions
    USING (tenant_id = app_tenant());
ALTER TABLE connectors ENABLE ROW LEVEL SECURITY;
CREATE POLICY connectors_own ON connectors USING (tenant_id = app_tenant());
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_own ON audit_log USING (tenant_id = app_tenant());

-- Privileges of the application role ---------------------------------------

GRANT SELECT, INSERT, UPDATE, DELETE ON
    projects, pipelines, pipeline_versions, connectors
    TO sluice_app;
GRANT SELECT, INSERT ON audit_log TO sluice_app;
GRANT EXECUTE ON FUNCTION pipeline_version_keep() TO sluice_app;
