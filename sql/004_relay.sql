-- 004_relay.sql: what the outbox relay (in sluice-runner) may do across
-- tenants, and nothing more.
--
-- The relay publishes outbox rows the API could not (NATS down at that
-- moment, the API killed between commit and publish). It connects as
-- sluice_app like every daemon, so row-level security would show it no
-- tenant's rows: these two SECURITY DEFINER functions answer exactly its
-- two questions.

-- Rows left unsent for more than p_grace (the API publishes its own at
-- once: the grace keeps the relay from racing it), oldest first.
CREATE FUNCTION outbox_unsent(p_limit integer, p_grace interval)
    RETURNS TABLE (id uuid, subject text, payload text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT o.id, o.subject, o.payload::text FROM outbox o
        WHERE o.sent_at IS NULL AND o.created_at < now() - p_grace
        ORDER BY o.created_at LIMIT least(p_limit, 1000)
    $$;

CREATE FUNCTION outbox_mark_sent(p_id uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ UPDATE outbox SET sent_at = now() WHERE id = p_id AND sent_at IS NULL $$;

REVOKE ALL ON FUNCTION outbox_unsent(integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION outbox_mark_sent(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_unsent(integer, interval),
    outbox_mark_sent(uuid) TO sluice_app;
