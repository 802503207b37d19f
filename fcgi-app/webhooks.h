/*
 * webhooks.h: what other handlers use of webhooks.c: the API's own
 * events (written to the outbox in the transaction of the change they
 * report, published after commit), deliveries, and the nudge that tells
 * hubs a delivery is due. The check of a URL Sluice will POST to and the
 * sealing of its secret are in endpoints.h.
 */
#ifndef API_WEBHOOKS_H
#define API_WEBHOOKS_H

#include <stddef.h>

#include <jansson.h>

#include "request.h"
#include "uuid.h"

/*
 * A new event of type, DESIGN.md's body: {"event_id": "evt_<32 hex>",
 * "event_type", "timestamp", "organization_id", "data"} with data
 * (taken; NULL gives {}). Its event id's 32 hex digits go into hex
 * (33 bytes; may be NULL). A new reference, or NULL out of memory.
 */
json_t *api_event_new(struct api_req *r, const char *type, json_t *data,
                      char *hex);

/* An event written to the outbox, to publish after commit. */
struct api_event {
    char outbox_id[SL_UUID_LEN];
    const char *subject; /* sluice.event.<tenant>.<type>, the pool's */
    const char *payload; /* the event as JSON text, the pool's */
};

/*
 * Writes an event of type with data (taken) to the outbox in the open
 * transaction, describing it in ev. Returns 0 or a database code
 * (SL_ENOMEM, SL_ECRYPTO).
 */
int api_event_stage(struct api_req *r, const char *type, json_t *data,
                    struct api_event *ev);

/*
 * After the transaction that staged ev committed: publishes it to the
 * events stream (Nats-Msg-Id the outbox id) and marks it sent. Best
 * effort: when NATS is away the runner's relay publishes it later.
 */
void api_event_publish(struct api_req *r, const struct api_event *ev);

/*
 * Writes a delivery of event (borrowed) to webhook webhook_id or channel
 * channel_id (exactly one of them non-NULL) with body (the exact bytes to
 * send), due now, in the open transaction. Its msg_id (the Standard
 * Webhooks webhook-id) is "msg_" and hex, the 32 hex digits of the
 * event's id. Returns 0 with the delivery_doc() text in *doc (the
 * pool's), or a database code.
 */
int api_delivery_insert(struct api_req *r, const char *webhook_id,
                        const char *channel_id, json_t *event, const char *hex,
                        const char *body, const char **doc);

/*
 * After the delivery doc was committed: wakes the hubs and answers 202
 * with doc and message. Returns API_ANSWERED.
 */
int api_delivery_accepted(struct api_req *r, const char *doc,
                          const char *message) API_ANSWERS;

/*
 * Tells hubs that a delivery is due now: an empty core-NATS message on
 * SL_SUBJ_DELIVERY_WAKE. Best effort (hubs poll anyway).
 */
void api_delivery_wake(struct api_req *r);

#endif
