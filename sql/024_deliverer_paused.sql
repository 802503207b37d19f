-- 024_deliverer_paused.sql: the pending deliveries of a disabled endpoint
-- wait, parked, instead of being due.
--
-- Before, a webhook or channel a user disabled kept its pending rows due,
-- and every claim of every hub read past them (the claim skips a disabled
-- endpoint's rows, so they were due for ever). Now a pending row of a
-- disabled endpoint has no next_attempt_at: no claim sees it, the
-- deliveries_due index keeps it at the end, and the API shows it pending
-- with "next_attempt_at": null. Disabling parks the endpoint's pending
-- rows; re-enabling makes them due at once, attempts and msg_id (the
-- webhook-id) unchanged, so a receiver still deduplicates. A row that
-- becomes pending or due while its endpoint is disabled (an attempt in
-- flight that is to be retried, a redelivery, a direct send, an event
-- taken just before the endpoint was disabled) is parked as it is
-- written. A 410 Gone still fails the endpoint's pending rows (021).

-- Whether the endpoint of a delivery is enabled (false when it is gone).
CREATE FUNCTION delivery_endpoint_enabled(p_webhook uuid, p_channel uuid)
    RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT coalesce((SELECT w.enabled FROM webhooks w
                         WHERE w.id = p_webhook),
                        (SELECT c.enabled FROM notification_channels c
                         WHERE c.id = p_channel), false)
    $$;

CREATE FUNCTION deliveries_park() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        IF NEW.status = 'pending' AND NEW.next_attempt_at IS NOT NULL
           AND (NEW.lease_owner IS NULL OR NEW.lease_until <= now())
           AND NOT delivery_endpoint_enabled(NEW.webhook_id,
                                             NEW.channel_id) THEN
            NEW.next_attempt_at := NULL;
        END IF;
        RETURN NEW;
    END
    $$;

CREATE TRIGGER deliveries_park BEFORE INSERT OR UPDATE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION deliveries_park();

-- Disabling parks the endpoint's pending rows (but those in flight, which
-- are parked when their attempt is recorded); enabling resumes them.
CREATE FUNCTION endpoint_enabled_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        IF NEW.enabled IS NOT DISTINCT FROM OLD.enabled THEN
            RETURN NULL;
        END IF;
        IF NEW.enabled THEN
            UPDATE deliveries d SET next_attempt_at = now(), updated_at = now()
            WHERE d.status = 'pending' AND d.next_attempt_at IS NULL
              AND (CASE TG_TABLE_NAME WHEN 'webhooks' THEN d.webhook_id
                                      ELSE d.channel_id END) = NEW.id
              AND d.tenant_id = NEW.tenant_id;
        ELSE
            UPDATE deliveries d SET next_attempt_at = NULL, updated_at = now()
            WHERE d.status = 'pending' AND d.next_attempt_at IS NOT NULL
              AND (d.lease_owner IS NULL OR d.lease_until <= now())
              AND (CASE TG_TABLE_NAME WHEN 'webhooks' THEN d.webhook_id
                                      ELSE d.channel_id END) = NEW.id
              AND d.tenant_id = NEW.tenant_id;
        END IF;
        RETURN NULL;
    END
    $$;

CREATE TRIGGER webhooks_enabled_changed AFTER UPDATE OF enabled ON webhooks
    FOR EACH ROW EXECUTE FUNCTION endpoint_enabled_changed();
CREATE TRIGGER notification_channels_enabled_changed
    AFTER UPDATE OF enabled ON notification_channels
    FOR EACH ROW EXECUTE FUNCTION endpoint_enabled_changed();

-- What is already waiting behind a disabled endpoint.
UPDATE deliveries d SET next_attempt_at = NULL
WHERE d.status = 'pending' AND d.next_attempt_at IS NOT NULL
  AND (d.lease_owner IS NULL OR d.lease_until <= now())
  AND NOT delivery_endpoint_enabled(d.webhook_id, d.channel_id);

REVOKE ALL ON FUNCTION delivery_endpoint_enabled(uuid, uuid),
    deliveries_park(), endpoint_enabled_changed() FROM PUBLIC;
