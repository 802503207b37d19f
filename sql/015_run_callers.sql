-- 015_run_callers.sql: who started a run, kept apart from what the caller
-- says (seed 003's trigger_by), and what seed 004's execution list shows.
--
-- trigger_by is the caller's word: seed 003's body trigger_by or its
-- X-User-ID header, else the user of a token. The credential that really
-- started the run is recorded beside it: api_key_id for an API key,
-- user_id for a user's token (both NULL for the scheduler and triggers).
-- bytes_read is what each extractor of a run read (the runner counts the
-- values' bytes in their text form); a run's data_size_bytes is their sum.

ALTER TABLE runs
    ADD COLUMN api_key_id text REFERENCES api_keys (id) ON DELETE SET NULL,
    ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT runs_trigger_by_length CHECK (length(trigger_by) <= 255);

ALTER TABLE run_steps ADD COLUMN bytes_read bigint;

-- As run_request() (009), the run also recording the credential that
-- started it: p_api_key, p_user (either may be NULL).
CREATE FUNCTION run_request_by(
        p_run uuid, p_pipeline uuid, p_version integer, p_trigger_type text,
        p_trigger_by text, p_input jsonb, p_original uuid, p_key text,
        p_outbox uuid, p_api_key text, p_user uuid)
    RETURNS runs
    LANGUAGE plpgsql VOLATILE
    AS $$
    DECLARE
        r runs;
    BEGIN
        PERFORM run_request(p_run, p_pipeline, p_version, p_trigger_type,
                            p_trigger_by, p_input, p_original, p_key,
                            p_outbox);
        UPDATE runs x SET api_key_id = p_api_key, user_id = p_user
        WHERE x.id = p_run
        RETURNING * INTO r;
        RETURN r;
    END
    $$;

-- A run as the API shows it: run_doc() (003) and, beside it, who started
-- it (api_key_id, user_id), its pipeline's name and the bytes it read
-- (data_size_bytes, 0 until the run's steps are written at its end).
-- Built over run_doc() rather than replacing it, so that what other
-- migrations add to run_doc() shows here too; PL/pgSQL for the reason
-- run_doc() is.
CREATE FUNCTION run_view(r runs) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
    BEGIN
    RETURN (run_doc(r)::jsonb || jsonb_build_object(
        'api_key_id', r.api_key_id, 'user_id', r.user_id,
        'pipeline_name', (SELECT p.name FROM pipelines p
                          WHERE p.id = r.pipeline_id),
        'data_size_bytes', (SELECT coalesce(sum(s.bytes_read), 0)
                            FROM run_steps s WHERE s.run_id = r.id)))::json;
    END
    $$;

GRANT EXECUTE ON FUNCTION run_view(runs),
    run_request_by(uuid, uuid, integer, text, text, jsonb, uuid, text, uuid,
                   text, uuid)
    TO sluice_app;
