/*
 * bus.h: the NATS layer.
 *
 * One struct sl_bus is one NATS connection (thread-safe, shared by the
 * threads of a process). It connects in the background when the server is
 * not up yet and reconnects forever when the server goes away; publishing
 * while disconnected fails fast with SL_EBUS rather than piling up, because
 * PostgreSQL's outbox, not NATS, is the source of truth.
 *
 * The subjects and streams of DESIGN.md are named here once.
 */
#ifndef SL_BUS_H
#define SL_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "log.h"

/* Streams and subjects (DESIGN.md, Runs and events). */
#define SL_STREAM_RUNS            "SLUICE_RUNS"
#define SL_STREAM_EVENTS          "SLUICE_EVENTS"
#define SL_SUBJ_RUN_REQUEST       "sluice.run.request"
#define SL_SUBJ_RUN_CANCEL_PREFIX "sluice.run.cancel."
#define SL_SUBJ_EVENT_PREFIX      "sluice.event."
/* An empty core-NATS message the API sends after committing a delivery
 * row that is due now (a test, a send, a redelivery), so that a hub's
 * deliverer looks at once instead of at its next poll. Best effort: the
 * hub polls anyway. */
#define SL_SUBJ_DELIVERY_WAKE "sluice.delivery.wake"
/* Liveness requests answered by each daemon (core NATS, request-reply). */
#define SL_SUBJ_PING_RUNNER "sluice.ping.runner"
#define SL_SUBJ_PING_HUB    "sluice.ping.hub"

struct sl_bus {
    natsConnection *nc;
    jsCtx *js;
    struct sl_logger *log; /* borrowed; may be NULL */
    /* SLUICE_EVENTS' retention (operator configuration, events_max_*),
     * applied by sl_bus_ensure_streams(); 0: unlimited. */
    int64_t events_max_age_s;
    int64_t events_max_bytes;
};

/*
 * Connects to url as name (shown by the server's monitoring). When the
 * server is down the connection is established later in the background;
 * that is not an error. url is one or more comma-separated nats:// or
 * tls:// URLs; it is logged with any credentials in it masked. Returns 0,
 * SL_EINVAL for a bad URL, or SL_EBUS. log is used from NATS's threads:
 * give one that no other thread changes.
 */
int sl_bus_connect(struct sl_bus *bus, const char *url, const char *name,
                   struct sl_logger *log);

/* Flushes and closes the connection. Accepts a bus never connected. */
void sl_bus_close(struct sl_bus *bus);

/* Releases the NATS library's threads; call once, last, at exit. */
void sl_bus_shutdown(void);

/* True when the connection is up right now. */
bool sl_bus_connected(const struct sl_bus *bus);

/*
 * Creates the streams if they do not exist: SLUICE_RUNS (work queue on
 * sluice.run.request) and SLUICE_EVENTS (sluice.event.>), both on disk
 * with a two-minute duplicate window. SLUICE_EVENTS keeps events as long
 * as bus->events_max_age_s and bus->events_max_bytes allow (how far back
 * a WebSocket client's ?since= reaches); an existing stream whose limits
 * differ is updated to them. Returns 0 or SL_EBUS.
 */
int sl_bus_ensure_streams(struct sl_bus *bus);

/*
 * The largest payload the server takes (its max_payload), in bytes; 0
 * while not connected.
 */
int64_t sl_bus_max_payload(const struct sl_bus *bus);

/*
 * Publishes len bytes to subject through JetStream with Nats-Msg-Id
 * msg_id (NULL for none) and waits up to timeout_ms for the server's
 * acknowledgement. *duplicate (may be NULL) tells whether the server had
 * already stored a message with that id. Returns 0; SL_ETOOBIG when len
 * is over the server's max_payload or the stream's largest message (it
 * would never be taken); SL_ENOTFOUND when nothing took the subject (no
 * stream takes it, or JetStream is off: the server cannot tell the
 * two); SL_ETIMEDOUT when JetStream did not answer in time; or SL_EBUS
 * (disconnected, or JetStream refused it: unavailable, out of storage).
 */
int sl_bus_publish(struct sl_bus *bus, const char *subject, const void *data,
                   size_t len, const char *msg_id, int timeout_ms,
                   bool *duplicate);

/*
 * Whether subject is one that the streams of sl_bus_ensure_streams()
 * take (sluice.run.request, sluice.event.>): when nothing takes it, the
 * stream is missing or JetStream is off, not the subject wrong.
 */
bool sl_bus_stream_subject(const char *subject);

/*
 * Sends a core NATS request and waits up to timeout_ms for one reply.
 * Returns 0 and the reply in *reply (caller frees with free(), NUL
 * terminated, length in *rlen), SL_ETIMEDOUT when nobody answered in
 * time or nobody listens, or SL_EBUS.
 */
int sl_bus_request(struct sl_bus *bus, const char *subject, const void *data,
                   size_t len, int timeout_ms, char **reply, size_t *rlen);

/*
 * Subscribes cb to subject in queue group queue (NULL for none), so that
 * of several processes in one group only one gets each message. cb runs on
 * a NATS thread and owns the message. Returns 0 or SL_EBUS; *sub is the
 * caller's to destroy.
 */
int sl_bus_subscribe(struct sl_bus *bus, const char *subject, const char *queue,
                     natsMsgHandler cb, void *closure, natsSubscription **sub);

/*
 * Binds a pull subscription to the durable consumer durable of the stream
 * that holds subject, creating the consumer if needed: explicit acks, a
 * message unacknowledged for ack_wait_ms delivered again. Several
 * subscriptions (threads, processes) may share one durable: each message
 * goes to one of them. Returns 0 or SL_EBUS; *sub is the caller's to
 * destroy.
 */
int sl_bus_pull_subscribe(struct sl_bus *bus, const char *subject,
                          const char *durable, int ack_wait_ms,
                          natsSubscription **sub);

/*
 * Waits up to timeout_ms for the next message of a pull subscription.
 * Returns 0 and the message in *msg (the caller's: acknowledge it, then
 * natsMsg_Destroy() it), SL_ETIMEDOUT when none came, or SL_EBUS.
 */
int sl_bus_fetch(natsSubscription *sub, int timeout_ms, natsMsg **msg);

/* Answers a request message with len bytes. Returns 0 or SL_EBUS. */
int sl_bus_reply(struct sl_bus *bus, natsMsg *msg, const void *data,
                 size_t len);

/* Measures a round trip to the server. Returns 0 or SL_EBUS. */
int sl_bus_rtt(struct sl_bus *bus, double *ms);

#endif
