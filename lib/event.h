/*
 * event.h: an event, as a daemon publishes it on NATS, kept within a
 * bound.
 *
 * An event is seed 001's webhook payload: {"event_id", "event_type",
 * "timestamp", "organization_id", "data": {...}}. What can make one large
 * is in data, and comes from users' pipelines: a run's result_data, a log
 * line's metadata and message. NATS refuses a message over its
 * max_payload, and subscribers (the hub, webhook receivers) should not
 * have to take megabytes, so an event holds at most SL_MAX_EVENT_BYTES
 * (lib/limits.h); the whole of what it trims stays where it came from
 * (the run's row, its log lines in run_logs). The outbox's run events are
 * trimmed the same way in SQL (run_event() in sql/013_relay.sql).
 */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <stddef.h>

#include <jansson.h>

/* A trimmed object keeps its members that are numbers, booleans, nulls
 * and strings of at most this many bytes. */
#define SL_EVENT_KEEP_STRING 256
/* A message too long is cut to at most this many bytes. */
#define SL_EVENT_KEEP_MESSAGE 4096

/*
 * Serialises event (borrowed) as compact JSON into *out, of at most max
 * bytes. When it would be larger, event's "data" is trimmed in place,
 * step by step until it fits: "result_data" and "metadata" are cut down
 * to their scalar members (see SL_EVENT_KEEP_STRING), then to null, each
 * with "<name>_truncated": true beside it; then "message" is cut to
 * SL_EVENT_KEEP_MESSAGE bytes, at a character boundary, with
 * "message_truncated": true. Returns 0 with *out (the caller's, to
 * free()); SL_ETOOBIG when even then it is too large, SL_ENOMEM; *out is
 * NULL on failure.
 */
int sl_event_dump(json_t *event, size_t max, char **out);

#endif
