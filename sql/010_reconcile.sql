-- 010_reconcile.sql: requests NATS acknowledged and then lost.
--
-- nats-server does not fsync every write (DESIGN.md): a request it
-- acknowledged can vanish in a crash, and the outbox row says "sent". The
-- runner reconciles: when the work queue is empty (no request is waiting
-- or being worked on), a run still pending whose last request was sent
-- more than p_after ago, with none unsent, will never be taken; it is
-- requested again through a new outbox row, which the relay publishes. A
-- spare request is harmless: the claim lets a run start only once.

CREATE INDEX outbox_run_request ON outbox ((payload->>'run_id'), sent_at)
    WHERE subject = 'sluice.run.request';

CREATE FUNCTION run_reconcile(p_after interval, p_limit integer)
    RETURNS TABLE (id uuid, tenant_id text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        r runs;
        o uuid;
    BEGIN
        FOR r IN SELECT * FROM runs x
                 WHERE x.status = 'pending' AND NOT x.cancel_requested
                   AND NOT EXISTS (
                       SELECT FROM outbox b
                       WHERE b.subject = 'sluice.run.request'
                         AND b.payload->>'run_id' = x.id::text
                         AND (b.sent_at IS NULL
                              OR b.sent_at > now() - p_after))
                 ORDER BY x.created_at LIMIT least(p_limit, 100)
                 FOR UPDATE SKIP LOCKED
        LOOP
            o := gen_random_uuid();
            INSERT INTO outbox (id, tenant_id, subject, payload)
            VALUES (o, r.tenant_id, 'sluice.run.request',
                    jsonb_build_object('run_id', r.id,
                        'tenant_id', r.tenant_id,
                        'pipeline_id', r.pipeline_id, 'outbox_id', o));
            id := r.id; tenant_id := r.tenant_id;
            RETURN NEXT;
        END LOOP;
    END
    $$;

REVOKE ALL ON FUNCTION run_reconcile(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION run_reconcile(interval, integer) TO sluice_app;
